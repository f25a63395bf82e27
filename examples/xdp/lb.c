// SPDX-License-Identifier: GPL-2.0
//
// lb.c: an L4 load balancer in the style of Katran, reduced to its data path.
//
// An untagged IPv4 TCP or UDP packet whose {daddr, dport, proto} is a VIP is
// sent to one of the VIP's backends, chosen by hashing the flow into the VIP's
// slice of a consistent-hashing ring: the ring holds RING_SIZE backend indexes
// per VIP (filled by the control plane, e.g. with Maglev), so a flow keeps its
// backend as long as its ring slot does.  The packet is encapsulated IP-in-IP:
// bpf_xdp_adjust_head() grows the head by one IPv4 header, a new Ethernet
// header and an outer IPv4 header (lb_cfg source address -> backend address,
// protocol IPPROTO_IPIP, checksum from bpf_csum_diff()) are written in front of
// the original IPv4 header, the destination MAC becomes the backend's next-hop
// MAC and the source MAC the original destination MAC (our own), and the
// packet goes back out with XDP_TX.
//
// VIP lookup: {daddr, dport, proto} first, then {daddr, 0, proto} (a VIP for
// all ports).  A VIP with VIP_F_HASH_SRC_ONLY hashes only the addresses, so
// all of a client's connections land on one backend.  The flow hash is the
// final mix of Bob Jenkins' lookup3 over (saddr, daddr, ports ^ proto),
// computed on the raw (network order) header words.
//
// Maps:
//   vips      HASH   struct vip_key {__be32 addr, __be16 port, u8 proto, u8 pad=0}
//                    -> struct vip_meta {u32 vip_num, u32 flags}
//   ring      ARRAY[MAX_VIPS*RING_SIZE] u32 (vip_num*RING_SIZE + slot) -> u32 backend index
//   backends  ARRAY[MAX_BACKENDS] u32 -> struct backend {__be32 addr, u8 mac[6], u16 pad}
//             (addr 0 = no backend)
//   lb_cfg    ARRAY[1] -> struct lb_cfg {__be32 src_addr, u8 ttl, u8 pad[3]}
//             (src_addr 0 = not configured; ttl 0 means 64)
//   lb_stats  PERCPU_ARRAY[MAX_VIPS+1] u32 -> struct lb_counter {u64 packets, bytes}:
//             per VIP the packets sent and their original frame bytes; the last
//             slot (LB_STATS_DROPPED) counts packets dropped for lack of a backend.
//
// Verdicts: XDP_TX for encapsulated VIP traffic; XDP_DROP for VIP traffic with
// no usable backend or when adjust_head fails; XDP_PASS for everything else
// (non-IPv4, fragments, IPv4 options, not a VIP, LB not configured).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_VIPS 16
#define RING_SIZE 64  // a power of two
#define MAX_BACKENDS 64
#define LB_STATS_DROPPED MAX_VIPS

#define VIP_F_HASH_SRC_ONLY 1

#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

struct vip_key {
  __be32 addr;
  __be16 port;  // 0 = all ports
  __u8 proto;
  __u8 pad;
};

struct vip_meta {
  __u32 vip_num;
  __u32 flags;
};

struct backend {
  __be32 addr;
  __u8 mac[ETH_ALEN];
  __u16 pad;
};

struct lb_cfg {
  __be32 src_addr;
  __u8 ttl;
  __u8 pad[3];
};

struct lb_counter {
  __u64 packets;
  __u64 bytes;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, MAX_VIPS);
  __type(key, struct vip_key);
  __type(value, struct vip_meta);
} vips SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_VIPS * RING_SIZE);
  __type(key, __u32);
  __type(value, __u32);
} ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, MAX_BACKENDS);
  __type(key, __u32);
  __type(value, struct backend);
} backends SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct lb_cfg);
} lb_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, MAX_VIPS + 1);
  __type(key, __u32);
  __type(value, struct lb_counter);
} lb_stats SEC(".maps");

static __always_inline __u32 rol32(__u32 word, unsigned int shift) {
  return (word << shift) | (word >> (32 - shift));
}

// lookup3's final(): mixes three words so that every input bit affects c.
static __always_inline __u32 flow_hash(__u32 a, __u32 b, __u32 c) {
  const __u32 init = 0xdeadbeef + (3 << 2);
  a += init;
  b += init;
  c += init;
  c ^= b; c -= rol32(b, 14);
  a ^= c; a -= rol32(c, 11);
  b ^= a; b -= rol32(a, 25);
  c ^= b; c -= rol32(b, 16);
  a ^= c; a -= rol32(c, 4);
  b ^= a; b -= rol32(a, 14);
  c ^= b; c -= rol32(b, 24);
  return c;
}

static __always_inline void count(__u32 idx, __u64 bytes) {
  struct lb_counter* c = bpf_map_lookup_elem(&lb_stats, &idx);
  if (c) {
    c->packets += 1;
    c->bytes += bytes;
  }
}

static __always_inline int drop(__u64 bytes) {
  count(LB_STATS_DROPPED, bytes);
  return XDP_DROP;
}

SEC("xdp")
int xdp_lb(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;
  __u32 zero = 0;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return XDP_PASS;
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return XDP_PASS;

  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > data_end) return XDP_PASS;
  // Katran leaves IP options and fragments to the host stack as well.
  if (iph->ihl != 5 || (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET))) return XDP_PASS;

  struct vip_key vk;
  vk.addr = iph->daddr;
  vk.proto = iph->protocol;
  vk.pad = 0;
  __be16 sport, dport;
  if (vk.proto == IPPROTO_TCP) {
    struct tcphdr* th = (void*)(iph + 1);
    if ((void*)(th + 1) > data_end) return XDP_PASS;
    sport = th->source;
    dport = th->dest;
  } else if (vk.proto == IPPROTO_UDP) {
    struct udphdr* uh = (void*)(iph + 1);
    if ((void*)(uh + 1) > data_end) return XDP_PASS;
    sport = uh->source;
    dport = uh->dest;
  } else {
    return XDP_PASS;
  }

  vk.port = dport;
  struct vip_meta* vip = bpf_map_lookup_elem(&vips, &vk);
  if (!vip) {
    vk.port = 0;
    vip = bpf_map_lookup_elem(&vips, &vk);
    if (!vip) return XDP_PASS;
  }
  struct lb_cfg* cfg = bpf_map_lookup_elem(&lb_cfg, &zero);
  if (!cfg || cfg->src_addr == 0) return XDP_PASS;

  __u32 ports = ((__u32)sport << 16) | dport;
  if (vip->flags & VIP_F_HASH_SRC_ONLY) ports = 0;
  __u32 hash = flow_hash(iph->saddr, iph->daddr, ports ^ vk.proto);
  __u32 vip_num = vip->vip_num;
  __u32 slot = vip_num * RING_SIZE + (hash & (RING_SIZE - 1));
  __u32* be_idx = bpf_map_lookup_elem(&ring, &slot);
  if (!be_idx) return drop(bytes);
  struct backend* be = bpf_map_lookup_elem(&backends, be_idx);
  if (!be || be->addr == 0) return drop(bytes);

  // Everything the new headers need from the old ones, read before the
  // adjust_head invalidates the packet pointers.
  __u8 our_mac[ETH_ALEN];
  __builtin_memcpy(our_mac, eth->h_dest, ETH_ALEN);
  __u8 tos = iph->tos;
  __u16 inner_len = bpf_ntohs(iph->tot_len);
  __be32 src_addr = cfg->src_addr;
  __u8 ttl = cfg->ttl ? cfg->ttl : 64;

  if (bpf_xdp_adjust_head(ctx, 0 - (int)sizeof(struct iphdr))) return drop(bytes);

  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  struct ethhdr* neth = data;
  struct iphdr* outer = (void*)(neth + 1);
  if ((void*)(outer + 1) > data_end) return drop(bytes);

  __builtin_memcpy(neth->h_dest, be->mac, ETH_ALEN);
  __builtin_memcpy(neth->h_source, our_mac, ETH_ALEN);
  neth->h_proto = bpf_htons(ETH_P_IP);

  outer->version = 4;
  outer->ihl = 5;
  outer->tos = tos;
  outer->tot_len = bpf_htons(inner_len + sizeof(struct iphdr));
  outer->id = 0;
  outer->frag_off = 0;
  outer->ttl = ttl;
  outer->protocol = IPPROTO_IPIP;
  outer->check = 0;
  outer->saddr = src_addr;
  outer->daddr = be->addr;

  __u64 sum = bpf_csum_diff(0, 0, (__be32*)outer, sizeof(*outer), 0);
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  outer->check = ~sum & 0xffff;

  count(vip_num, bytes);
  return XDP_TX;
}

char _license[] SEC("license") = "GPL";
