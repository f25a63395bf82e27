// reject: spills the packet pointer (8 bytes) and fills back only 4 of them
// kernel: invalid size of register fill
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int fill_partial_pointer(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "*(u64 *)(r10 - 8) = r2;"
      "r3 = *(u32 *)(r10 - 8);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
