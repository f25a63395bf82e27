// reject: reads 4 bytes at offset 24 of xdp_md, past its last field
// kernel: invalid bpf_context access off=24 size=4
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int ctx_read_past_end(struct xdp_md* ctx) {
  return ((volatile __u32*)ctx)[6] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
