// Calls a helper the reference interpreter does not implement (bpf_xdp_load_bytes).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp") int prog(struct xdp_md *ctx) {
  char buf[4];
  return bpf_xdp_load_bytes(ctx, 0, buf, sizeof buf) ? XDP_DROP : XDP_PASS;
}
char _license[] SEC("license") = "GPL";
