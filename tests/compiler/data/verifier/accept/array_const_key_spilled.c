// accept: an ARRAY map looked up with the constant key 3, stored as a 4-byte
// register spill at an 8-byte aligned slot (r10 - 8), used without a NULL check:
// the verifier reads the key back from the spilled constant
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int array_const_key_spilled(void) {
  asm volatile(
      "r1 = 3;"
      "*(u32 *)(r10 - 8) = r1;"
      "r2 = r10;"
      "r2 += -8;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "r1 = *(u64 *)(r0 + 0);"
      "r0 = 2;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
