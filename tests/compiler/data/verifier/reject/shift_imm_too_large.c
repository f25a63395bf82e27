// reject: a 64-bit left shift by the immediate 64
// kernel: invalid shift 64
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int shift_imm_too_large(void) {
  asm volatile(
      "r0 = 2;"
      "r0 <<= 64;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
