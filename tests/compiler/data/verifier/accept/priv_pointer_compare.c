// accept: (with CAP_PERFMON, as root) compares a packet pointer with a map value
// pointer; the comparison is allowed but proves nothing, and nothing is read on
// its strength (reject/ptr_compare_prohibited without CAP_PERFMON)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} slot SEC(".maps");

SEC("xdp")
__attribute__((naked)) int priv_pointer_compare(void) {
  asm volatile(
      "r6 = *(u32 *)(r1 + 0);"
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[slot] ll;"
      "call %[lookup];"
      "if r0 == 0 goto 1f;"
      "r2 = r6;"
      "r2 += 8;"
      "if r2 > r0 goto 1f;"
      "r0 = 1;"
      "exit;"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [slot] "i"(&slot), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
