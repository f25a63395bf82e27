// SPDX-License-Identifier: GPL-2.0
//
// map_flags.c: a hash map with BPF_F_MMAPABLE, a flag only arrays take, for
// tests/dev (hil.offload_checks): the load must be refused with one line
// naming the map, and the program already attached must stay.
//
// Maps:
//   mmapped   HASH[4] (BPF_F_MMAPABLE)  u32 -> u64
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __uint(map_flags, BPF_F_MMAPABLE);
  __type(key, __u32);
  __type(value, __u64);
} mmapped SEC(".maps");

SEC("xdp")
int xdp_flags(struct xdp_md* ctx) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&mmapped, &key) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
