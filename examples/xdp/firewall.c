// SPDX-License-Identifier: GPL-2.0
//
// firewall.c: an IPv4 blocklist firewall with per-rule counters.
//
// For every IPv4 packet (untagged Ethernet only) the firewall checks, in order:
//   1. src_block[saddr]                      -- a blocked source address;
//   2. rules[{saddr, daddr, dport, proto}]   -- an exact flow rule;
//   3. rules[{0, daddr, dport, proto}]       -- the same rule for any source.
// dport is the TCP/UDP destination port; it is 0 for ICMP and for every other
// protocol, and for non-first fragments.  The first match drops the packet and
// adds the packet and its frame length to that entry's counters with atomic
// adds (__sync_fetch_and_add), as concurrent CPUs share one entry.
//
// Maps:
//   src_block   HASH   __be32 saddr         -> struct rule_stats {u64 packets, bytes}
//   rules       HASH   struct rule_key (12B) -> struct rule_stats
//               rule_key = {__be32 saddr, __be32 daddr, __be16 dport, u8 proto, u8 pad=0}
//   verdict_cnt ARRAY[5] u32 verdict (XDP_ABORTED..XDP_REDIRECT) -> struct rule_stats
//
// Verdicts: XDP_DROP on a match, XDP_PASS for everything else (non-IPv4,
// truncated headers, no matching rule).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct rule_key {
  __be32 saddr;  // 0 = any source
  __be32 daddr;
  __be16 dport;  // 0 for protocols without ports
  __u8 proto;
  __u8 pad;
};

struct rule_stats {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, __be32);
  __type(value, struct rule_stats);
} src_block SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 1024);
  __type(key, struct rule_key);
  __type(value, struct rule_stats);
} rules SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, XDP_REDIRECT + 1);
  __type(key, __u32);
  __type(value, struct rule_stats);
} verdict_cnt SEC(".maps");

#define IP_OFFSET 0x1fff

static __always_inline void hit(struct rule_stats* s, __u64 bytes) {
  __sync_fetch_and_add(&s->packets, 1);
  __sync_fetch_and_add(&s->bytes, bytes);
}

static __always_inline int finish(__u32 verdict, __u64 bytes) {
  struct rule_stats* s = bpf_map_lookup_elem(&verdict_cnt, &verdict);
  if (s) hit(s, bytes);
  return verdict;
}

SEC("xdp")
int xdp_firewall(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;
  struct rule_stats* s;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return finish(XDP_PASS, bytes);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return finish(XDP_PASS, bytes);

  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > data_end) return finish(XDP_PASS, bytes);
  if (iph->ihl < 5) return finish(XDP_PASS, bytes);

  __be32 saddr = iph->saddr;
  s = bpf_map_lookup_elem(&src_block, &saddr);
  if (s) {
    hit(s, bytes);
    return finish(XDP_DROP, bytes);
  }

  struct rule_key key;
  key.saddr = saddr;
  key.daddr = iph->daddr;
  key.dport = 0;
  key.proto = iph->protocol;
  key.pad = 0;

  // Only the first fragment carries the L4 header.
  if (!(iph->frag_off & bpf_htons(IP_OFFSET))) {
    void* l4 = (void*)iph + iph->ihl * 4;
    if (key.proto == IPPROTO_TCP) {
      struct tcphdr* th = l4;
      if ((void*)(th + 1) > data_end) return finish(XDP_PASS, bytes);
      key.dport = th->dest;
    } else if (key.proto == IPPROTO_UDP) {
      struct udphdr* uh = l4;
      if ((void*)(uh + 1) > data_end) return finish(XDP_PASS, bytes);
      key.dport = uh->dest;
    }
  }

  s = bpf_map_lookup_elem(&rules, &key);
  if (!s) {
    key.saddr = 0;
    s = bpf_map_lookup_elem(&rules, &key);
  }
  if (s) {
    hit(s, bytes);
    return finish(XDP_DROP, bytes);
  }
  return finish(XDP_PASS, bytes);
}

char _license[] SEC("license") = "GPL";
