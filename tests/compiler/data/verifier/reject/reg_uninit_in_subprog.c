// reject: a BPF-to-BPF callee reads r6, a callee-saved register that holds
// nothing in the callee's new frame
// kernel: R6 !read_ok
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

__attribute__((naked, noinline, used)) static int read_r6(void) {
  asm volatile(
      "r0 = r6;"
      "exit;" ::: "memory");
}

SEC("xdp")
__attribute__((naked)) int reg_uninit_in_subprog(void) {
  asm volatile(
      "r6 = 1;"
      "call read_r6;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
