// reject: the bounds check is inverted: the read happens on the branch where
// data + 14 > data_end, i.e. where the packet is known to be too short
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_check_inverted(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 14 <= data_end) return XDP_PASS;
  return data[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
