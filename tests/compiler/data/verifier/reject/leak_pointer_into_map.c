// reject: stores the packet pointer into a map value
// kernel: leaks addr into map
// caps: CAP_BPF CAP_NET_ADMIN (no CAP_PERFMON: as root the kernel allows this leak)
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} slot SEC(".maps");

SEC("xdp")
int leak_pointer_into_map(struct xdp_md* ctx) {
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&slot, &key);
  if (!v) return XDP_PASS;
  *v = (__u64)(long)ctx->data;
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
