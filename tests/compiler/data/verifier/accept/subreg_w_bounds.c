// accept: a u32 index bounded only through its 32-bit subregister (w1 < 16,
// 32-bit compare), then zero-extended and used as a 64-bit map value index
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[16]);
} table SEC(".maps");

SEC("xdp")
__attribute__((naked)) int subreg_w_bounds(void) {
  asm volatile(
      "r6 = *(u32 *)(r1 + 16);"
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[table] ll;"
      "call %[lookup];"
      "if r0 == 0 goto 1f;"
      "w1 = w6;"
      "if w1 >= 16 goto 1f;"
      "r1 <<= 3;"
      "r0 += r1;"
      "r1 = *(u64 *)(r0 + 0);"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [table] "i"(&table), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
