// reject: reads 8 bytes at r10 + 0, above the top of the stack frame
// kernel: invalid read from stack R10 off=0 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_read_above_fp(void) {
  asm volatile(
      "r0 = *(u64 *)(r10 + 0);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
