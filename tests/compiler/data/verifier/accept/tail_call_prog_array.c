// accept: bpf_tail_call through a PROG_ARRAY with a key from the packet; the
// fall-through path after a failed tail call continues normally
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, 8);
  __type(key, __u32);
  __type(value, __u32);
} jumps SEC(".maps");

SEC("xdp")
int tail_call_prog_array(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  if (data + 1 > data_end) return XDP_PASS;
  bpf_tail_call(ctx, &jumps, data[0] & 7);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
