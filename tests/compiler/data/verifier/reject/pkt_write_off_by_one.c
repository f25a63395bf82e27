// reject: proves 14 bytes, then writes a u16 at offset 13 (bytes 13..14)
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_write_off_by_one(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  *(volatile __u16*)(data + 13) = 0;
  return XDP_TX;
}

char _license[] SEC("license") = "GPL";
