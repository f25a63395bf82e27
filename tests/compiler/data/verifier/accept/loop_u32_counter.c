// accept: a loop whose counter lives in a w register (u32), bounded both by a
// constant and by a length read from the packet, summing map value words
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u32[32]);
} words SEC(".maps");

SEC("xdp")
int loop_u32_counter(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_PASS;
  __u32 n = data[0];
  __u32 key = 0;
  __u32* w = bpf_map_lookup_elem(&words, &key);
  if (!w) return XDP_PASS;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < n && i < 32; i++) sum += w[i];
  return sum == 77 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
