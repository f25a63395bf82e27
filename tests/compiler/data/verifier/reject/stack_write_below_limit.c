// reject: writes 8 bytes at r10 - 520, below the 512-byte stack
// kernel: invalid write to stack R10 off=-520 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_write_below_limit(void) {
  asm volatile(
      "r1 = 0;"
      "*(u64 *)(r10 - 520) = r1;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
