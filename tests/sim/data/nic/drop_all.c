// Drops every packet: the least work a program can do.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int drop_all(struct xdp_md* ctx) {
  return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
