// reject: a counting loop whose bound is a u32 from the packet; the verifier walks
// every iteration and gives up at its instruction limit
// kernel: BPF program is too large. Processed 1000001 insn
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int loop_bound_from_packet(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  if (data + 4 > data_end) return XDP_PASS;
  __u32 n = *(__u32*)data;
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < n; i++) sum += i ^ n;
  return sum == 7 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
