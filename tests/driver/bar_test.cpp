// The card's BAR (driver/bar.h): two mappings of one file, as the device
// process and the shim have them; the rings in order, full, wrapping, and
// refusing what does not fit; the doorbells. And the wire port's checksum
// completion (sim/card/wire.h).
#include "driver/bar.h"
#include "sim/card/wire.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

namespace {

using npu::driver::Bar;
using npu::driver::Doorbell;

class BarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = std::filesystem::temp_directory_path() /
            ("npu_bar_test_" + std::to_string(getpid()) + "_" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove(path_);
    dev_ = Bar::create(path_, 0600, gid_t(-1));
    dev_.init_rings();
    host_ = Bar::open(path_);
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
  Bar dev_, host_;
};

std::vector<uint8_t> frame(size_t n, uint8_t seed) {
  std::vector<uint8_t> f(n);
  for (size_t i = 0; i < n; ++i) f[i] = uint8_t(seed + i);
  return f;
}

TEST_F(BarTest, TheFileIsTheCallersModeAndSize) {
  struct stat st {};
  ASSERT_EQ(stat(path_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(uint64_t(st.st_size), uint64_t(NPU_BAR_SIZE));
  EXPECT_THROW(Bar::create(path_, 0600, gid_t(-1)), std::runtime_error);  // exists
  EXPECT_THROW(Bar::open("/nonexistent/bar"), std::runtime_error);
}

TEST_F(BarTest, RegistersAreShared) {
  dev_.set_reg32(NPU_REG_STATUS, NPU_STATUS_READY);
  host_.or_reg32(NPU_REG_STATUS, NPU_STATUS_STOPPING);
  EXPECT_EQ(dev_.reg32(NPU_REG_STATUS), uint32_t(NPU_STATUS_READY | NPU_STATUS_STOPPING));
  dev_.set_reg64(NPU_REG_CYCLE, 1ull << 40);
  EXPECT_EQ(host_.reg64(NPU_REG_CYCLE), 1ull << 40);
  dev_.add_stat(NPU_STAT_WIRE_RX, 3);
  dev_.add_stat(NPU_STAT_WIRE_RX, 4);
  EXPECT_EQ(host_.stat(NPU_STAT_WIRE_RX), 7u);
}

TEST_F(BarTest, FramesArriveInOrderWithTheirDescriptors) {
  for (uint8_t i = 0; i < 10; ++i)
    ASSERT_TRUE(dev_.push(NPU_RING_TOHOST, frame(60 + i, i).data(), 60 + i, i, 100 + i));
  EXPECT_EQ(host_.pending(NPU_RING_TOHOST), 10u);
  EXPECT_EQ(host_.pending(NPU_RING_FROMHOST), 0u);
  std::vector<uint8_t> f;
  npu_ring_desc d{};
  for (uint8_t i = 0; i < 10; ++i) {
    ASSERT_TRUE(host_.pop(NPU_RING_TOHOST, &f, &d));
    EXPECT_EQ(f, frame(60 + i, i));
    EXPECT_EQ(d.status, i);
    EXPECT_EQ(d.cycles, 100u + i);
  }
  EXPECT_FALSE(host_.pop(NPU_RING_TOHOST, &f));
}

TEST_F(BarTest, AFullRingRefusesAndWrapsAround) {
  std::vector<uint8_t> f = frame(64, 1), got;
  for (unsigned i = 0; i < NPU_RING_SLOTS; ++i)
    ASSERT_TRUE(host_.push(NPU_RING_FROMHOST, f.data(), 64));
  EXPECT_FALSE(host_.push(NPU_RING_FROMHOST, f.data(), 64));
  // Three laps of the ring, one frame at a time.
  for (unsigned i = 0; i < 3 * NPU_RING_SLOTS; ++i) {
    ASSERT_TRUE(dev_.pop(NPU_RING_FROMHOST, &got));
    std::vector<uint8_t> next = frame(64, uint8_t(i));
    ASSERT_TRUE(host_.push(NPU_RING_FROMHOST, next.data(), 64));
  }
  EXPECT_EQ(dev_.pending(NPU_RING_FROMHOST), uint32_t(NPU_RING_SLOTS));
}

TEST_F(BarTest, FramesLongerThanASlotAreRefused) {
  std::vector<uint8_t> big(NPU_RING_MAX_FRAME + 1, 7), got;
  EXPECT_FALSE(dev_.push(NPU_RING_TOHOST, big.data(), big.size()));
  EXPECT_TRUE(dev_.push(NPU_RING_TOHOST, big.data(), NPU_RING_MAX_FRAME));
  ASSERT_TRUE(host_.pop(NPU_RING_TOHOST, &got));
  EXPECT_EQ(got.size(), size_t(NPU_RING_MAX_FRAME));
}

TEST_F(BarTest, ABadLengthFromTheOtherSideIsClipped) {
  std::vector<uint8_t> f = frame(64, 1), got;
  ASSERT_TRUE(dev_.push(NPU_RING_TOHOST, f.data(), 64));
  // Corrupt the descriptor as a misbehaving peer could.
  auto* regs = reinterpret_cast<npu_ring_regs*>(dev_.base() + NPU_REG_RINGS);
  auto* d = reinterpret_cast<npu_ring_desc*>(dev_.base() + regs[NPU_RING_TOHOST].offset);
  d->len = 0xffffffff;
  ASSERT_TRUE(host_.pop(NPU_RING_TOHOST, &got));
  EXPECT_EQ(got.size(), size_t(NPU_RING_MAX_FRAME));
}

TEST_F(BarTest, RingRegistersCannotSteerCopiesOutsideTheBar) {
  // Whoever can write the file sets a ring's offset and sizes wild: slots
  // stay where the ABI puts them.
  auto* regs = reinterpret_cast<npu_ring_regs*>(dev_.base() + NPU_REG_RINGS);
  regs[NPU_RING_TOHOST].offset = 0xf0000000;
  regs[NPU_RING_TOHOST].slot_size = 0xffffffff;
  std::vector<uint8_t> f = frame(64, 3), got;
  ASSERT_TRUE(dev_.push(NPU_RING_TOHOST, f.data(), 64));
  ASSERT_TRUE(host_.pop(NPU_RING_TOHOST, &got));
  EXPECT_EQ(got, f);
  // A head far past the tail: pending() stays within the ring, and pop
  // reads slots inside it.
  regs[NPU_RING_TOHOST].head += 1000000;
  EXPECT_EQ(host_.pending(NPU_RING_TOHOST), uint32_t(NPU_RING_SLOTS));
  EXPECT_TRUE(host_.pop(NPU_RING_TOHOST, &got));
  EXPECT_FALSE(dev_.push(NPU_RING_TOHOST, f.data(), 64));  // "full"
}

TEST(Doorbell, KickWakesAPollAndDrainEmptiesIt) {
  Doorbell b;
  pollfd p{b.fd(), POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 0), 0);
  b.kick();
  b.kick();
  EXPECT_EQ(poll(&p, 1, 0), 1);
  b.drain();
  EXPECT_EQ(poll(&p, 1, 0), 0);
}

// An IPv4/UDP frame whose checksum field holds only the pseudo-header sum,
// as a stack leaves it for offload: completing it gives the full checksum.
TEST(WireChecksum, CompletesAPartialUdpChecksum) {
  std::vector<uint8_t> f = {
      0x02, 0,    0,    0,    0, 2,  0x02, 0, 0,  0,  0, 1, 0x08, 0x00,  // Ethernet
      0x45, 0,    0,    31,   0, 0,  0x40, 0, 64, 17, 0, 0, 10,   9,    0, 1, 10, 9, 0, 2,  // IPv4
      0x30, 0x39, 0x27, 0x0f, 0, 11, 0,    0,  // UDP, len 11
      'a',  'b',  'c'};
  // Pseudo header: addresses, protocol, UDP length.
  uint32_t ph = 0x0a09 + 0x0001 + 0x0a09 + 0x0002 + 17 + 11;
  while (ph >> 16) ph = (ph & 0xffff) + (ph >> 16);
  f[40] = uint8_t(ph >> 8);
  f[41] = uint8_t(ph);
  std::vector<uint8_t> partial = f;
  ASSERT_TRUE(npu::card::complete_checksum(f, 34, 6));
  // The full sum over pseudo header and datagram verifies to 0xffff.
  uint32_t sum = 0x0a09 + 0x0001 + 0x0a09 + 0x0002 + 17 + 11;
  for (size_t i = 34; i < f.size(); i += 2)
    sum += uint32_t(f[i]) << 8 | (i + 1 < f.size() ? f[i + 1] : 0);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu);
  EXPECT_NE(f, partial);
  EXPECT_FALSE(npu::card::complete_checksum(partial, 44, 6));  // start past the end
  EXPECT_FALSE(npu::card::complete_checksum(partial, 34, 20));
}

}  // namespace
