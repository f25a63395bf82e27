// reject: checks the length as a number (data_end - data < 14) instead of
// comparing pointers; the kernel does not turn a scalar length into a packet range
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_length_as_scalar(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data_end - data < 14) return XDP_PASS;
  return data[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
