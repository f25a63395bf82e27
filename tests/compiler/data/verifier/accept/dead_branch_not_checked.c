// accept: an invalid access (a NULL dereference) sits on a branch that the
// verifier proves is never taken from the known value of r1; it is never checked
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int dead_branch_not_checked(void) {
  asm volatile(
      "call %[rand];"
      "r1 = r0;"
      "r1 &= 15;"
      "r1 += 1;"
      "if r1 != 0 goto 1f;"
      "r2 = 0;"
      "r0 = *(u64 *)(r2 + 0);"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
