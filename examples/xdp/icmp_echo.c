// SPDX-License-Identifier: GPL-2.0
//
// icmp_echo.c: answers ICMP echo requests ("ping") to one address in XDP.
//
// An untagged, unfragmented IPv4 ICMP echo request (type 8, code 0) whose
// destination is echo_cfg.addr is turned into an echo reply in place: MAC
// addresses swapped, IP addresses swapped (which leaves the IP checksum as it
// is), the TTL set to echo_cfg.ttl when that is not 0 and the ICMP type set to
// 0 (echo reply).  Both checksums are updated incrementally (RFC 1624), the
// payload stays as it is, and the reply goes out with XDP_TX.  IP options are
// kept as they are.
//
// Maps:
//   echo_cfg    ARRAY[1] -> struct echo_cfg {__be32 addr, u8 ttl, u8 pad[3]}
//               (addr 0 = answer nothing)
//   echo_stats  ARRAY[ES_MAX] u32 (enum echo_stat) -> u64 packets, updated atomically
//
// Verdicts: XDP_TX for answered requests, XDP_PASS for everything else.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff

enum echo_stat {
  ES_REPLIED = 0,      // echo request answered
  ES_NOT_IPV4 = 1,     // non-IPv4 frame
  ES_NOT_ICMP = 2,     // IPv4 but not ICMP, or a fragment
  ES_NOT_FOR_US = 3,   // ICMP to another address
  ES_NOT_REQUEST = 4,  // ICMP to us that is not an echo request
  ES_MALFORMED = 5,    // truncated or bad headers
  ES_MAX = 6,
};

struct echo_cfg {
  __be32 addr;
  __u8 ttl;  // 0 = keep the request's TTL
  __u8 pad[3];
};

// <linux/icmp.h> pulls in glibc's <sys/socket.h> (via <linux/if.h>), which
// does not compile for -target bpf without 32-bit glibc headers, so the
// 8-byte ICMP echo header is declared here.
struct icmp_echo_hdr {
  __u8 type;
  __u8 code;
  __sum16 checksum;
  __be16 id;
  __be16 sequence;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct echo_cfg);
} echo_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, ES_MAX);
  __type(key, __u32);
  __type(value, __u64);
} echo_stats SEC(".maps");

static __always_inline int account(__u32 stat, int verdict) {
  __u64* c = bpf_map_lookup_elem(&echo_stats, &stat);
  if (c) __sync_fetch_and_add(c, 1);
  return verdict;
}

// RFC 1624 eqn. 3 on raw (network order) 16-bit words.
static __always_inline void csum_replace2(__sum16* sum, __be16 old, __be16 new) {
  __u32 s = (__u16)~*sum;
  s += (__u16)~old;
  s += new;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  *sum = (__u16)~s;
}

SEC("xdp")
int xdp_icmp_echo(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 zero = 0;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return account(ES_MALFORMED, XDP_PASS);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return account(ES_NOT_IPV4, XDP_PASS);

  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > data_end) return account(ES_MALFORMED, XDP_PASS);
  if (iph->version != 4 || iph->ihl < 5) return account(ES_MALFORMED, XDP_PASS);
  if (iph->protocol != IPPROTO_ICMP || (iph->frag_off & bpf_htons(IP_MF | IP_OFFSET)))
    return account(ES_NOT_ICMP, XDP_PASS);

  struct echo_cfg* cfg = bpf_map_lookup_elem(&echo_cfg, &zero);
  if (!cfg || cfg->addr == 0 || iph->daddr != cfg->addr) return account(ES_NOT_FOR_US, XDP_PASS);

  struct icmp_echo_hdr* icmp = (void*)iph + iph->ihl * 4;
  if ((void*)(icmp + 1) > data_end) return account(ES_MALFORMED, XDP_PASS);
  if (icmp->type != ICMP_ECHO || icmp->code != 0) return account(ES_NOT_REQUEST, XDP_PASS);

  // ICMP: type 8 -> 0 in the {type, code} word.
  __be16 old_word, new_word;
  __builtin_memcpy(&old_word, &icmp->type, sizeof(old_word));
  icmp->type = ICMP_ECHOREPLY;
  __builtin_memcpy(&new_word, &icmp->type, sizeof(new_word));
  csum_replace2(&icmp->checksum, old_word, new_word);

  // IP: swapping the addresses keeps the sum; a new TTL changes the {ttl, protocol} word.
  __be32 addr = iph->saddr;
  iph->saddr = iph->daddr;
  iph->daddr = addr;
  if (cfg->ttl) {
    __builtin_memcpy(&old_word, &iph->ttl, sizeof(old_word));
    iph->ttl = cfg->ttl;
    __builtin_memcpy(&new_word, &iph->ttl, sizeof(new_word));
    csum_replace2(&iph->check, old_word, new_word);
  }

  __u8 mac[ETH_ALEN];
  __builtin_memcpy(mac, eth->h_source, ETH_ALEN);
  __builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
  __builtin_memcpy(eth->h_dest, mac, ETH_ALEN);

  return account(ES_REPLIED, XDP_TX);
}

char _license[] SEC("license") = "GPL";
