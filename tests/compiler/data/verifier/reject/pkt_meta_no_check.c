// reject: reads metadata (data_meta) without comparing data_meta + 4 against data
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_meta_no_check(struct xdp_md* ctx) {
  volatile __u32* meta = (__u32*)(long)ctx->data_meta;
  return meta[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
