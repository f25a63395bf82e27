// reject: writes the frame pointer r10
// kernel: frame pointer is read only
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int r10_write(void) {
  asm volatile(
      "r10 += -8;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
