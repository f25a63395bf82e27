// reject: passes a stack pointer where bpf_map_lookup_elem expects the map
// kernel: R1 type=fp expected=map_ptr
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int helper_map_arg_not_map(void) {
  asm volatile(
      "r1 = 0;"
      "*(u64 *)(r10 - 8) = r1;"
      "r2 = r10;"
      "r2 += -8;"
      "r1 = r10;"
      "r1 += -8;"
      "call %[lookup];"
      "r0 = 2;"
      "exit;"
      :
      : [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
