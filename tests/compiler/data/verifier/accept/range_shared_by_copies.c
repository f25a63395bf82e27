// accept: the packet pointer is copied before the check; the check on one copy
// gives the range to every copy with the same id, read at different offsets
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int range_shared_by_copies(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "r6 = r2;"
      "r7 = r2;"
      "r7 += 4;"
      "r4 = r2;"
      "r4 += 14;"
      "if r4 > r3 goto 1f;"
      "r0 = *(u32 *)(r6 + 10);"
      "r0 = *(u16 *)(r7 + 8);"
      "r0 = *(u8 *)(r4 - 1);"
      "1:"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
