// SPDX-License-Identifier: GPL-2.0
//
// parser.c: a header parser that counts what it sees.
//
// Walks Ethernet, up to two VLAN tags (802.1Q or 802.1ad), IPv4 (with options)
// or IPv6 (fixed header only), then TCP, UDP, ICMP or ICMPv6, and counts
// packets and bytes (whole frame length) per class.  A well-formed frame is
// counted once in each class it belongs to: its L3 class (NON_IP, IPV4 or
// IPV6), its L4 class when it is IP (TCP, UDP, ICMP, ICMPV6 or L4_OTHER; a
// non-first IPv4 fragment counts as L4_OTHER) and VLAN when it carried a tag.
//
// Malformed frames are counted only in MALFORMED and dropped.  Malformed means:
// truncated Ethernet, VLAN, IP or L4 header; more than two VLAN tags; an IPv4
// header with version != 4, IHL < 5 or a total length that is shorter than its
// header or longer than the frame; an IPv6 header with version != 6 or a
// payload length longer than the frame; a TCP header with data offset < 5.
//
// Maps:
//   proto_stats  PERCPU_ARRAY[STAT_MAX] u32 -> struct counter {u64 packets, bytes}
//                indexes are enum stat_idx below.
//
// Verdicts: XDP_PASS for every well-formed frame, XDP_DROP for malformed ones.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/icmpv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum stat_idx {
  STAT_NON_IP = 0,
  STAT_IPV4 = 1,
  STAT_IPV6 = 2,
  STAT_TCP = 3,
  STAT_UDP = 4,
  STAT_ICMP = 5,
  STAT_ICMPV6 = 6,
  STAT_L4_OTHER = 7,
  STAT_VLAN = 8,
  STAT_MALFORMED = 9,
  STAT_MAX = 10,
};

struct counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, STAT_MAX);
  __type(key, __u32);
  __type(value, struct counter);
} proto_stats SEC(".maps");

// <linux/icmp.h> pulls in glibc's <sys/socket.h> (via <linux/if.h>), which
// does not compile for -target bpf without 32-bit glibc headers, so the
// 8-byte ICMP header is declared here.
struct icmp_hdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

struct vlan_hdr {
  __be16 tci;
  __be16 encap_proto;
};

#define MAX_VLAN_TAGS 2
#define IP_FRAG_OFFSET_MASK 0x1fff

static __always_inline void count(__u32 idx, __u64 bytes) {
  struct counter* c = bpf_map_lookup_elem(&proto_stats, &idx);
  if (c) {
    c->packets += 1;
    c->bytes += bytes;
  }
}

static __always_inline int is_vlan(__be16 proto) {
  return proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
}

SEC("xdp")
int xdp_parser(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;
  __u32 l3_idx, l4_idx;
  __u8 l4_proto;
  void* l4;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) goto malformed;

  __be16 proto = eth->h_proto;
  void* cursor = eth + 1;
  int tagged = 0;

#pragma unroll
  for (int i = 0; i < MAX_VLAN_TAGS; i++) {
    if (!is_vlan(proto)) break;
    struct vlan_hdr* vh = cursor;
    if ((void*)(vh + 1) > data_end) goto malformed;
    proto = vh->encap_proto;
    cursor = vh + 1;
    tagged = 1;
  }
  if (is_vlan(proto)) goto malformed;  // a third tag

  if (proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = cursor;
    if ((void*)(iph + 1) > data_end) goto malformed;
    if (iph->version != 4 || iph->ihl < 5) goto malformed;
    __u32 hdr_len = iph->ihl * 4;
    __u32 tot_len = bpf_ntohs(iph->tot_len);
    if ((void*)iph + hdr_len > data_end) goto malformed;
    if (tot_len < hdr_len || (void*)iph + tot_len > data_end) goto malformed;
    l4 = (void*)iph + hdr_len;
    l4_proto = iph->protocol;
    if (iph->frag_off & bpf_htons(IP_FRAG_OFFSET_MASK)) l4_proto = IPPROTO_RAW;  // no L4 header here
    l3_idx = STAT_IPV4;
  } else if (proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6h = cursor;
    if ((void*)(ip6h + 1) > data_end) goto malformed;
    if (ip6h->version != 6) goto malformed;
    if ((void*)(ip6h + 1) + bpf_ntohs(ip6h->payload_len) > data_end) goto malformed;
    l4 = ip6h + 1;
    l4_proto = ip6h->nexthdr;
    l3_idx = STAT_IPV6;
  } else {
    count(STAT_NON_IP, bytes);
    if (tagged) count(STAT_VLAN, bytes);
    return XDP_PASS;
  }

  switch (l4_proto) {
    case IPPROTO_TCP: {
      struct tcphdr* th = l4;
      if ((void*)(th + 1) > data_end) goto malformed;
      if (th->doff < 5) goto malformed;
      l4_idx = STAT_TCP;
      break;
    }
    case IPPROTO_UDP: {
      struct udphdr* uh = l4;
      if ((void*)(uh + 1) > data_end) goto malformed;
      l4_idx = STAT_UDP;
      break;
    }
    case IPPROTO_ICMP: {
      struct icmp_hdr* ih = l4;
      if ((void*)(ih + 1) > data_end || l3_idx != STAT_IPV4) goto malformed;
      l4_idx = STAT_ICMP;
      break;
    }
    case IPPROTO_ICMPV6: {
      struct icmp6hdr* ih6 = l4;
      if ((void*)(ih6 + 1) > data_end || l3_idx != STAT_IPV6) goto malformed;
      l4_idx = STAT_ICMPV6;
      break;
    }
    default:
      l4_idx = STAT_L4_OTHER;
      break;
  }
  count(l3_idx, bytes);
  count(l4_idx, bytes);
  if (tagged) count(STAT_VLAN, bytes);
  return XDP_PASS;

malformed:
  count(STAT_MALFORMED, bytes);
  return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
