// accept: BPF-to-BPF calls (not inlined) that receive data and data_end as
// arguments, check them in the callee and return a parsed value; the caller
// passes a pointer that it has already advanced
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __attribute__((noinline)) int read_proto(void* data, void* data_end) {
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return -1;
  return bpf_ntohs(eth->h_proto);
}

static __attribute__((noinline)) int read_byte(unsigned char* p, void* data_end, int off) {
  if (off < 0 || off > 64) return -1;
  if (p + off + 1 > (unsigned char*)data_end) return -1;
  return p[off];
}

SEC("xdp")
int bpf2bpf_pkt_ptrs(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  int proto = read_proto(data, data_end);
  if (proto != ETH_P_IP) return XDP_PASS;
  int ttl = read_byte((unsigned char*)data + sizeof(struct ethhdr), data_end, 8);
  return ttl == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
