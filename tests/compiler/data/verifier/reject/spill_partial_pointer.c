// reject: spills only the low 4 bytes of the ctx pointer to the stack
// kernel: invalid size of register spill
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int spill_partial_pointer(void) {
  asm volatile(
      "*(u32 *)(r10 - 8) = r1;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
