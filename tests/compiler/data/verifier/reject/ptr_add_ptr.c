// reject: adds two pointers (the packet pointer and the stack pointer)
// kernel: pointer += pointer prohibited
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ptr_add_ptr(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r2 += r10;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
