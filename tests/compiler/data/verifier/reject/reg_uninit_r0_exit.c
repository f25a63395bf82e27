// reject: exits without ever setting r0 (the return value)
// kernel: R0 !read_ok
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int reg_uninit_r0_exit(void) {
  asm volatile(
      "r2 = r1;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
