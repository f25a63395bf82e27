// reject: bounds the index with idx > 8 instead of idx >= 8 for an 8-element
// array in the map value, so idx = 8 reads one element past its end
// kernel: max value is outside of the allowed memory range
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[8]);
} table SEC(".maps");

SEC("xdp")
int map_value_var_off_by_one(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_PASS;
  __u32 idx = data[0];
  if (idx > 8) return XDP_PASS;
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  return v[idx] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
