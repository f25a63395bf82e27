// reject: reads 8 bytes at offset 8 of an 8-byte map value
// kernel: invalid access to map value, value_size=8 off=8 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int map_value_const_oob(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u64* v = bpf_map_lookup_elem(&counters, &key);
  if (!v) return XDP_PASS;
  return v[1] == 7 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
