// reject: uses r2 as an ALU source before anything was written to it
// kernel: R2 !read_ok
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int reg_uninit_alu(void) {
  asm volatile(
      "r0 = 2;"
      "r0 += r2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
