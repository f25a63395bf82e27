// accept: (with CAP_PERFMON, as root) returns the packet pointer as the XDP
// verdict; XDP return values are not range-checked and, with CAP_PERFMON, a
// pointer may leak (reject/leak_return_pointer without it)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int priv_return_pointer(void) {
  asm volatile(
      "r0 = *(u32 *)(r1 + 0);"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
