// SPDX-License-Identifier: GPL-2.0
//
// ratelimit.c: a token-bucket packet rate limiter per IPv4 source address.
//
// Each source address has a bucket of at most rl_cfg.burst packets that
// refills at rl_cfg.rate packets per second, measured with bpf_ktime_get_ns().
// Tokens are kept in units of 1/NSEC_PER_SEC of a packet, so that a refill of
// dt nanoseconds adds exactly dt * rate units and nothing is lost to rounding;
// a packet costs NSEC_PER_SEC units.  A packet that finds a full token in its
// bucket takes it and passes, any other is dropped.  A source seen for the
// first time gets a full bucket (minus this packet).  Buckets live in an
// LRU_HASH, so the least recently seen sources are forgotten when it is full.
//
// Deterministic mode, rl_cfg.rate == 0: buckets never refill, so every source
// gets exactly rl_cfg.burst packets through and all of its later packets are
// dropped.  In this mode the program does not call bpf_ktime_get_ns() at all
// and stores 0 as last_ns, so both the verdict sequence and the final map
// contents depend only on the packets, and the kernel and an interpreter can
// be compared exactly.  (Keep the number of distinct sources well below
// MAX_SOURCES: which entry an LRU map evicts when full is not specified.)
// The .maps.json next to this file selects this mode.
//
// rl_cfg.burst == 0 (or a missing config) switches the limiter off: every
// packet passes.  Frames that are not untagged IPv4 always pass.
//
// Maps:
//   rl_cfg     ARRAY[1] -> struct rl_cfg {u64 rate (packets/s, 0 = never refill),
//                                         u64 burst (packets, capped at MAX_BURST)}
//   buckets    LRU_HASH[MAX_SOURCES] __be32 saddr
//              -> struct bucket {u64 tokens (1e-9 packets), u64 last_ns, u64 passed, u64 dropped}
//   rl_stats   ARRAY[RL_MAX] u32 (enum rl_stat) -> u64 packets, updated atomically
//
// Verdicts: XDP_PASS within the limit, XDP_DROP over it.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define NSEC_PER_SEC 1000000000ULL
#define PACKET_COST NSEC_PER_SEC
#define MAX_BURST (1ULL << 20)
#define MAX_SOURCES 16384

enum rl_stat {
  RL_PASSED = 0,      // within the limit
  RL_DROPPED = 1,     // over the limit
  RL_NEW_SOURCE = 2,  // a bucket was created (also counted in PASSED)
  RL_NOT_IPV4 = 3,    // passed without a look
  RL_UNLIMITED = 4,   // limiter switched off (burst == 0), passed
  RL_MAX = 5,
};

struct rl_cfg {
  __u64 rate;
  __u64 burst;
};

struct bucket {
  __u64 tokens;
  __u64 last_ns;
  __u64 passed;
  __u64 dropped;
};

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct rl_cfg);
} rl_cfg SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, MAX_SOURCES);
  __type(key, __be32);
  __type(value, struct bucket);
} buckets SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, RL_MAX);
  __type(key, __u32);
  __type(value, __u64);
} rl_stats SEC(".maps");

static __always_inline int account(__u32 stat, int verdict) {
  __u64* c = bpf_map_lookup_elem(&rl_stats, &stat);
  if (c) __sync_fetch_and_add(c, 1);
  return verdict;
}

SEC("xdp")
int xdp_ratelimit(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* data_end = (void*)(long)ctx->data_end;
  __u32 zero = 0;

  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > data_end) return account(RL_NOT_IPV4, XDP_PASS);
  if (eth->h_proto != bpf_htons(ETH_P_IP)) return account(RL_NOT_IPV4, XDP_PASS);
  struct iphdr* iph = (void*)(eth + 1);
  if ((void*)(iph + 1) > data_end) return account(RL_NOT_IPV4, XDP_PASS);
  __be32 saddr = iph->saddr;

  struct rl_cfg* cfg = bpf_map_lookup_elem(&rl_cfg, &zero);
  if (!cfg || cfg->burst == 0) return account(RL_UNLIMITED, XDP_PASS);
  __u64 rate = cfg->rate;
  __u64 burst = cfg->burst < MAX_BURST ? cfg->burst : MAX_BURST;
  __u64 capacity = burst * PACKET_COST;
  __u64 now = rate ? bpf_ktime_get_ns() : 0;

  struct bucket* b = bpf_map_lookup_elem(&buckets, &saddr);
  if (!b) {
    struct bucket fresh = {
        .tokens = capacity - PACKET_COST,
        .last_ns = now,
        .passed = 1,
        .dropped = 0,
    };
    bpf_map_update_elem(&buckets, &saddr, &fresh, BPF_NOEXIST);
    account(RL_NEW_SOURCE, 0);
    return account(RL_PASSED, XDP_PASS);
  }

  __u64 tokens = b->tokens;
  if (rate) {
    __u64 elapsed = now > b->last_ns ? now - b->last_ns : 0;
    // elapsed * rate cannot overflow below the time it takes to fill up.
    if (elapsed >= capacity / rate) {
      tokens = capacity;
    } else {
      tokens += elapsed * rate;
      if (tokens > capacity) tokens = capacity;
    }
    b->last_ns = now;
  }

  if (tokens >= PACKET_COST) {
    b->tokens = tokens - PACKET_COST;
    __sync_fetch_and_add(&b->passed, 1);
    return account(RL_PASSED, XDP_PASS);
  }
  b->tokens = tokens;
  __sync_fetch_and_add(&b->dropped, 1);
  return account(RL_DROPPED, XDP_DROP);
}

char _license[] SEC("license") = "GPL";
