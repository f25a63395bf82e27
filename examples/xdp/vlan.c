// SPDX-License-Identifier: GPL-2.0
//
// vlan.c: VLAN tag pop, push and rewrite, driven by a per-VLAN-id table.
//
// The rule for a frame is vlan_cfg[VID of its outer tag], or vlan_cfg[0] for an
// untagged frame (entry 0 is the "untagged" rule: VID 0 never names a VLAN).
// Outer tags are 802.1Q (0x8100) or 802.1ad (0x88a8).  Actions:
//   VA_NONE     leave the frame alone, XDP_PASS
//   VA_POP      strip the outer tag: the MAC addresses move 4 bytes towards the
//               payload, then bpf_xdp_adjust_head(+4); untagged frames: as VA_NONE
//   VA_PUSH     bpf_xdp_adjust_head(-4), the MAC addresses move to the new
//               start and a tag {rule.pcp, rule.vid} goes in after them: an
//               802.1Q tag on an untagged frame, an 802.1ad (QinQ) tag in front
//               of an existing tag
//   VA_DROP     XDP_DROP
//   VA_REWRITE  replace the outer tag's VID by rule.vid, keeping PCP and DEI;
//               untagged frames: as VA_NONE
// After VA_POP, VA_PUSH or VA_REWRITE the verdict is XDP_TX if rule.tx is set
// (a bridge sending the frame back out of the trunk) and XDP_PASS otherwise
// (delivering it to the host stack).  A tagged frame whose tag is truncated,
// or an adjust_head failure, is dropped and counted as VS_ERROR.
//
// Maps:
//   vlan_cfg    ARRAY[4096] u32 VID -> struct vlan_rule {u16 action, u16 vid, u8 pcp, u8 tx, u16 pad}
//   vlan_stats  ARRAY[VS_MAX] u32 (enum vlan_stat: NONE, POP, PUSH, DROP,
//               REWRITE, ERROR) -> struct vlan_counter {u64 packets, bytes},
//               updated atomically; bytes are the frame length on arrival.
//
// Verdicts: XDP_PASS, XDP_TX, XDP_DROP as above.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define VLAN_VID_MASK 0x0fff
#define VLAN_N_VID 4096
#define VLAN_PCP_SHIFT 13

enum vlan_action {
  VA_NONE = 0,
  VA_POP = 1,
  VA_PUSH = 2,
  VA_DROP = 3,
  VA_REWRITE = 4,
};

enum vlan_stat {
  VS_NONE = 0,
  VS_POP = 1,
  VS_PUSH = 2,
  VS_DROP = 3,
  VS_REWRITE = 4,
  VS_ERROR = 5,
  VS_MAX = 6,
};

struct vlan_rule {
  __u16 action;
  __u16 vid;
  __u8 pcp;
  __u8 tx;
  __u16 pad;
};

struct vlan_counter {
  __u64 packets;
  __u64 bytes;
};

// An Ethernet header with one tag, as it lies in the frame.
struct vlan_ethhdr {
  __u8 h_dest[ETH_ALEN];
  __u8 h_source[ETH_ALEN];
  __be16 h_vlan_proto;
  __be16 h_vlan_tci;
  __be16 h_vlan_encap_proto;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VLAN_N_VID);
  __type(key, __u32);
  __type(value, struct vlan_rule);
} vlan_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, VS_MAX);
  __type(key, __u32);
  __type(value, struct vlan_counter);
} vlan_stats SEC(".maps");

static __always_inline int account(__u32 stat, __u64 bytes, int verdict) {
  struct vlan_counter* c = bpf_map_lookup_elem(&vlan_stats, &stat);
  if (c) {
    __sync_fetch_and_add(&c->packets, 1);
    __sync_fetch_and_add(&c->bytes, bytes);
  }
  return verdict;
}

static __always_inline int push_tag(struct xdp_md* ctx, __be16 tpid, __u16 tci) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u8 macs[2 * ETH_ALEN];

  if (data + sizeof(macs) > data_end) return -1;
  __builtin_memcpy(macs, data, sizeof(macs));
  if (bpf_xdp_adjust_head(ctx, -4)) return -1;

  data = (void*)(long)ctx->data;
  data_end = (void*)(long)ctx->data_end;
  struct vlan_ethhdr* veth = data;
  if ((void*)(veth + 1) > data_end) return -1;
  __builtin_memcpy(veth, macs, sizeof(macs));
  veth->h_vlan_proto = tpid;
  veth->h_vlan_tci = bpf_htons(tci);
  // h_vlan_encap_proto is the old EtherType, already in place.
  return 0;
}

static __always_inline int pop_tag(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u8 macs[2 * ETH_ALEN];

  struct vlan_ethhdr* veth = data;
  if ((void*)(veth + 1) > data_end) return -1;
  __builtin_memcpy(macs, veth, sizeof(macs));
  __builtin_memcpy(data + 4, macs, sizeof(macs));
  if (bpf_xdp_adjust_head(ctx, 4)) return -1;
  return 0;
}

SEC("xdp")
int xdp_vlan(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u64 bytes = data_end - data;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return account(VS_ERROR, bytes, XDP_DROP);

  __be16 proto = eth->h_proto;
  int tagged = proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD);
  __u16 tci = 0;
  __u32 vid = 0;
  if (tagged) {
    struct vlan_ethhdr* veth = data;
    if ((void*)(veth + 1) > data_end) return account(VS_ERROR, bytes, XDP_DROP);
    tci = bpf_ntohs(veth->h_vlan_tci);
    vid = tci & VLAN_VID_MASK;
  }

  struct vlan_rule* rule = bpf_map_lookup_elem(&vlan_cfg, &vid);
  if (!rule) return account(VS_NONE, bytes, XDP_PASS);
  int done = rule->tx ? XDP_TX : XDP_PASS;

  switch (rule->action) {
    case VA_POP:
      if (!tagged) break;
      if (pop_tag(ctx)) return account(VS_ERROR, bytes, XDP_DROP);
      return account(VS_POP, bytes, done);

    case VA_PUSH: {
      __u16 new_tci = ((__u16)rule->pcp << VLAN_PCP_SHIFT) | (rule->vid & VLAN_VID_MASK);
      __be16 tpid = tagged ? bpf_htons(ETH_P_8021AD) : bpf_htons(ETH_P_8021Q);
      if (push_tag(ctx, tpid, new_tci)) return account(VS_ERROR, bytes, XDP_DROP);
      return account(VS_PUSH, bytes, done);
    }

    case VA_DROP:
      return account(VS_DROP, bytes, XDP_DROP);

    case VA_REWRITE: {
      if (!tagged) break;
      struct vlan_ethhdr* veth = data;
      if ((void*)(veth + 1) > data_end) return account(VS_ERROR, bytes, XDP_DROP);
      veth->h_vlan_tci = bpf_htons((tci & ~VLAN_VID_MASK) | (rule->vid & VLAN_VID_MASK));
      return account(VS_REWRITE, bytes, done);
    }

    default:
      break;
  }
  return account(VS_NONE, bytes, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
