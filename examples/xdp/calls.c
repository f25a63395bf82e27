// SPDX-License-Identifier: GPL-2.0
//
// calls.c: a traffic classifier built from BPF-to-BPF calls.
//
// The XDP entry calls four static, non-inlined functions, which the compiler
// keeps as separate BPF subprograms (call insns with BPF_PSEUDO_CALL):
//   parse_eth(cursor, data_end, info)  Ethernet (one optional 802.1Q tag)
//   parse_ip(cursor, data_end, info)   IPv4 / IPv6 header and TCP/UDP ports
//   classify(info)                     packet class (enum pkt_class)
//   update_stats(cls, info)            counts the class, returns its verdict
// The cursor (struct hdr_cursor, holding a packet pointer) and the parsed
// fields (struct pkt_info) live on the entry's stack and are passed by pointer,
// so the callees read and write the caller's frame and move packet pointers
// across calls.  No global (non-static) functions are used.
//
// Classes: WEB (TCP 80, 443, 8080), SSH (TCP 22), DNS (UDP or TCP 53), ICMP
// (ICMP or ICMPv6), TCP_OTHER, UDP_OTHER, IP_OTHER (other IP protocols and
// non-first IPv4 fragments), NON_IP, MALFORMED (truncated or bad headers).
//
// Maps:
//   class_policy  ARRAY[CLS_MAX] u32 class -> u32 action (0 = pass, 1 = drop)
//   class_stats   PERCPU_ARRAY[CLS_MAX] u32 class -> struct class_counter {u64 packets, bytes}
//
// Verdicts: XDP_DROP for MALFORMED and for classes whose action is 1,
// XDP_PASS otherwise.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define IP_OFFSET 0x1fff

enum pkt_class {
  CLS_NON_IP = 0,
  CLS_WEB = 1,
  CLS_SSH = 2,
  CLS_DNS = 3,
  CLS_ICMP = 4,
  CLS_TCP_OTHER = 5,
  CLS_UDP_OTHER = 6,
  CLS_IP_OTHER = 7,
  CLS_MALFORMED = 8,
  CLS_MAX = 9,
};

enum class_action {
  ACT_PASS = 0,
  ACT_DROP = 1,
};

struct hdr_cursor {
  void* pos;
};

struct pkt_info {
  __u32 len;       // frame length
  __be16 l3_proto; // EtherType after the VLAN tag, if any
  __u8 l4_proto;   // IPPROTO_*; 0 when unknown
  __u8 has_ports;  // sport/dport are valid
  __be16 sport;
  __be16 dport;
};

struct vlan_hdr {
  __be16 tci;
  __be16 encap_proto;
};

struct class_counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, CLS_MAX);
  __type(key, __u32);
  __type(value, __u32);
} class_policy SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, CLS_MAX);
  __type(key, __u32);
  __type(value, struct class_counter);
} class_stats SEC(".maps");

// Returns 0 and advances the cursor past the L2 header, or -1 if truncated.
static __attribute__((noinline)) int parse_eth(struct hdr_cursor* c, void* data_end,
                                               struct pkt_info* info) {
  struct ethhdr* eth = c->pos;
  if ((void*)(eth + 1) > data_end) return -1;
  info->l3_proto = eth->h_proto;
  c->pos = eth + 1;
  if (info->l3_proto == bpf_htons(ETH_P_8021Q)) {
    struct vlan_hdr* vh = c->pos;
    if ((void*)(vh + 1) > data_end) return -1;
    info->l3_proto = vh->encap_proto;
    c->pos = vh + 1;
  }
  return 0;
}

// Returns 0 and fills l4_proto (and the ports), or -1 if malformed.
static __attribute__((noinline)) int parse_ip(struct hdr_cursor* c, void* data_end,
                                              struct pkt_info* info) {
  int first_fragment = 1;

  if (info->l3_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = c->pos;
    if ((void*)(iph + 1) > data_end) return -1;
    if (iph->version != 4 || iph->ihl < 5) return -1;
    info->l4_proto = iph->protocol;
    first_fragment = !(iph->frag_off & bpf_htons(IP_OFFSET));
    c->pos = (void*)iph + iph->ihl * 4;
  } else if (info->l3_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6h = c->pos;
    if ((void*)(ip6h + 1) > data_end) return -1;
    if (ip6h->version != 6) return -1;
    info->l4_proto = ip6h->nexthdr;
    c->pos = ip6h + 1;
  } else {
    return 0;
  }

  if (!first_fragment) {
    info->l4_proto = 0;
    return 0;
  }
  if (info->l4_proto == IPPROTO_TCP) {
    struct tcphdr* th = c->pos;
    if ((void*)(th + 1) > data_end) return -1;
    info->sport = th->source;
    info->dport = th->dest;
    info->has_ports = 1;
  } else if (info->l4_proto == IPPROTO_UDP) {
    struct udphdr* uh = c->pos;
    if ((void*)(uh + 1) > data_end) return -1;
    info->sport = uh->source;
    info->dport = uh->dest;
    info->has_ports = 1;
  }
  return 0;
}

static __attribute__((noinline)) __u32 classify(const struct pkt_info* info) {
  if (info->l3_proto != bpf_htons(ETH_P_IP) && info->l3_proto != bpf_htons(ETH_P_IPV6))
    return CLS_NON_IP;

  __u16 dport = bpf_ntohs(info->dport);
  switch (info->l4_proto) {
    case IPPROTO_TCP:
      if (dport == 80 || dport == 443 || dport == 8080) return CLS_WEB;
      if (dport == 22) return CLS_SSH;
      if (dport == 53) return CLS_DNS;
      return CLS_TCP_OTHER;
    case IPPROTO_UDP:
      if (dport == 53) return CLS_DNS;
      return CLS_UDP_OTHER;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return CLS_ICMP;
    default:
      return CLS_IP_OTHER;
  }
}

static __attribute__((noinline)) int update_stats(__u32 cls, const struct pkt_info* info) {
  struct class_counter* c = bpf_map_lookup_elem(&class_stats, &cls);
  if (c) {
    c->packets += 1;
    c->bytes += info->len;
  }
  if (cls == CLS_MALFORMED) return XDP_DROP;
  __u32* action = bpf_map_lookup_elem(&class_policy, &cls);
  if (action && *action == ACT_DROP) return XDP_DROP;
  return XDP_PASS;
}

SEC("xdp")
int xdp_calls(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct hdr_cursor cursor = {.pos = data};
  struct pkt_info info = {};
  __u32 cls;

  info.len = data_end - data;
  if (parse_eth(&cursor, data_end, &info) < 0 || parse_ip(&cursor, data_end, &info) < 0)
    cls = CLS_MALFORMED;
  else
    cls = classify(&info);
  return update_stats(cls, &info);
}

char _license[] SEC("license") = "GPL";
