// Legacy `struct bpf_map_def` maps in the "maps" section, which libbpf 1.x refuses.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
struct bpf_map_def_legacy { unsigned int type, key_size, value_size, max_entries, map_flags; };
struct bpf_map_def_legacy SEC("maps") counters = { BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0 };
SEC("xdp") int prog(struct xdp_md *ctx) { int k = 0; long *v = bpf_map_lookup_elem(&counters, &k); if (v) *v += 1; return XDP_PASS; }
char _license[] SEC("license") = "GPL";
