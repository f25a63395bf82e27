// reject: writes ctx->rx_queue_index (writable only for offloaded programs)
// kernel: invalid bpf_context access off=16 size=4
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_write_rx_queue(struct xdp_md* ctx) {
  ctx->rx_queue_index = 0;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
