// reject: bpf_xdp_load_bytes with a non-zero length read from the packet and
// never bounded from above
// kernel: R4 unbounded memory access, use 'var &= const' or 'if (var < const)'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int helper_size_unbounded(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  char buf[64];
  if (data + 4 > data_end) return XDP_PASS;
  __u32 len = *(__u32*)data;
  if (len == 0) return XDP_PASS;
  if (bpf_xdp_load_bytes(ctx, 0, buf, len)) return XDP_PASS;
  return buf[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
