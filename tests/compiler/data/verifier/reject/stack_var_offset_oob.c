// reject: reads the stack at r10 - 16 + idx * 8 with idx in 0..3, so idx >= 2
// reads at or above the frame pointer
// kernel: invalid variable-offset read from stack R2
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_var_offset_oob(void) {
  asm volatile(
      "r1 = 0;"
      "*(u64 *)(r10 - 8) = r1;"
      "*(u64 *)(r10 - 16) = r1;"
      "call %[rand];"
      "r0 &= 3;"
      "r0 <<= 3;"
      "r2 = r10;"
      "r2 += -16;"
      "r2 += r0;"
      "r0 = *(u64 *)(r2 + 0);"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
