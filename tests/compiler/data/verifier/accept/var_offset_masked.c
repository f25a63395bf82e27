// accept: a variable offset taken from the packet, masked with & 0x3f, added to
// data + 14, and the resulting pointer checked against data_end before the read
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int var_offset_masked(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  __u32 off = data[0] & 0x3f;
  unsigned char* p = data + 14 + off;
  if (p + 2 > data_end) return XDP_PASS;
  return p[1] == 0x11 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
