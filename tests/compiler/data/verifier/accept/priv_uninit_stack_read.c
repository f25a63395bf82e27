// accept: (with CAP_PERFMON, as root) reads a stack slot that was never written,
// directly and as a helper's key; without CAP_PERFMON the kernel rejects both
// (reject/stack_read_uninit, reject/helper_key_uninit)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int priv_uninit_stack_read(void) {
  asm volatile(
      "r6 = *(u64 *)(r10 - 16);"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "r0 = r6;"
      "r0 &= 3;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
