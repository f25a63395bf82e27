// accept: 64- and 32-bit division and modulo by registers that may be zero
// (BPF defines x / 0 = 0 and x % 0 = x)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int div_by_maybe_zero(void) {
  asm volatile(
      "call %[rand];"
      "r6 = r0;"
      "r6 &= 7;"
      "r1 = 1000;"
      "r1 /= r6;"
      "r2 = 1000;"
      "r2 %%= r6;"
      "w3 = 1000;"
      "w3 /= w6;"
      "w4 = 1000;"
      "w4 %%= w6;"
      "r0 = r1;"
      "r0 += r2;"
      "r0 += r3;"
      "r0 += r4;"
      "r0 &= 3;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
