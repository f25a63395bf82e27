// reject: reads the byte before data (negative offset) after a valid check
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_negative_offset(struct xdp_md* ctx) {
  volatile unsigned char* data = (unsigned char*)(long)ctx->data;
  volatile unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  return data[-1] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
