// reject: adds a completely unknown 64-bit value (read from a map value) to a
// packet pointer, even though the result is checked against data_end afterwards
// kernel: math between pkt pointer and register with unbounded min value is not allowed
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __s64);
} offsets SEC(".maps");

SEC("xdp")
int pkt_add_unbounded(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  __u32 key = 0;
  __s64* off = bpf_map_lookup_elem(&offsets, &key);
  if (!off) return XDP_PASS;
  unsigned char* p = data + *off;
  if (p + 1 > data_end) return XDP_PASS;
  return *p == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
