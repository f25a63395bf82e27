// accept: metadata made with bpf_xdp_adjust_meta, then data_meta + 4 compared
// against data (the metadata's end, not data_end) before reading and writing it
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int meta_checked(struct xdp_md* ctx) {
  if (bpf_xdp_adjust_meta(ctx, -4)) return XDP_PASS;
  void* data = (void*)(long)ctx->data;
  __u32* meta = (void*)(long)ctx->data_meta;
  if ((void*)(meta + 1) > data) return XDP_DROP;
  *meta = ctx->rx_queue_index;
  return *meta == 9 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
