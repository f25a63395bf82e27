// reject: division by the immediate 0 (division by a register that may be 0 is legal)
// kernel: div by zero
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int div_by_zero_imm(void) {
  asm volatile(
      "r0 = 2;"
      "r0 /= 0;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
