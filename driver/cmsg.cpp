#include "driver/cmsg.h"

#include <fmt/format.h>

#include <cstring>

namespace npu::driver {
namespace {

std::vector<uint8_t> header(uint8_t type, uint16_t seq, size_t len) {
  std::vector<uint8_t> m(len, 0);
  npu_cmsg_hdr h{type, NPU_CMSG_VERSION, seq, uint32_t(len)};
  std::memcpy(m.data(), &h, sizeof h);
  return m;
}

void put_id_flags(std::vector<uint8_t>& m, uint32_t id, uint64_t flags) {
  std::memcpy(m.data() + NPU_CMSG_MAP_ID, &id, 4);
  std::memcpy(m.data() + NPU_CMSG_FLAGS, &flags, 8);
}

}  // namespace

std::vector<uint8_t> cmsg_map_alloc(uint16_t seq, const npu_map_def& def) {
  std::vector<uint8_t> m = header(NPU_CMSG_MAP_ALLOC, seq, NPU_CMSG_HDR_SIZE + sizeof def);
  npu_map_def d = def;
  d.sys_value_size = 0;
  std::memcpy(m.data() + NPU_CMSG_HDR_SIZE, &d, sizeof d);
  return m;
}

std::vector<uint8_t> cmsg_map_op(uint8_t type, uint16_t seq, uint32_t id, uint64_t flags,
                                 const std::vector<uint8_t>& key) {
  std::vector<uint8_t> m = header(type, seq, NPU_CMSG_KEY + key.size());
  put_id_flags(m, id, flags);
  if (!key.empty()) std::memcpy(m.data() + NPU_CMSG_KEY, key.data(), key.size());
  return m;
}

std::vector<uint8_t> cmsg_map_update(uint16_t seq, uint32_t id, uint64_t flags,
                                     const std::vector<uint8_t>& key,
                                     const std::vector<uint8_t>& value) {
  size_t padded = (key.size() + 7) & ~size_t(7);
  std::vector<uint8_t> m = header(NPU_CMSG_MAP_UPDATE, seq, NPU_CMSG_KEY + padded + value.size());
  put_id_flags(m, id, flags);
  if (!key.empty()) std::memcpy(m.data() + NPU_CMSG_KEY, key.data(), key.size());
  if (!value.empty()) std::memcpy(m.data() + NPU_CMSG_KEY + padded, value.data(), value.size());
  return m;
}

std::vector<uint8_t> cmsg_dev_request(uint8_t type, uint16_t seq,
                                      const std::vector<uint8_t>& body) {
  std::vector<uint8_t> m = header(type, seq, NPU_CMSG_HDR_SIZE + body.size());
  if (!body.empty()) std::memcpy(m.data() + NPU_CMSG_HDR_SIZE, body.data(), body.size());
  return m;
}

std::vector<uint8_t> cmsg_reply(uint8_t request, uint16_t seq, int32_t err, uint32_t result,
                                const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> m =
      header(uint8_t(request | NPU_CMSG_REPLY), seq, NPU_CMSG_PAYLOAD + payload.size());
  std::memcpy(m.data() + NPU_CMSG_ERR, &err, 4);
  std::memcpy(m.data() + NPU_CMSG_RESULT, &result, 4);
  if (!payload.empty()) std::memcpy(m.data() + NPU_CMSG_PAYLOAD, payload.data(), payload.size());
  return m;
}

bool parse_reply(const uint8_t* p, size_t size, uint8_t request, uint16_t seq, CmsgReply* out,
                 std::string* why) {
  auto fail = [&](std::string s) {
    if (why) *why = std::move(s);
    return false;
  };
  if (size < NPU_CMSG_PAYLOAD) return fail(fmt::format("reply of {} bytes is too short", size));
  npu_cmsg_hdr h;
  std::memcpy(&h, p, sizeof h);
  if (h.type != (request | NPU_CMSG_REPLY))
    return fail(fmt::format("reply type 0x{:02x} to request type {}", h.type, request));
  if (h.ver != NPU_CMSG_VERSION) return fail(fmt::format("reply version {}", h.ver));
  if (h.seq != seq) return fail(fmt::format("reply seq {} to request seq {}", h.seq, seq));
  if (h.len < NPU_CMSG_PAYLOAD || h.len > size)
    return fail(fmt::format("reply length {} outside [{}, {}]", h.len, NPU_CMSG_PAYLOAD, size));
  CmsgReply r;
  r.type = h.type;
  r.seq = h.seq;
  std::memcpy(&r.err, p + NPU_CMSG_ERR, 4);
  std::memcpy(&r.result, p + NPU_CMSG_RESULT, 4);
  r.payload.assign(p + NPU_CMSG_PAYLOAD, p + h.len);
  *out = std::move(r);
  return true;
}

}  // namespace npu::driver
