// accept: a real 16-iteration loop (unrolling disabled) over a map value array
// and a packet walk whose loop bound and packet checks are both in the body
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32[16]);
} weights SEC(".maps");

SEC("xdp")
int bounded_loop(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  __u32 key = 0;
  __u32* w = bpf_map_lookup_elem(&weights, &key);
  if (!w) return XDP_PASS;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < 16; i++) {
    if (data + i + 1 > data_end) break;
    sum += data[i] * w[i];
  }
  return sum & 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
