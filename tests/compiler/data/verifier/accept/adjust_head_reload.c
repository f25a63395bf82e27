// accept: bpf_xdp_adjust_head invalidates every packet pointer; the program
// re-reads data and data_end from ctx and checks again before writing
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int adjust_head_reload(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  struct ethhdr copy = *eth;
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_DROP;
  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  eth = data;
  if ((void*)eth + sizeof(*eth) + 4 > data_end) return XDP_DROP;
  __builtin_memcpy(eth->h_dest, copy.h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_source, copy.h_source, ETH_ALEN);
  eth->h_proto = bpf_htons(0x8100);
  __be16* tag = (__be16*)(eth + 1);
  tag[0] = bpf_htons(42);
  tag[1] = copy.h_proto;
  return XDP_TX;
}

char _license[] SEC("license") = "GPL";
