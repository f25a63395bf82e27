// SPDX-License-Identifier: GPL-2.0
//
// full_map.c: a 4-entry hash for tests/dev (hil.offload_checks): the fifth key
// an update adds must be refused with E2BIG, as the kernel refuses it.
//
// Maps:
//   full   HASH[4]  u32 -> u64
//
// Verdicts: XDP_DROP when full[0] exists, XDP_PASS otherwise.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4);
  __type(key, __u32);
  __type(value, __u64);
} full SEC(".maps");

SEC("xdp")
int xdp_full(struct xdp_md* ctx) {
  __u32 key = 0;
  return bpf_map_lookup_elem(&full, &key) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
