// Control messages as the host builds and reads them (firmware/abi.h's
// layout): one function per request type, and a reply parser that checks
// everything it reads. The driver shim and the tests both use these.
#pragma once

#include "firmware/abi.h"

#include <cstdint>
#include <string>
#include <vector>

namespace npu::driver {

std::vector<uint8_t> cmsg_map_alloc(uint16_t seq, const npu_map_def& def);
// FREE, LOOKUP, DELETE, GETFIRST, GETNEXT: id, flags and (when the type has one) key.
std::vector<uint8_t> cmsg_map_op(uint8_t type, uint16_t seq, uint32_t id, uint64_t flags,
                                 const std::vector<uint8_t>& key = {});
// UPDATE: the key padded to 8 bytes, then the value (host layout).
std::vector<uint8_t> cmsg_map_update(uint16_t seq, uint32_t id, uint64_t flags,
                                     const std::vector<uint8_t>& key,
                                     const std::vector<uint8_t>& value);

// A device request with no body (PROG_UNLOAD, DEV_INFO) or a body after the
// header (PROG_LOAD: the id/flags words, then the image).
std::vector<uint8_t> cmsg_dev_request(uint8_t type, uint16_t seq,
                                      const std::vector<uint8_t>& body = {});
// A reply as the firmware writes one: header, error, result, payload.
std::vector<uint8_t> cmsg_reply(uint8_t request, uint16_t seq, int32_t err, uint32_t result,
                                const std::vector<uint8_t>& payload = {});

struct CmsgReply {
  uint8_t type = 0;  // request type | NPU_CMSG_REPLY
  uint16_t seq = 0;
  int32_t err = 0;  // 0 or -errno
  uint32_t result = 0;
  std::vector<uint8_t> payload;
};

// Parses a reply of at most `size` bytes; false with a reason for anything
// that is not a well-formed reply to a request of type `request` and seq.
bool parse_reply(const uint8_t* p, size_t size, uint8_t request, uint16_t seq, CmsgReply* out,
                 std::string* why);

}  // namespace npu::driver
