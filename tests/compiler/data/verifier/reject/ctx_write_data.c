// reject: writes ctx->data; every xdp_md field is read-only for a non-offloaded program
// kernel: invalid bpf_context access off=0 size=4
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_write_data(struct xdp_md* ctx) {
  ctx->data = ctx->rx_queue_index;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
