// A tc classifier next to an XDP program: the front end reads every program section.
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

SEC("tc") int classify(struct __sk_buff *skb) { return skb->len > 100 ? TC_ACT_SHOT : TC_ACT_OK; }
SEC("xdp") int pass(struct xdp_md *ctx) { return XDP_PASS; }
char _license[] SEC("license") = "GPL";
