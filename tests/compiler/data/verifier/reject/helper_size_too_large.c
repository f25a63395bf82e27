// reject: bpf_xdp_load_bytes into a 16-byte stack buffer with a length of
// 1..63 (bounded by a mask only)
// kernel: invalid write to stack R3 off=-16 size=63
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int helper_size_too_large(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  char buf[16];
  if (data + 1 > data_end) return XDP_PASS;
  __u32 len = data[0] & 63;
  if (len == 0) return XDP_PASS;
  if (bpf_xdp_load_bytes(ctx, 0, buf, len)) return XDP_PASS;
  return buf[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
