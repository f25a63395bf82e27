// accept: a signed int checked with x < 0 and (unsigned long)x >= 32 before it
// indexes a map value; clang merges both into one unsigned 32-bit compare
// (w6 > 31) and sign-extends afterwards (<<= 32, s>>= 32), so the 32-bit bound
// must survive the shifts into the 64-bit index
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8[32]);
} table SEC(".maps");

SEC("xdp")
int signed_unsigned_mix(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_PASS;
  long x = *(volatile int*)data;
  if (x < 0) return XDP_DROP;
  if ((unsigned long)x >= 32) return XDP_DROP;
  __u32 key = 0;
  __u8* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  return v[x] ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
