// accept: the bounds check written with each unsigned comparison (>, >=, <, <=)
// and with the packet pointer on either side of it
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int check_order_asm(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "r0 = 2;"
      "r4 = r2;"
      "r4 += 2;"
      "if r4 > r3 goto 1f;"
      "r5 = *(u8 *)(r2 + 1);"
      "r4 = r2;"
      "r4 += 4;"
      "if r3 < r4 goto 1f;"
      "r5 = *(u8 *)(r2 + 3);"
      "r4 = r2;"
      "r4 += 6;"
      "if r4 >= r3 goto 1f;"
      "r5 = *(u8 *)(r2 + 6);"
      "r4 = r2;"
      "r4 += 8;"
      "if r3 <= r4 goto 1f;"
      "r5 = *(u8 *)(r2 + 8);"
      "r4 = r2;"
      "r4 += 12;"
      "if r4 <= r3 goto 2f;"
      "goto 1f;"
      "2:"
      "r5 = *(u8 *)(r2 + 11);"
      "1:"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
