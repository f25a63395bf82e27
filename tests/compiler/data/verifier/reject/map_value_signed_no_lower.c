// reject: bounds a signed byte index only from above (idx < 8, signed compare),
// so an index of -128..-1 reaches before the map value
// kernel: min value is negative, either use unsigned index or do a if (index >=0) check.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u8[8]);
} table SEC(".maps");

SEC("xdp")
int map_value_signed_no_lower(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_PASS;
  long idx = *(signed char*)data;
  if (idx >= 8) return XDP_PASS;
  __u32 key = 0;
  __u8* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  return v[idx] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
