// reject: adds a bounded variable offset (0..255, a header byte) to a checked
// pointer and reads through it without checking the new pointer again
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_var_offset_no_recheck(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 16 > data_end) return XDP_PASS;
  unsigned char* p = data + 16 + data[15];
  return *(volatile unsigned char*)p == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
