// Sends every packet back (XDP_TX) after a loop of as many rounds as the
// packet's last byte says (at most 255): a program whose cycles per packet
// the test controls through the packets.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int spin(struct xdp_md* ctx) {
  unsigned char* data = (unsigned char*)(long)ctx->data;
  unsigned char* end = (unsigned char*)(long)ctx->data_end;
  if (data + 60 > end) return XDP_DROP;
  unsigned rounds = data[59];
  unsigned long acc = data[0];
  for (unsigned i = 0; i < 255; ++i) {
    if (i >= rounds) break;
    acc = acc * 31 + i;
  }
  data[58] = (unsigned char)acc;
  return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
