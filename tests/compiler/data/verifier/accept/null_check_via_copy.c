// accept: the lookup result is copied to r6 and spilled to the stack; the NULL
// check on r6 also marks r0 and the spilled copy as non-NULL (same id)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
__attribute__((naked)) int null_check_via_copy(void) {
  asm volatile(
      "r1 = 0;"
      "*(u32 *)(r10 - 4) = r1;"
      "r2 = r10;"
      "r2 += -4;"
      "r1 = %[counters] ll;"
      "call %[lookup];"
      "r6 = r0;"
      "*(u64 *)(r10 - 16) = r0;"
      "if r6 == 0 goto 1f;"
      "r1 = *(u64 *)(r0 + 0);"
      "r2 = *(u64 *)(r10 - 16);"
      "r1 += 1;"
      "*(u64 *)(r2 + 0) = r1;"
      "1:"
      "r0 = 2;"
      "exit;"
      :
      : [counters] "i"(&counters), [lookup] "i"(bpf_map_lookup_elem)
      : "memory");
}

char _license[] SEC("license") = "GPL";
