// reject: an ARRAY map looked up with the constant key 3 is used without a NULL
// check; clang stores the key at r10 - 4, not 8-byte aligned, so the stack bytes
// are only "misc" and the verifier cannot see the constant (key 0, or a spill
// at an aligned slot, would be accepted: see accept/array_const_key_*)
// kernel: R0 invalid mem access 'map_value_or_null'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} counters SEC(".maps");

SEC("xdp")
int array_const_key_misc_slot(struct xdp_md* ctx) {
  __u32 key = 3;
  __u64* v = bpf_map_lookup_elem(&counters, &key);
  __sync_fetch_and_add(v, 1);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
