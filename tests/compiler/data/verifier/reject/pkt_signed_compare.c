// reject: compares the packet pointers with a signed comparison (JSGT); the
// kernel only derives packet ranges from unsigned pointer comparisons
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int pkt_signed_compare(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "r4 = r2;"
      "r4 += 14;"
      "if r4 s> r3 goto 1f;"
      "r0 = *(u8 *)(r2 + 0);"
      "1:"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
