// SPDX-License-Identifier: GPL-2.0
//
// bad_prog.c: reads the packet without checking it against data_end, which
// the kernel's verifier refuses ("invalid access to packet"), for tests/dev
// (hil.offload_checks).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int xdp_bad(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  return data[20] == 1 ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
