// A program the verifier refuses: it reads the packet without checking
// data_end first (tests/driver/kernel_mirror_test.cpp).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_unchecked(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  return data[20] == 6 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
