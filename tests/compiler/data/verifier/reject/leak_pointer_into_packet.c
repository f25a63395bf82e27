// reject: stores the stack pointer into the packet
// kernel: R10 leaks addr into packet
// caps: CAP_BPF CAP_NET_ADMIN (no CAP_PERFMON: as root the kernel allows this leak)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int leak_pointer_into_packet(void) {
  asm volatile(
      "r2 = *(u32 *)(r1 + 0);"
      "r3 = *(u32 *)(r1 + 4);"
      "r4 = r2;"
      "r4 += 8;"
      "if r4 > r3 goto 1f;"
      "*(u64 *)(r2 + 0) = r10;"
      "1:"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
