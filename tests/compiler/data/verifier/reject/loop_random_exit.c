// reject: loops until bpf_get_prandom_u32() returns 0; nothing bounds the trip count
// kernel: infinite loop detected at insn
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int loop_random_exit(struct xdp_md* ctx) {
  while (bpf_get_prandom_u32() != 0) {
  }
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
