// accept: a static BPF-to-BPF subprogram returns the ctx pointer it was given;
// the caller reads ctx fields through the returned pointer (only global
// functions must return scalars)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((naked, noinline, used)) static int give_ctx(void) {
  asm volatile(
      "r0 = r1;"
      "exit;" ::: "memory");
}

SEC("xdp")
__attribute__((naked)) int subprog_returns_ctx(void) {
  asm volatile(
      "call give_ctx;"
      "r1 = *(u32 *)(r0 + 16);"
      "r0 = 2;"
      "if r1 != 3 goto 1f;"
      "r0 = 1;"
      "1:"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
