// reject: instructions after the exit that no jump reaches
// kernel: unreachable insn 2
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int cfg_unreachable_insn(void) {
  asm volatile(
      "r0 = 2;"
      "exit;"
      "r0 = 1;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
