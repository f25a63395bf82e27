// accept: bpf_loop with a static callback that gets a pointer to the caller's
// stack context and the iteration index, and writes into that context
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct loop_ctx {
  __u64 sum;
  __u32 limit;
};

static int step(__u32 index, void* arg) {
  struct loop_ctx* c = arg;
  c->sum += index * 3;
  return c->sum > c->limit ? 1 : 0;
}

SEC("xdp")
int bpf_loop_callback(struct xdp_md* ctx) {
  struct loop_ctx c = {0, ctx->rx_queue_index + 100};
  long n = bpf_loop(32, step, &c, 0);
  return n < 32 && c.sum > 200 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
