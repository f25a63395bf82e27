// accept: two bounded variable offsets (an if-bounded length and a masked one)
// added one after the other to the packet pointer, with the range proven once
// for the sum and then used at a constant offset from it
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int var_offset_bounded_add(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 2 > data_end) return XDP_PASS;
  __u32 a = data[0];
  if (a > 100) return XDP_DROP;
  __u32 b = data[1] & 0xf;
  unsigned char* p = data + a;
  p += b;
  if (p + 8 > data_end) return XDP_PASS;
  p[7] ^= 1;
  return p[0] == 7 ? XDP_TX : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
