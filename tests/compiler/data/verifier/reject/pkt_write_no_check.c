// reject: writes the first packet byte without any bounds check
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_write_no_check(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  data[0] = 0xff;
  return XDP_TX;
}

char _license[] SEC("license") = "GPL";
