// reject: passes the packet itself as the lookup key without proving that
// the 4 key bytes are inside the packet
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int helper_key_unchecked_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  __u64* v = bpf_map_lookup_elem(&counters, data);
  return v ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
