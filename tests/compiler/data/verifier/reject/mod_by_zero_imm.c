// reject: 32-bit modulo by the immediate 0
// kernel: div by zero
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int mod_by_zero_imm(void) {
  asm volatile(
      "w0 = 2;"
      "w0 %%= 0;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
