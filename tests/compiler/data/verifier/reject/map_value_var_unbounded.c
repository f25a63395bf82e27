// reject: indexes a map value with a u32 taken from the packet, never bounded
// kernel: unbounded memory access, make sure to bounds check any such access
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[8]);
} table SEC(".maps");

SEC("xdp")
int map_value_var_unbounded(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_PASS;
  __u32 idx = *(__u32*)data;
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  v[idx] += 1;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
