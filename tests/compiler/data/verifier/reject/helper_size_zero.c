// reject: bpf_xdp_load_bytes with a length that may be 0 (a packet byte & 15);
// its size argument must be non-zero
// kernel: R4 invalid zero-sized read
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int helper_size_zero(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  char buf[16];
  if (data + 1 > data_end) return XDP_PASS;
  __u32 len = data[0] & 15;
  if (bpf_xdp_load_bytes(ctx, 0, buf, len)) return XDP_PASS;
  return buf[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
