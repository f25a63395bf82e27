// reject: bounds a signed 32-bit index only from above (idx < 8, signed compare);
// after sign extension and scaling by 8 its lower bound is lost entirely
// kernel: math between map_value pointer and register with unbounded min value is not allowed
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64[8]);
} table SEC(".maps");

SEC("xdp")
int map_value_signed_index_scaled(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_PASS;
  int idx = *(int*)data;
  if (idx >= 8) return XDP_PASS;
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&table, &key);
  if (!v) return XDP_PASS;
  return v[idx] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
