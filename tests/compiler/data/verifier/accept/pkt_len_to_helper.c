// accept: the packet length as a number (data_end - data), clamped to 1..64,
// passed as the size of bpf_xdp_load_bytes into a 64-byte stack buffer
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_len_to_helper(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  unsigned char buf[64];
  __u64 len = data_end - data;
  if (len > sizeof(buf)) len = sizeof(buf);
  if (len < 1) return XDP_PASS;
  if (bpf_xdp_load_bytes(ctx, 0, buf, len)) return XDP_ABORTED;
  return buf[0] == 0xff ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
