// accept: data and data_end spilled to the stack across helper calls and filled
// back; the bounds check is made on the filled copies, the range must follow
// the packet pointer's id through the stack
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int spill_fill_pkt_ptrs(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "*(u64 *)(r10 - 8) = r2;"
      "*(u64 *)(r10 - 16) = r3;"
      "call %[rand];"
      "r2 = *(u64 *)(r10 - 8);"
      "r3 = *(u64 *)(r10 - 16);"
      "r4 = r2;"
      "r4 += 14;"
      "if r4 > r3 goto 1f;"
      "*(u64 *)(r10 - 24) = r2;"
      "call %[rand];"
      "r2 = *(u64 *)(r10 - 24);"
      "r0 = *(u16 *)(r2 + 12);"
      "if r0 != 8 goto 1f;"
      "r0 = 1;"
      "exit;"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32)
      : "memory");
}

char _license[] SEC("license") = "GPL";
