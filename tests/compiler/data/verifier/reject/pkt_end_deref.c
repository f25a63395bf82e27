// reject: dereferences data_end itself
// kernel: invalid mem access 'pkt_end'
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_end_deref(struct xdp_md* ctx) {
  volatile unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  return data_end[0] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
