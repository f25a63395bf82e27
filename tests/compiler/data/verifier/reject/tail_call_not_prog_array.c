// reject: bpf_tail_call through an ARRAY map instead of a PROG_ARRAY
// kernel: expected prog array map for tail call
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u32);
} jumps SEC(".maps");

SEC("xdp")
int tail_call_not_prog_array(struct xdp_md* ctx) {
  bpf_tail_call(ctx, &jumps, 0);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
