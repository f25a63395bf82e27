// Global data, BTF maps, a prog array, and subprograms in .text shared by two programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct { __uint(type, BPF_MAP_TYPE_HASH); __type(key, __u32); __type(value, __u64); __uint(max_entries, 16); } hmap SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(key_size, 4); __uint(value_size, 4); __uint(max_entries, 4); } jt SEC(".maps");
volatile __u64 counter = 0;
const volatile __u32 cfg = 7;
char msg[16] = "hello";
static __attribute__((noinline)) int helper2(int x) { return x * 3 + cfg; }
static __attribute__((noinline)) int helper1(struct xdp_md *ctx, int x) { return helper2(x) + (ctx->data_end - ctx->data); }
SEC("xdp") int entry(struct xdp_md *ctx) {
  __u32 k = 1; __u64 *v = bpf_map_lookup_elem(&hmap, &k);
  counter += helper1(ctx, 4);
  msg[0] = 'H';
  if (v) *v = counter;
  bpf_tail_call(ctx, &jt, 0);
  return XDP_PASS;
}
SEC("xdp") int second(struct xdp_md *ctx) { return helper2(2) == 13 ? XDP_DROP : XDP_PASS; }
char _license[] SEC("license") = "GPL";
