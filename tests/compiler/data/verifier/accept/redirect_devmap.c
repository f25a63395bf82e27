// accept: bpf_redirect_map on a DEVMAP with a variable key and XDP_PASS as
// the fallback action in the flags argument
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int redirect_devmap(struct xdp_md* ctx) {
  return bpf_redirect_map(&ports, ctx->rx_queue_index & 3, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
