// reject: compares against data_meta (the wrong end) instead of data_end before
// reading the packet: it proves nothing about the packet's length
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_check_wrong_end(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* meta = (unsigned char*)(long)ctx->data_meta;
  if (meta + 14 > data) return XDP_PASS;
  return data[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
