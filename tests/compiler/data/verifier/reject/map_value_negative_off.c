// reject: writes 4 bytes just before the map value (offset -4)
// kernel: invalid access to map value, value_size=8 off=-4 size=4
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int map_value_negative_off(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u32* v = bpf_map_lookup_elem(&counters, &key);
  if (!v) return XDP_PASS;
  *(volatile __u32*)(v - 1) = 1;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
