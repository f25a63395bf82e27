// Helpers whose output leaves the program: trace_printk, ringbuf and perf
// event records, which the reference interpreter captures as events.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} rb SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, 4);
  __uint(value_size, 4);
  __uint(max_entries, 2);
} perf SEC(".maps");

const volatile __u32 limit = 7;

SEC("xdp")
int events(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u32 len = end - data;
  bpf_printk("len %u limit %d", len, limit);
  __u64 rec = 0x1122334455667788ull + len;
  long r1 = bpf_ringbuf_output(&rb, &rec, sizeof rec, 0);
  long r2 = bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU | (4ull << 32), &rec, sizeof rec);
  return r1 == 0 && r2 == 0 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
