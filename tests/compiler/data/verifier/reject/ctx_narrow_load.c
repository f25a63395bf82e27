// reject: a 1-byte load of ctx->ingress_ifindex; xdp_md is only read 4 bytes at a time
// kernel: invalid bpf_context access off=12 size=1
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ctx_narrow_load(void) {
  asm volatile(
      "r2 = *(u8 *)(r1 + 12);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
