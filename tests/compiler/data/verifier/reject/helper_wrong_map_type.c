// reject: bpf_redirect_map on an ARRAY map; it takes a DEVMAP, CPUMAP or XSKMAP
// kernel: cannot pass map_type 2 into func bpf_redirect_map#51
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} ports SEC(".maps");

SEC("xdp")
int helper_wrong_map_type(struct xdp_md* ctx) {
  return bpf_redirect_map(&ports, ctx->rx_queue_index, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
