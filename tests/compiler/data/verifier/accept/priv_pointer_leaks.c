// accept: (with CAP_PERFMON, as root) stores the packet pointer into a map value
// and the stack pointer into the packet; without CAP_PERFMON both are leaks the
// kernel rejects (reject/leak_pointer_into_map, reject/leak_pointer_into_packet)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} slot SEC(".maps");

SEC("xdp")
__attribute__((naked)) int priv_pointer_leaks(void) {
  asm volatile(
      "r6 = *(u32 *)(r1 + 0);"
      "r7 = *(u32 *)(r1 + 4);"
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[slot] ll;"
      "call %[lookup];"
      "if r0 == 0 goto 1f;"
      "*(u64 *)(r0 + 0) = r6;"
      "r1 = r6;"
      "r1 += 8;"
      "if r1 > r7 goto 1f;"
      "*(u64 *)(r6 + 0) = r10;"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [slot] "i"(&slot), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
