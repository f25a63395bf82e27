// Four hash map lookups per packet, keyed by packet bytes, then a drop: a
// program bound by the map engine's hash units when there are few of them.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __u32);
  __type(value, __u64);
} table SEC(".maps");

SEC("xdp")
int lookups(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* end = (unsigned char*)(long)ctx->data_end;
  if (data + 16 > end) return XDP_DROP;
  __u64 sum = 0;
  for (int i = 0; i < 4; ++i) {
    __u32 key = data[i];
    __u64* v = bpf_map_lookup_elem(&table, &key);
    if (v) sum += *v;
  }
  return sum == 12345 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
