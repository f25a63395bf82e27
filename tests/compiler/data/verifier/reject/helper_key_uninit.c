// reject: passes a stack key that was never written to bpf_map_lookup_elem
// kernel: invalid read from stack R2 off=-4 size=4
// caps: CAP_BPF CAP_NET_ADMIN (no CAP_PERFMON: as root uninitialised stack reads are allowed)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int helper_key_uninit(void) {
  asm volatile(
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
