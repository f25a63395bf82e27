// accept: the header length is a u32 computed in w registers (ihl * 4 from a
// nibble), zero-extended into a 64-bit offset, and the packet is checked
// against data + 14 + len
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

SEC("xdp")
int subreg_u32_length(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (void*)(eth + 1);
  if ((void*)(ip + 1) > data_end) return XDP_PASS;
  __u32 hlen = ip->ihl * 4;
  if (hlen < sizeof(*ip)) return XDP_DROP;
  unsigned char* l4 = (unsigned char*)ip + hlen;
  if (l4 + 4 > (unsigned char*)data_end) return XDP_PASS;
  return l4[2] == 0 && l4[3] == 53 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
