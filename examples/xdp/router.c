// SPDX-License-Identifier: GPL-2.0
//
// router.c: an IPv4 forwarding fast path.
//
// Untagged IPv4 packets are looked up by destination address in a
// longest-prefix-match route table that yields a next-hop index.  Forwarded
// packets get their TTL decremented with an incremental header checksum update
// (RFC 1624, eqn. 3: HC' = ~(~HC + ~m + m')) and their MACs rewritten from the
// next hop.  A next hop on the interface the packet came in on is served with
// XDP_TX; any other goes through bpf_redirect_map() on tx_ports keyed by the
// next hop's ifindex, with XDP_TX as the fallback verdict when that DEVMAP
// slot is empty.  Under BPF_PROG_TEST_RUN the ingress interface is the
// loopback device (ifindex 1).
//
// What goes to the host stack instead (XDP_PASS): non-IPv4 frames, truncated
// or bad IPv4 headers (version != 4 or IHL < 5), TTL <= 1 (so that the stack
// sends ICMP time exceeded), no route, and routes to NH_LOCAL (addresses of
// this host).  A route whose next-hop index is outside the next-hop table is
// a control-plane bug: those packets are dropped.
//
// Maps:
//   routes     LPM_TRIE (BPF_F_NO_PREALLOC) struct route_key {u32 prefixlen, __be32 addr}
//              -> u32 next-hop index (NH_LOCAL = 0xffffffff: deliver locally)
//   nexthops   ARRAY[MAX_NEXTHOPS] u32 -> struct nexthop {u8 dmac[6], u8 smac[6], u32 ifindex}
//   tx_ports   DEVMAP[64] u32 ifindex slot -> u32 ifindex of the egress device
//   rt_stats   PERCPU_ARRAY[RT_MAX] u32 outcome (enum rt_outcome) -> {u64 packets, bytes}
//
// Verdicts: XDP_TX, XDP_REDIRECT, XDP_PASS, XDP_DROP as described above.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_ROUTES 1024
#define MAX_NEXTHOPS 64
#define MAX_PORTS 64
#define NH_LOCAL 0xffffffffu

enum rt_outcome {
  RT_NOT_IPV4 = 0,     // pass
  RT_MALFORMED = 1,    // pass
  RT_TTL_EXCEEDED = 2, // pass
  RT_NO_ROUTE = 3,     // pass
  RT_LOCAL = 4,        // pass
  RT_BAD_NEXTHOP = 5,  // drop
  RT_TX = 6,           // next hop on the ingress interface
  RT_REDIRECT = 7,     // DEVMAP slot present
  RT_TX_FALLBACK = 8,  // DEVMAP slot missing
  RT_MAX = 9,
};

struct route_key {
  __u32 prefixlen;
  __be32 addr;
};

struct nexthop {
  __u8 dmac[ETH_ALEN];
  __u8 smac[ETH_ALEN];
  __u32 ifindex;
};

struct rt_counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_LPM_TRIE);
  __uint(max_entries, MAX_ROUTES);
  __uint(map_flags, BPF_F_NO_PREALLOC);
  __type(key, struct route_key);
  __type(value, __u32);
} routes SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_NEXTHOPS);
  __type(key, __u32);
  __type(value, struct nexthop);
} nexthops SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __uint(max_entries, MAX_PORTS);
  __type(key, __u32);
  __type(value, __u32);
} tx_ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, RT_MAX);
  __type(key, __u32);
  __type(value, struct rt_counter);
} rt_stats SEC(".maps");

static __always_inline int account(__u32 outcome, __u64 bytes, int verdict) {
  struct rt_counter* c = bpf_map_lookup_elem(&rt_stats, &outcome);
  if (c) {
    c->packets += 1;
    c->bytes += bytes;
  }
  return verdict;
}

// RFC 1624 eqn. 3 for one 16-bit word of a one's complement checksummed
// header.  All three values are raw network-order words: the one's complement
// sum does not depend on the byte order it is computed in.
static __always_inline void csum_replace2(__sum16* sum, __be16 old, __be16 new) {
  __u32 s = (__u16)~*sum;
  s += (__u16)~old;
  s += new;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  *sum = (__u16)~s;
}

SEC("xdp")
int xdp_router(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return account(RT_MALFORMED, bytes, XDP_PASS);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return account(RT_NOT_IPV4, bytes, XDP_PASS);

  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > data_end) return account(RT_MALFORMED, bytes, XDP_PASS);
  if (iph->version != 4 || iph->ihl < 5) return account(RT_MALFORMED, bytes, XDP_PASS);

  struct route_key key = {.prefixlen = 32, .addr = iph->daddr};
  __u32* nh_idx = bpf_map_lookup_elem(&routes, &key);
  if (!nh_idx) return account(RT_NO_ROUTE, bytes, XDP_PASS);
  if (*nh_idx == NH_LOCAL) return account(RT_LOCAL, bytes, XDP_PASS);
  if (iph->ttl <= 1) return account(RT_TTL_EXCEEDED, bytes, XDP_PASS);

  struct nexthop* nh = bpf_map_lookup_elem(&nexthops, nh_idx);
  if (!nh) return account(RT_BAD_NEXTHOP, bytes, XDP_DROP);

  __be16 old_word, new_word;
  __builtin_memcpy(&old_word, &iph->ttl, sizeof(old_word));  // ttl and protocol
  iph->ttl -= 1;
  __builtin_memcpy(&new_word, &iph->ttl, sizeof(new_word));
  csum_replace2(&iph->check, old_word, new_word);

  __builtin_memcpy(eth->h_dest, nh->dmac, ETH_ALEN);
  __builtin_memcpy(eth->h_source, nh->smac, ETH_ALEN);

  if (nh->ifindex == ctx->ingress_ifindex) return account(RT_TX, bytes, XDP_TX);

  int verdict = bpf_redirect_map(&tx_ports, nh->ifindex, XDP_TX);
  return account(verdict == XDP_REDIRECT ? RT_REDIRECT : RT_TX_FALLBACK, bytes, verdict);
}

char _license[] SEC("license") = "GPL";
