// Control messages as the host builds and reads them: layouts against
// firmware/abi.h, and replies that must be refused.
#include "driver/cmsg.h"

#include <gtest/gtest.h>

#include <cstring>

using namespace npu::driver;

namespace {

uint32_t u32_at(const std::vector<uint8_t>& m, size_t off) {
  uint32_t v;
  std::memcpy(&v, m.data() + off, 4);
  return v;
}

TEST(Cmsg, RequestLayouts) {
  std::vector<uint8_t> a = cmsg_map_alloc(7, {1, 4, 8, 16, 0, 99});
  ASSERT_EQ(a.size(), size_t(NPU_CMSG_HDR_SIZE + NPU_MAPDEF_SIZE));
  EXPECT_EQ(a[NPU_CMSG_TYPE], NPU_CMSG_MAP_ALLOC);
  EXPECT_EQ(a[NPU_CMSG_VER], NPU_CMSG_VERSION);
  EXPECT_EQ(a[NPU_CMSG_SEQ], 7);
  EXPECT_EQ(u32_at(a, NPU_CMSG_LEN), a.size());
  EXPECT_EQ(u32_at(a, NPU_CMSG_HDR_SIZE + NPU_MAPDEF_VALUE_SIZE), 8u);
  EXPECT_EQ(u32_at(a, NPU_CMSG_HDR_SIZE + NPU_MAPDEF_SYS_VALUE), 0u);  // an output, sent as 0

  std::vector<uint8_t> k = {1, 2, 3};
  std::vector<uint8_t> l = cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 9, 5, 0, k);
  EXPECT_EQ(l.size(), size_t(NPU_CMSG_KEY + 3));
  EXPECT_EQ(u32_at(l, NPU_CMSG_MAP_ID), 5u);
  EXPECT_EQ(l[NPU_CMSG_KEY + 2], 3);

  // The value of an update starts at the key rounded up to 8 bytes.
  std::vector<uint8_t> u = cmsg_map_update(1, 2, 1, k, {9, 9});
  EXPECT_EQ(u.size(), size_t(NPU_CMSG_KEY + 8 + 2));
  EXPECT_EQ(u[NPU_CMSG_KEY + 3], 0);
  EXPECT_EQ(u[NPU_CMSG_KEY + 8], 9);
  EXPECT_EQ(u[NPU_CMSG_FLAGS], 1);
}

std::vector<uint8_t> reply(uint8_t type, uint16_t seq, uint32_t len, int32_t err) {
  std::vector<uint8_t> r(64, 0);
  npu_cmsg_hdr h{type, NPU_CMSG_VERSION, seq, len};
  std::memcpy(r.data(), &h, sizeof h);
  std::memcpy(r.data() + NPU_CMSG_ERR, &err, 4);
  r[NPU_CMSG_PAYLOAD] = 0xab;
  return r;
}

TEST(Cmsg, ReplyParsing) {
  CmsgReply out;
  std::string why;
  std::vector<uint8_t> ok = reply(NPU_CMSG_MAP_LOOKUP | NPU_CMSG_REPLY, 4, 20, -2);
  ASSERT_TRUE(parse_reply(ok.data(), ok.size(), NPU_CMSG_MAP_LOOKUP, 4, &out, &why)) << why;
  EXPECT_EQ(out.err, -2);
  EXPECT_EQ(out.payload, (std::vector<uint8_t>{0xab, 0, 0, 0}));

  struct Bad {
    std::vector<uint8_t> msg;
    size_t size;
    const char* want;
  } bad[] = {
      {ok, 10, "too short"},
      {reply(NPU_CMSG_MAP_LOOKUP, 4, 20, 0), 64, "reply type"},  // a request, not a reply
      {reply(NPU_CMSG_MAP_DELETE | NPU_CMSG_REPLY, 4, 20, 0), 64, "reply type"},
      {reply(NPU_CMSG_MAP_LOOKUP | NPU_CMSG_REPLY, 5, 20, 0), 64, "seq"},
      {reply(NPU_CMSG_MAP_LOOKUP | NPU_CMSG_REPLY, 4, 8, 0), 64, "length"},
      {reply(NPU_CMSG_MAP_LOOKUP | NPU_CMSG_REPLY, 4, 65, 0), 64, "length"},
  };
  for (const Bad& b : bad) {
    EXPECT_FALSE(parse_reply(b.msg.data(), b.size, NPU_CMSG_MAP_LOOKUP, 4, &out, &why)) << b.want;
    EXPECT_NE(why.find(b.want), std::string::npos) << why;
  }
  std::vector<uint8_t> v = ok;
  v[NPU_CMSG_VER] = 3;
  EXPECT_FALSE(parse_reply(v.data(), v.size(), NPU_CMSG_MAP_LOOKUP, 4, &out, &why));
  EXPECT_NE(why.find("version"), std::string::npos);
}

}  // namespace
