// accept: a bounded index (0..7) spilled to the stack across a helper call and
// filled back keeps its bounds, so it can index an 8-element map value
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[8]);
} table SEC(".maps");

SEC("xdp")
__attribute__((naked)) int scalar_spill_keeps_bounds(void) {
  asm volatile(
      "call %[rand];"
      "r0 &= 7;"
      "*(u64 *)(r10 - 16) = r0;"
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[table] ll;"
      "call %[lookup];"
      "if r0 == 0 goto 1f;"
      "r1 = *(u64 *)(r10 - 16);"
      "r1 <<= 3;"
      "r0 += r1;"
      "r1 = *(u64 *)(r0 + 0);"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [rand] "i"(bpf_get_prandom_u32), [table] "i"(&table), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
