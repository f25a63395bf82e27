// reject: the last instruction is not an exit or a jump; execution can fall off the end
// kernel: last insn is not an exit or jmp
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int cfg_fall_off_end(void) {
  asm volatile(
      "r0 = 2;"
      "if r1 == 0 goto 1f;"
      "exit;"
      "1:"
      "r0 = 1;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
