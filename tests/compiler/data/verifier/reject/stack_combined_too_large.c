// reject: two BPF-to-BPF frames of 320 bytes each; together they exceed the
// 512-byte stack limit
// kernel: combined stack size of 2 calls is
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __attribute__((noinline)) int inner(struct xdp_md* ctx) {
  volatile __u64 buf[40];
  for (int i = 0; i < 40; i++) buf[i] = ctx->rx_queue_index + i;
  return buf[ctx->rx_queue_index & 31] == 3 ? XDP_DROP : XDP_PASS;
}

SEC("xdp")
int stack_combined_too_large(struct xdp_md* ctx) {
  volatile __u64 buf[40];
  for (int i = 0; i < 40; i++) buf[i] = ctx->ingress_ifindex + i;
  int r = inner(ctx);
  return buf[ctx->ingress_ifindex & 31] == 5 ? XDP_DROP : r;
}

char _license[] SEC("license") = "GPL";
