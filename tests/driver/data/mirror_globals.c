// Global data and two user maps for the kernel mirror tests
// (tests/driver/kernel_mirror_test.cpp). Built twice: GLOBALS_LIMIT changes
// .rodata's contents and SLOTS the shape of `slots`, while `flows` and the
// .data and .bss maps keep theirs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#ifndef GLOBALS_LIMIT
#define GLOBALS_LIMIT 100
#endif
#ifndef SLOTS
#define SLOTS 4
#endif

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, __u64);
} flows SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} slots SEC(".maps");

const volatile __u32 limit = GLOBALS_LIMIT;  // .rodata
__u32 seen = 7;                              // .data
__u64 packets;                               // .bss

SEC("xdp")
int xdp_globals(struct xdp_md* ctx) {
  __u32 key = seen;
  __u64* v = bpf_map_lookup_elem(&flows, &key);
  __u32 slot = 0;
  __u64* s = bpf_map_lookup_elem(&slots, &slot);
  __sync_fetch_and_add(&packets, 1);
  if (s) *s += 1;
  if (v && *v > limit) return XDP_DROP;
  return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
