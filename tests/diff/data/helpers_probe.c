// Probes the XDP helpers at their limits so the differential test can hold the
// reference interpreter to the kernel's exact behaviour. The packet chooses:
//   byte 14: operation, bytes 15..18: a little-endian 32-bit argument,
//   bytes 19..26: a 64-bit argument (flags, seed).
// Every return code goes to the `results` hash, keyed by the call's inputs, so
// the final maps record what each helper call returned.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct call {
  __u32 op;
  __s32 arg;
  __u64 arg64;
  __u32 len;
  __u32 pad;
};

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __type(key, struct call);
  __type(value, __s64);
  __uint(max_entries, 16384);
} results SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_DEVMAP);
  __type(key, __u32);
  __type(value, __u32);
  __uint(max_entries, 4);
} ports SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PROG_ARRAY);
  __uint(key_size, 4);
  __uint(value_size, 4);
  __uint(max_entries, 2);
} chain SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __type(key, __u32);
  __type(value, __u64);
  __uint(max_entries, 1);
} depth SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4096);
} ring SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
  __uint(key_size, 4);
  __uint(value_size, 4);
  __uint(max_entries, 2);
} perf SEC(".maps");

enum {
  OP_HEAD,
  OP_TAIL,
  OP_META,
  OP_CSUM,
  OP_REDIRECT_MAP,
  OP_REDIRECT,
  OP_TAILCALL,
  OP_PRINTK,
  OP_RINGBUF,
  OP_PERF
};

static __always_inline void record(__u32 op, __s32 arg, __u64 arg64, __u32 len, __s64 v) {
  struct call c = {.op = op, .arg = arg, .arg64 = arg64, .len = len, .pad = 0};
  bpf_map_update_elem(&results, &c, &v, BPF_ANY);
}

SEC("xdp")
int probe(struct xdp_md *ctx) {
  void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  __u8 *p = data;
  if (data + 27 > end) return XDP_ABORTED;
  __u32 op = p[14], len = end - data;
  __s32 arg = (__s32)(p[15] | p[16] << 8 | p[17] << 16 | (__u32)p[18] << 24);
  __u64 arg64 = 0;
  for (int i = 0; i < 8; i++) arg64 |= (__u64)p[19 + i] << (8 * i);
  long r;
  switch (op) {
    case OP_HEAD:
      r = bpf_xdp_adjust_head(ctx, arg);
      break;
    case OP_TAIL:
      r = bpf_xdp_adjust_tail(ctx, arg);
      break;
    case OP_META:
      r = bpf_xdp_adjust_meta(ctx, arg);
      if (r == 0) {
        __u8 *meta = (void *)(long)ctx->data_meta, *d = (void *)(long)ctx->data;
        if ((void *)(meta + 4) <= (void *)d) meta[0] = 0xaa;
      }
      break;
    case OP_CSUM: {
      // Sizes from the packet, bounded as the verifier needs; either may be invalid (not % 4).
      __u32 buf[16];
      for (int i = 0; i < 16; i++) buf[i] = arg64 * (i + 1) + i;
      __u32 from = (__u32)arg & 0x3f, to = ((__u32)arg >> 8) & 0x3f;
      r = bpf_csum_diff(buf, from, buf + 4, to > 48 ? 48 : to, (__u32)(arg64 >> 32));
      break;
    }
    case OP_REDIRECT_MAP:
      r = bpf_redirect_map(&ports, (__u32)arg, arg64);
      record(op, arg, arg64, len, r);
      return r;
    case OP_REDIRECT:
      r = bpf_redirect((__u32)arg, arg64);
      record(op, arg, arg64, len, r);
      return r;
    case OP_TAILCALL: {
      __u32 zero = 0;
      __u64 *n = bpf_map_lookup_elem(&depth, &zero);
      if (n) *n += 1;
      bpf_tail_call(ctx, &chain, (__u32)arg);
      r = -1;  // reached only when the tail call does not happen
      break;
    }
    case OP_PRINTK: {
      // The return value is the formatted length, or -EINVAL for a format the kernel refuses.
      char str[4] = "abc";
      switch (arg & 7) {
        case 0: r = bpf_printk("%d %i\n", (int)arg64, -7); break;
        case 1: r = bpf_printk("%08x|%X\n", (__u32)arg64, 0xbeef); break;
        case 2: r = bpf_printk("%lld %llu %lx\n", arg64, arg64, arg64); break;
        case 3: r = bpf_printk("%-5d|%5u|% d\n", (int)arg64, 42, 3); break;
        case 4: r = bpf_printk("%+d %c%c\n", (int)arg64, 'h', 'i'); break;
        case 5: r = bpf_printk("%s|%5s\n", str, str); break;
        case 6: r = bpf_printk("%lllx\n", arg64); break;
        default: r = bpf_printk("%%|%q\n", 1); break;
      }
      break;
    }
    case OP_RINGBUF: {
      __u8 buf[256];
      for (int i = 0; i < 256; i++) buf[i] = i;
      r = bpf_ringbuf_output(&ring, buf, (__u32)arg & 0xff, arg64);
      break;
    }
    case OP_PERF: {
      __u64 rec = arg64;
      r = bpf_perf_event_output(ctx, &perf, arg64, &rec, sizeof rec);
      break;
    }
    default:
      return XDP_PASS;
  }
  record(op, arg, arg64, len, r);
  return r == 0 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
