// reject: passes a number (0) where the lookup expects a pointer to the key
// kernel: R2 type=scalar expected=
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int helper_key_scalar(void) {
  asm volatile(
      "r2 = 0;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "r0 = 2;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
