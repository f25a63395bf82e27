// reject: a 32-bit arithmetic right shift by the immediate 32
// kernel: invalid shift 32
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int shift32_imm_too_large(void) {
  asm volatile(
      "w0 = 2;"
      "w0 s>>= 32;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
