// reject: 32-bit ALU (w2 += 14) on a packet pointer
// kernel: 32-bit pointer arithmetic prohibited
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int pkt_ptr_alu32(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "w2 += 14;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
