// The shim's control socket framing and the helpers `npu dev` relies on
// (driver/dev_socket.h).
#include "driver/dev_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace {

using namespace npu::driver;

TEST(DevSocket, MessagesKeepTheirBoundaries) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  ASSERT_TRUE(send_msg(sv[0], {{"cmd", "info"}}));
  ASSERT_TRUE(send_msg(sv[0], {{"cmd", "map"}, {"key", {1, 2, 3}}}));
  nlohmann::json a, b;
  ASSERT_TRUE(recv_msg(sv[1], &a));
  ASSERT_TRUE(recv_msg(sv[1], &b));
  EXPECT_EQ(a["cmd"], "info");
  EXPECT_EQ(b["key"], nlohmann::json({1, 2, 3}));
  // A length past the limit, and a body that is no JSON, are refused.
  uint32_t huge = 1u << 30;
  ASSERT_EQ(write(sv[0], &huge, 4), 4);
  EXPECT_FALSE(recv_msg(sv[1], &a, 1u << 20));
  close(sv[0]);
  close(sv[1]);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  uint32_t n = 3;
  ASSERT_EQ(write(sv[0], &n, 4), 4);
  ASSERT_EQ(write(sv[0], "{{{", 3), 3);
  EXPECT_FALSE(recv_msg(sv[1], &a));
  close(sv[0]);  // a peer that hangs up mid-message
  EXPECT_FALSE(recv_msg(sv[1], &a));
  close(sv[1]);
}

TEST(DevSocket, CardNames) {
  EXPECT_TRUE(valid_card_name("npu0"));
  EXPECT_TRUE(valid_card_name("a-b_c"));
  EXPECT_FALSE(valid_card_name(""));
  EXPECT_FALSE(valid_card_name("thirteen_char"));  // no room for the wire's suffix
  EXPECT_FALSE(valid_card_name("../etc"));
  EXPECT_FALSE(valid_card_name("a b"));
}

TEST(DevSocket, RunDirectoryAndUnknownCards) {
  setenv("NPU_RUN_DIR", "/nonexistent/npu-test", 1);
  EXPECT_EQ(card_dir("x"), "/nonexistent/npu-test/x");
  EXPECT_TRUE(card_names().empty());
  try {
    dev_call("x", {{"cmd", "info"}});
    FAIL() << "no card, yet an answer";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "x: no such npu card (npu dev list shows the cards)");
  }
  unsetenv("NPU_RUN_DIR");
}

TEST(DevSocket, ZombiesAreNotAlive) {
  EXPECT_TRUE(process_alive(getpid()));
  pid_t child = fork();
  if (child == 0) _exit(0);
  // Not yet reaped: a zombie, gone for our purposes.
  for (int i = 0; i < 200 && process_alive(child); ++i) usleep(5000);
  EXPECT_FALSE(process_alive(child));
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(process_alive(child));
  EXPECT_FALSE(process_alive(0));
}

}  // namespace
