// reject: reads a stack slot that was never written
// kernel: invalid read from stack R10 off=-8 size=8
// caps: CAP_BPF CAP_NET_ADMIN (no CAP_PERFMON: as root uninitialised stack reads are allowed)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int stack_read_uninit(void) {
  asm volatile(
      "r0 = *(u64 *)(r10 - 8);"
      "r0 &= 3;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
