// reject: uses r1 (the ctx pointer) after a helper call, which clobbers r1..r5
// kernel: R1 !read_ok
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int reg_clobbered_by_call(void) {
  asm volatile(
      "call %[rand];"
      "r0 = *(u32 *)(r1 + 0);"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
