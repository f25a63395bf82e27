#include "sim/nic/flow.h"

#include "sim/iss/engines.h"

#include <cstring>

namespace npu::nic {

uint32_t flow_hash(const uint8_t* p, size_t len, FlowKey key) {
  uint8_t k[40] = {};
  size_t n = 0;
  auto add = [&](const uint8_t* src, size_t m) {
    std::memcpy(k + n, src, m);
    n += m;
  };
  if (len < 14) return iss::jhash(p, len, 0);
  size_t off = 12;
  uint16_t type = uint16_t(p[off] << 8 | p[off + 1]);
  for (int tags = 0; tags < 2 && (type == 0x8100 || type == 0x88a8) && off + 6 <= len; ++tags) {
    off += 4;
    type = uint16_t(p[off] << 8 | p[off + 1]);
  }
  off += 2;
  const uint8_t* l4 = nullptr;
  uint8_t proto = 0;
  if (type == 0x0800 && off + 20 <= len) {
    const uint8_t* ip = p + off;
    size_t ihl = size_t(ip[0] & 0xf) * 4;
    proto = ip[9];
    add(ip + 12, 4);                               // source
    if (key != FlowKey::kSource) add(ip + 16, 4);  // destination
    bool first_fragment = ((ip[6] & 0x1f) | ip[7]) == 0;
    if (first_fragment && ihl >= 20 && off + ihl + 4 <= len) l4 = ip + ihl;
  } else if (type == 0x86dd && off + 40 <= len) {
    const uint8_t* ip = p + off;
    proto = ip[6];
    add(ip + 8, 16);
    if (key != FlowKey::kSource) add(ip + 24, 16);
    if (off + 44 <= len) l4 = ip + 40;
  } else {
    add(p, 12);  // MAC addresses
    k[n++] = uint8_t(type >> 8);
    k[n++] = uint8_t(type);
    return iss::jhash(k, n, 0);
  }
  if (key == FlowKey::kFiveTuple) {
    k[n++] = proto;
    if (l4 && (proto == 6 || proto == 17 || proto == 132)) add(l4, 4);
  }
  return iss::jhash(k, n, 0);
}

}  // namespace npu::nic
