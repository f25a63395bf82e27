// reject: bpf_xdp_load_bytes with a 64-bit length in -128..127, which may be negative
// kernel: R4 min value is negative, either use unsigned or 'var &= const'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int helper_size_negative(void) {
  asm volatile(
      "r6 = r1;"
      "call %[rand];"
      "r4 = r0;"
      "r4 &= 255;"
      "r4 += -128;"
      "r1 = r6;"
      "r2 = 0;"
      "r3 = r10;"
      "r3 += -256;"
      "call %[load_bytes];"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32), [load_bytes] "i"(bpf_xdp_load_bytes)
      : "memory");
}

char _license[] SEC("license") = "GPL";
