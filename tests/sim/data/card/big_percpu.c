// A map whose dump does not fit one control buffer on the default card:
// 8192 elements x 384 per-thread copies x 8 bytes = 24 MiB.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 8192);
  __type(key, __u32);
  __type(value, __u64);
} big SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx) {
  __u32 k = 7;
  __u64 *v = bpf_map_lookup_elem(&big, &k);
  if (v) *v += 1;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
