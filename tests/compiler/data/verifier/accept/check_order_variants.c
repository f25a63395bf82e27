// accept: bounds checks as C code writes them (l3 > data_end then l3[-2],
// ip + 1 > data_end, data + 38 > data_end, a check in a callee that returns a
// bool); clang turns each into a fresh copy of data plus a constant compared
// with data_end, and every read is at a constant offset from data, covered by
// the largest range proven so far (check_order_asm has the operand orders)
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

static __attribute__((noinline)) int has_bytes(void* p, void* data_end, int n) {
  return p + n <= data_end;
}

SEC("xdp")
int check_order_variants(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* data_end = (unsigned char*)(long)ctx->data_end;
  unsigned char* l3 = data + sizeof(struct ethhdr);
  if (l3 > data_end) return XDP_PASS;
  if (*(__be16*)(l3 - 2) != bpf_htons(ETH_P_IP)) return XDP_PASS;
  struct iphdr* ip = (struct iphdr*)l3;
  if ((void*)(ip + 1) > (void*)data_end) return XDP_PASS;
  if (ip->ttl <= 1) return XDP_DROP;
  if (data + 38 > data_end) return XDP_PASS;
  __u16 dport = ((__u16)data[36] << 8) | data[37];
  if (has_bytes(data, data_end, 64)) return XDP_TX;
  return dport == 53 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
