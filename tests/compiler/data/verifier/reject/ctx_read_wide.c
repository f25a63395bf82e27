// reject: reads ctx->data as 8 bytes; xdp_md fields are read 4 bytes at a time
// kernel: invalid bpf_context access off=0 size=8
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
__attribute__((naked)) int ctx_read_wide(void) {
  asm volatile(
      "r2 = *(u64 *)(r1 + 0);"
      "r0 = 2;"
      "exit;" ::: "memory");
}

char _license[] SEC("license") = "GPL";
