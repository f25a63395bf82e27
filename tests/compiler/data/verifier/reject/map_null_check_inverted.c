// reject: dereferences the lookup result on the branch where it is NULL
// kernel: R0 invalid mem access 'scalar'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int map_null_check_inverted(void) {
  asm volatile(
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "if r0 != 0 goto 1f;"
      "r1 = *(u64 *)(r0 + 0);"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
