// reject: reads ctx->egress_ifindex, which exists only for programs attached to a DEVMAP
// kernel: invalid bpf_context access off=20 size=4
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_read_egress_ifindex(struct xdp_md* ctx) {
  return ctx->egress_ifindex == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
