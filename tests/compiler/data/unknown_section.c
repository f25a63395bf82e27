// A program in a section libbpf cannot map to a program type.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("frobnicate") int prog(void *ctx) { return 0; }
char _license[] SEC("license") = "GPL";
