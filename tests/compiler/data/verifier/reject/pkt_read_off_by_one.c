// reject: proves 14 bytes of packet, then reads the 15th (data[14])
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_read_off_by_one(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  return data[14] == 0x45 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
