// reject: spills the ctx pointer, overwrites one byte of the slot, fills it back
// and dereferences it: the slot now holds an unknown number, not a pointer
// kernel: R1 invalid mem access 'scalar'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int spill_overwritten_then_used(void) {
  asm volatile(
      "*(u64 *)(r10 - 8) = r1;"
      "r2 = 0;"
      "*(u8 *)(r10 - 8) = r2;"
      "r1 = *(u64 *)(r10 - 8);"
      "r0 = *(u32 *)(r1 + 0);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
