// accept: a real loop (at most 8 steps) walking type-length-value options: the
// packet pointer advances by a variable, masked amount each step, and every
// step re-checks it against data_end; the variable offset accumulates
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int tlv_walk_loop(struct xdp_md* ctx) {
  unsigned char* p = (unsigned char*)(long)ctx->data + 14;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  __u32 found = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 8; i++) {
    if (p + 2 > data_end) break;
    if (p[0] == 0) break;
    if (p[0] == 7) found++;
    p += 2 + (p[1] & 0xf);
  }
  return found ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
