// reject: multiplies the packet pointer by 2
// kernel: pointer arithmetic with *= operator prohibited
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ptr_mul(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r2 *= 2;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
