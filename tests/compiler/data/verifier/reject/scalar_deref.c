// reject: dereferences a constant address (0x1000) as if it were a pointer
// kernel: R1 invalid mem access 'scalar'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int scalar_deref(void) {
  asm volatile(
      "r1 = 4096;"
      "r0 = *(u32 *)(r1 + 0);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
