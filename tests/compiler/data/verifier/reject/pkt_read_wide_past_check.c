// reject: proves 14 bytes, then reads a u32 at offset 12 (bytes 12..15)
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_read_wide_past_check(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 14 > data_end) return XDP_PASS;
  return *(volatile __u32*)(data + 12) == 0 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
