// accept: shifts by registers that may be 64 or more (the result is then
// unknown, not an error; only immediate shift amounts are range-checked)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int shift_by_register(void) {
  asm volatile(
      "call %[rand];"
      "r1 = 1;"
      "r1 <<= r0;"
      "r2 = -1;"
      "r2 s>>= r0;"
      "w3 = 7;"
      "w3 >>= w0;"
      "r0 = r1;"
      "r0 ^= r2;"
      "r0 ^= r3;"
      "r0 &= 3;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
