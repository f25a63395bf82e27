// reject: returns the packet pointer as the XDP verdict
// kernel: R0 leaks addr as return value
// caps: CAP_BPF CAP_NET_ADMIN (no CAP_PERFMON: as root the kernel allows this leak)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int leak_return_pointer(void) {
  asm volatile(
      "r0 = *(u32 *)(r1 + 0);"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
