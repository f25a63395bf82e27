// reject: calls helper number 9999, which does not exist
// kernel: invalid func unknown#9999
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int helper_unknown(void) {
  asm volatile(
      "call 9999;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
