// reject: reads the first packet byte without comparing data against data_end
// kernel: invalid access to packet
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_read_no_check(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  return data[0] == 0xff ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
