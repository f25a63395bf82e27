// reject: adds a sign-extended 32-bit random number (-2^31..2^31-1) to a packet
// pointer; a negative offset can move the pointer before the packet
// kernel: makes pkt pointer be out of bounds
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_add_signed_offset(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  long off = (long)(int)bpf_get_prandom_u32();
  unsigned char* p = data + off;
  if (p + 1 > data_end) return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
