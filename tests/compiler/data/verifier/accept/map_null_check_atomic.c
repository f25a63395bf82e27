// accept: hash map lookups with a NULL check, then a plain write, an atomic
// add, an atomic fetch-add and a compare-and-swap on the value
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct stats {
  __u64 packets;
  __u64 bytes;
  __u32 last_len;
  __u32 flags;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 64);
  __type(key, __u32);
  __type(value, struct stats);
} per_queue SEC(".maps");

SEC("xdp")
int map_null_check_atomic(struct xdp_md* ctx) {
  __u32 key = ctx->rx_queue_index;
  __u32 len = ctx->data_end - ctx->data;
  struct stats* s = bpf_map_lookup_elem(&per_queue, &key);
  if (!s) {
    struct stats init = {1, len, len, 0};
    bpf_map_update_elem(&per_queue, &key, &init, BPF_NOEXIST);
    return XDP_PASS;
  }
  s->last_len = len;
  __sync_fetch_and_add(&s->packets, 1);
  __u64 before = __sync_fetch_and_add(&s->bytes, len);
  __sync_val_compare_and_swap(&s->flags, 0, 1);
  return before > (1ull << 40) ? XDP_DROP : XDP_PASS;
}

char _license[] SEC("license") = "GPL";
