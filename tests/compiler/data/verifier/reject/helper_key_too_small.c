// reject: the map's key is 8 bytes but the key pointer is r10 - 4: the helper
// would read 4 bytes above the frame pointer
// kernel: invalid read from stack R2 off=-4 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u64);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int helper_key_too_small(void) {
  asm volatile(
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "r0 = 2;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
