// reject: an 8-byte stack store at r10 - 12 (stack accesses must be aligned)
// kernel: misaligned stack access off
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_misaligned(void) {
  asm volatile(
      "r1 = 0;"
      "*(u64 *)(r10 - 12) = r1;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
