// accept: an ARRAY map looked up with the constant key 0 (below max_entries)
// is used without a NULL check; Linux 6.18 knows such a lookup cannot fail
// when the key's stack bytes are known (here STACK_ZERO). See the reject
// case array_const_key_misc_slot for when it does not know
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int array_const_key_no_null(struct xdp_md* ctx) {
  __u32 key = 0;
  __u64* v = bpf_map_lookup_elem(&counters, &key);
  __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
