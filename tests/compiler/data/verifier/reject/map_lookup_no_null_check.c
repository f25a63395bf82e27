// reject: uses the result of a hash map lookup without checking it for NULL
// kernel: R0 invalid mem access 'map_value_or_null'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int map_lookup_no_null_check(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u64* v = bpf_map_lookup_elem(&counters, &key);
  *v += 1;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
