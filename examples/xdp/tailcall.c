// SPDX-License-Identifier: GPL-2.0
//
// tailcall.c: per-protocol programs behind a PROG_ARRAY dispatcher.
//
// xdp_dispatch is the entry program.  It parses Ethernet (untagged) and the
// IP header, leaves what it found in a per-CPU scratch slot (struct meta: L4
// offset, protocol, frame length) and bpf_tail_call()s into jmp_table by
// protocol:
//   slot 0  IPv4 TCP   -> xdp_tcp: drops telnet (dport 23), passes the rest
//   slot 1  IPv4 UDP   -> xdp_udp: passes
//   slot 2  IPv4 ICMP  -> xdp_icmp: drops redirects (type 5), passes the rest
//   slot 3  IPv6       (left empty by tailcall.maps.json)
//   slot 4  other IPv4 protocols, IPv4 non-first fragments (left empty)
// When the slot is empty the tail call returns and the dispatcher counts a
// fall-through for that slot and passes the packet.  Non-IP frames are passed
// without a tail call; truncated or bad IP headers are dropped.  The tail-call
// targets re-check everything they take from the scratch slot, as the verifier
// knows nothing about a map value.
//
// Maps:
//   jmp_table  PROG_ARRAY[MAX_SLOTS] u32 slot -> program
//   scratch    PERCPU_ARRAY[1] -> struct meta {u32 l4_off, u32 len, u8 l4_proto, u8 slot, u16 pad}
//   tc_stats   ARRAY[TS_MAX] u32 (enum tc_stat) -> struct tc_counter {u64 packets, bytes}, atomic
//   fallthru   ARRAY[MAX_SLOTS] u32 slot -> u64 packets that found the slot empty, atomic
//
// Verdicts: XDP_PASS, XDP_DROP as above; XDP_ABORTED when a per-protocol
// program runs without a matching scratch slot (e.g. run on its own, not
// through the dispatcher).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_SLOTS 8
#define MAX_L4_OFF 128  // Ethernet + the longest IPv4 header fits well below
#define IP_OFFSET 0x1fff
#define ICMP_REDIRECT 5

enum slot {
  SLOT_TCP = 0,
  SLOT_UDP = 1,
  SLOT_ICMP = 2,
  SLOT_IPV6 = 3,
  SLOT_IPV4_OTHER = 4,
};

enum tc_stat {
  TS_NON_IP = 0,
  TS_MALFORMED = 1,
  TS_TCP_PASS = 2,
  TS_TCP_DROP = 3,
  TS_UDP_PASS = 4,
  TS_ICMP_PASS = 5,
  TS_ICMP_DROP = 6,
  TS_FALLTHROUGH = 7,
  TS_MAX = 8,
};

struct meta {
  __u32 l4_off;  // from the start of the frame
  __u32 len;     // frame length
  __u8 l4_proto;
  __u8 slot;
  __u16 pad;
};

struct tc_counter {
  __u64 packets;
  __u64 bytes;
};

// <linux/icmp.h> pulls in glibc's <sys/socket.h> (via <linux/if.h>), which
// does not compile for -target bpf without 32-bit glibc headers.
struct icmp_hdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(max_entries, MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u32);
} jmp_table SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct meta);
} scratch SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, TS_MAX);
  __type(key, __u32);
  __type(value, struct tc_counter);
} tc_stats SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_SLOTS);
  __type(key, __u32);
  __type(value, __u64);
} fallthru SEC(".maps");

static __always_inline int account(__u32 stat, __u64 bytes, int verdict) {
  struct tc_counter* c = bpf_map_lookup_elem(&tc_stats, &stat);
  if (c) {
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, bytes);
  }
  return verdict;
}

// The scratch slot left by xdp_dispatch, or NULL.
static __always_inline struct meta* get_meta(void) {
  __u32 zero = 0;
  return bpf_map_lookup_elem(&scratch, &zero);
}

SEC("xdp")
int xdp_dispatch(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;
  __u32 slot;
  __u8 l4_proto;
  __u32 l4_off;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return account(TS_MALFORMED, bytes, XDP_DROP);

  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* iph = (void*)(eth + 1);
    if ((void*)(iph + 1) > data_end) return account(TS_MALFORMED, bytes, XDP_DROP);
    if (iph->version != 4 || iph->ihl < 5) return account(TS_MALFORMED, bytes, XDP_DROP);
    l4_proto = iph->protocol;
    l4_off = sizeof(*eth) + iph->ihl * 4;
    if (iph->frag_off & bpf_htons(IP_OFFSET))
      slot = SLOT_IPV4_OTHER;
    else if (l4_proto == IPPROTO_TCP)
      slot = SLOT_TCP;
    else if (l4_proto == IPPROTO_UDP)
      slot = SLOT_UDP;
    else if (l4_proto == IPPROTO_ICMP)
      slot = SLOT_ICMP;
    else
      slot = SLOT_IPV4_OTHER;
  } else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6h = (void*)(eth + 1);
    if ((void*)(ip6h + 1) > data_end) return account(TS_MALFORMED, bytes, XDP_DROP);
    l4_proto = ip6h->nexthdr;
    l4_off = sizeof(*eth) + sizeof(*ip6h);
    slot = SLOT_IPV6;
  } else {
    return account(TS_NON_IP, bytes, XDP_PASS);
  }

  struct meta* m = get_meta();
  if (!m) return XDP_ABORTED;
  m->l4_off = l4_off;
  m->len = bytes;
  m->l4_proto = l4_proto;
  m->slot = slot;
  m->pad = 0;

  bpf_tail_call(ctx, &jmp_table, slot);

  // Only reached when jmp_table[slot] is empty.
  __u64* ft = bpf_map_lookup_elem(&fallthru, &slot);
  if (ft) __sync_fetch_and_add(ft, 1);
  return account(TS_FALLTHROUGH, bytes, XDP_PASS);
}

SEC("xdp")
int xdp_tcp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct meta* m = get_meta();
  if (!m || m->l4_proto != IPPROTO_TCP) return XDP_ABORTED;
  __u32 off = m->l4_off;
  if (off > MAX_L4_OFF) return XDP_ABORTED;

  struct tcphdr* th = data + off;
  if ((void*)(th + 1) > data_end) return account(TS_MALFORMED, m->len, XDP_DROP);
  if (th->dest == bpf_htons(23)) return account(TS_TCP_DROP, m->len, XDP_DROP);
  return account(TS_TCP_PASS, m->len, XDP_PASS);
}

SEC("xdp")
int xdp_udp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct meta* m = get_meta();
  if (!m || m->l4_proto != IPPROTO_UDP) return XDP_ABORTED;
  __u32 off = m->l4_off;
  if (off > MAX_L4_OFF) return XDP_ABORTED;

  struct udphdr* uh = data + off;
  if ((void*)(uh + 1) > data_end) return account(TS_MALFORMED, m->len, XDP_DROP);
  return account(TS_UDP_PASS, m->len, XDP_PASS);
}

SEC("xdp")
int xdp_icmp(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  struct meta* m = get_meta();
  if (!m || m->l4_proto != IPPROTO_ICMP) return XDP_ABORTED;
  __u32 off = m->l4_off;
  if (off > MAX_L4_OFF) return XDP_ABORTED;

  struct icmp_hdr* ih = data + off;
  if ((void*)(ih + 1) > data_end) return account(TS_MALFORMED, m->len, XDP_DROP);
  if (ih->type == ICMP_REDIRECT) return account(TS_ICMP_DROP, m->len, XDP_DROP);
  return account(TS_ICMP_PASS, m->len, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
