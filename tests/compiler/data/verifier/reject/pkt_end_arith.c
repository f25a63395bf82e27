// reject: arithmetic on data_end (data_end - 14), which the kernel never allows
// kernel: pointer arithmetic on pkt_end prohibited
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int pkt_end_arith(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "r3 += -14;"
      "if r2 > r3 goto 1f;"
      "r0 = *(u8 *)(r2 + 0);"
      "1:"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
