// SPDX-License-Identifier: GPL-2.0
//
// loops.c: header walks with bounded loops.
//
// Three loops with constant trip bounds, kept as real loops in the bytecode
// (unrolling disabled) so that the verifier has to explore them:
//   1. IPv4 header checksum: sums the header's 16-bit words (at most 30, the
//      IHL = 15 maximum) and checks that the one's complement sum is 0xffff.
//   2. IPv4 options: walks the options (at most 40, one byte each at least):
//      EOL ends the list, NOP is one byte, anything else is {type, len, ...}
//      with 2 <= len and the option inside the header; each option is
//      counted by its number (type & 0x1f).
//   3. IPv6 extension headers: follows up to MAX_EXT_HDRS headers (hop-by-hop,
//      routing, destination options, fragment, AH) to the upper-layer
//      protocol; a non-first fragment stops the walk with protocol
//      IPPROTO_FRAGMENT, as its payload has no L4 header.
// The upper-layer protocol of each good IPv4/IPv6 packet is counted, and for
// IPv6 also the number of extension headers walked.
//
// Maps (all ARRAY of u64 counters, updated atomically):
//   l4_proto    [256]             upper-layer protocol number -> packets
//   ext_depth   [MAX_EXT_HDRS+1]  IPv6 extension headers walked -> packets
//   ipv4_opts   [32]              IPv4 option number (type & 0x1f) -> occurrences
//   loop_stats  [LS_MAX]          enum loop_stat -> packets
//
// Verdicts: XDP_DROP for a bad IPv4 checksum, malformed IPv4 options, more
// than MAX_EXT_HDRS IPv6 extension headers, or truncated/inconsistent headers;
// XDP_PASS for everything else (including non-IP frames).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_EXT_HDRS 8
#define MAX_IPV4_HDR_WORDS 30  // 60 bytes
#define MAX_IPV4_OPTS 40       // 40 bytes of options, one byte at least each

#define IPOPT_NUMBER_MASK 0x1f

#define IPV6_FRAG_OFFSET_MASK 0xfff8

enum loop_stat {
  LS_NOT_IP = 0,
  LS_IPV4 = 1,
  LS_IPV6 = 2,
  LS_CSUM_BAD = 3,
  LS_BAD_OPTIONS = 4,
  LS_TOO_MANY_EXT = 5,
  LS_MALFORMED = 6,
  LS_MAX = 7,
};

// The IPv6 fragment header (RFC 8200 4.5); the kernel's struct frag_hdr is not uapi.
struct ipv6_frag_hdr {
  __u8 nexthdr;
  __u8 reserved;
  __be16 frag_off;
  __be32 identification;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 256);
  __type(key, __u32);
  __type(value, __u64);
} l4_proto SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_EXT_HDRS + 1);
  __type(key, __u32);
  __type(value, __u64);
} ext_depth SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 32);
  __type(key, __u32);
  __type(value, __u64);
} ipv4_opts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, LS_MAX);
  __type(key, __u32);
  __type(value, __u64);
} loop_stats SEC(".maps");

static __always_inline void bump(void* map, __u32 key) {
  __u64* c = bpf_map_lookup_elem(map, &key);
  if (c) __sync_fetch_and_add(c, 1);
}

static __always_inline int fail(__u32 stat) {
  bump(&loop_stats, stat);
  return XDP_DROP;
}

static __always_inline int handle_ipv4(struct iphdr* iph, void* data_end) {
  if ((void*)(iph + 1) > data_end) return fail(LS_MALFORMED);
  if (iph->version != 4 || iph->ihl < 5) return fail(LS_MALFORMED);
  __u32 hdr_len = iph->ihl * 4;
  if ((void*)iph + hdr_len > data_end) return fail(LS_MALFORMED);

  // 1. Header checksum.
  __u32 sum = 0;
#pragma clang loop unroll(disable)
  for (__u32 i = 0; i < MAX_IPV4_HDR_WORDS; i++) {
    if (i * 2 >= hdr_len) break;
    __u16* word = (void*)iph + i * 2;
    if ((void*)(word + 1) > data_end) return fail(LS_MALFORMED);
    sum += *word;
  }
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  if (sum != 0xffff) return fail(LS_CSUM_BAD);

  // 2. Options.
  __u32 off = sizeof(struct iphdr);
#pragma clang loop unroll(disable)
  for (int i = 0; i < MAX_IPV4_OPTS; i++) {
    if (off >= hdr_len) break;
    __u8* opt = (void*)iph + off;
    if ((void*)(opt + 1) > data_end) return fail(LS_MALFORMED);
    __u8 type = opt[0];
    if (type == IPOPT_END) break;
    bump(&ipv4_opts, type & IPOPT_NUMBER_MASK);
    if (type == IPOPT_NOOP) {
      off += 1;
      continue;
    }
    if ((void*)(opt + 2) > data_end) return fail(LS_MALFORMED);
    __u8 len = opt[1];
    if (len < 2 || off + len > hdr_len) return fail(LS_BAD_OPTIONS);
    off += len;
  }

  bump(&loop_stats, LS_IPV4);
  bump(&l4_proto, iph->protocol);
  return XDP_PASS;
}

static __always_inline int handle_ipv6(struct ipv6hdr* ip6h, void* data_end) {
  if ((void*)(ip6h + 1) > data_end) return fail(LS_MALFORMED);
  if (ip6h->version != 6) return fail(LS_MALFORMED);

  // 3. Extension headers.
  __u8 nexthdr = ip6h->nexthdr;
  void* cursor = ip6h + 1;
  __u32 depth = 0;
#pragma clang loop unroll(disable)
  for (int i = 0; i < MAX_EXT_HDRS; i++) {
    if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS) {
      struct ipv6_opt_hdr* h = cursor;
      if ((void*)(h + 1) > data_end) return fail(LS_MALFORMED);
      nexthdr = h->nexthdr;
      cursor += (h->hdrlen + 1) * 8;
    } else if (nexthdr == IPPROTO_AH) {
      struct ipv6_opt_hdr* h = cursor;
      if ((void*)(h + 1) > data_end) return fail(LS_MALFORMED);
      nexthdr = h->nexthdr;
      cursor += (h->hdrlen + 2) * 4;
    } else if (nexthdr == IPPROTO_FRAGMENT) {
      struct ipv6_frag_hdr* fh = cursor;
      if ((void*)(fh + 1) > data_end) return fail(LS_MALFORMED);
      depth++;
      if (fh->frag_off & bpf_htons(IPV6_FRAG_OFFSET_MASK)) goto done;  // not the first fragment
      nexthdr = fh->nexthdr;
      cursor = fh + 1;
      continue;
    } else {
      goto done;
    }
    depth++;
  }
  if (nexthdr == IPPROTO_HOPOPTS || nexthdr == IPPROTO_ROUTING || nexthdr == IPPROTO_DSTOPTS ||
      nexthdr == IPPROTO_AH || nexthdr == IPPROTO_FRAGMENT)
    return fail(LS_TOO_MANY_EXT);

done:
  bump(&loop_stats, LS_IPV6);
  bump(&ext_depth, depth);
  bump(&l4_proto, nexthdr);
  return XDP_PASS;
}

SEC("xdp")
int xdp_loops(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return fail(LS_MALFORMED);

  if (eth->h_proto == bpf_htons(ETH_P_IP)) return handle_ipv4((void*)(eth + 1), data_end);
  if (eth->h_proto == bpf_htons(ETH_P_IPV6)) return handle_ipv6((void*)(eth + 1), data_end);
  bump(&loop_stats, LS_NOT_IP);
  return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
