// reject: moves the ctx pointer by 4 and reads through it (r1 += 4; *(u32 *)(r1 + 0))
// kernel: dereference of modified ctx ptr R1 off=4 disallowed
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ctx_modified_ptr(void) {
  asm volatile(
      "r1 += 4;"
      "r2 = *(u32 *)(r1 + 0);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
