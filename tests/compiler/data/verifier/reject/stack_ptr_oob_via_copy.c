// reject: copies r10, moves the copy below the stack (-512 - 8) and stores through it
// kernel: invalid write to stack R1 off=-520 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_ptr_oob_via_copy(void) {
  asm volatile(
      "r1 = r10;"
      "r1 += -512;"
      "r2 = 0;"
      "*(u64 *)(r1 - 8) = r2;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
