// reject: an atomic add on a packet word that is inside the checked range
// kernel: BPF_ATOMIC stores into R1 pkt is not allowed
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int pkt_atomic(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_PASS;
  __sync_fetch_and_add((__u32*)data, 1);
  return XDP_TX;
}

char _license[] SEC("license") = "GPL";
