// reject: calls bpf_skb_load_bytes (26), a helper that XDP programs cannot use
// kernel: program of this type cannot use helper bpf_skb_load_bytes#26
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int helper_not_for_xdp(struct xdp_md* ctx) {
  __u32 word = 0;
  bpf_skb_load_bytes(ctx, 0, &word, sizeof word);
  return word == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
