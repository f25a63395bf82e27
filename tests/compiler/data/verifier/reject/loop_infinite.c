// reject: a loop that never changes its state (while (1) {})
// kernel: infinite loop detected at insn
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int loop_infinite(void) {
  asm volatile(
      "r0 = 2;"
      "1:"
      "r0 += 0;"
      "goto 1b;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
