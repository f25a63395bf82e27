// reject: an atomic add on a ctx field
// kernel: BPF_ATOMIC stores into R1 ctx is not allowed
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ctx_atomic(void) {
  asm volatile(
      "r2 = 1;"
      "lock *(u32 *)(r1 + 16) += w2;"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
