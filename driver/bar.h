// The card's BAR as both sides map it (firmware/abi.h, "The card as the host
// sees it"): a shared file holding the register window, the two packet rings
// and the control buffer. The device process (sim/card) creates it; the host
// shim (driver/shim) maps it. Rings are single producer, single consumer, so
// the only synchronisation is the acquire/release order of head and tail.
#pragma once

#include "firmware/abi.h"

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace npu::driver {

class Bar {
 public:
  // Creates the file (mode, and group gid when not (gid_t)-1: only for
  // tests; a card's BAR is root's alone, as it steers root's copies), sized
  // NPU_BAR_SIZE and zeroed, and maps it. Throws std::runtime_error naming the path.
  static Bar create(const std::string& path, mode_t mode, gid_t gid);
  // Maps an existing BAR; throws when it is not one (size, magic once ready).
  static Bar open(const std::string& path);
  Bar() = default;
  Bar(Bar&& o) noexcept;
  Bar& operator=(Bar&& o) noexcept;
  Bar(const Bar&) = delete;
  Bar& operator=(const Bar&) = delete;
  ~Bar();

  uint8_t* base() const { return base_; }
  // Registers: loads acquire, stores release (the other process reads them).
  uint32_t reg32(uint32_t off) const;
  void set_reg32(uint32_t off, uint32_t v);
  uint64_t reg64(uint32_t off) const;
  void set_reg64(uint32_t off, uint64_t v);
  // Atomically ORs bits into a u32 register.
  void or_reg32(uint32_t off, uint32_t bits);
  void add_stat(unsigned stat, uint64_t n);
  uint64_t stat(unsigned s) const { return reg64(NPU_REG_STATS + 8 * s); }
  // Sets up the ring registers (device side, before NPU_REG_MAGIC).
  void init_rings();

  // Producer: false when the ring is full or the frame too long (nothing written).
  bool push(unsigned ring, const uint8_t* frame, size_t len, uint32_t status = 0,
            uint64_t cycles = 0);
  // Consumer: false when the ring is empty.
  bool pop(unsigned ring, std::vector<uint8_t>* frame, npu_ring_desc* desc = nullptr);
  // Frames waiting in a ring.
  uint32_t pending(unsigned ring) const;

  uint8_t* ctrl() const { return base_ + NPU_BAR_CTRL; }

 private:
  uint8_t* base_ = nullptr;
  npu_ring_regs* ring(unsigned r) const;
  uint8_t* slot(unsigned r, uint32_t index) const;
};

// A wakeup channel between the two processes: an eventfd made before the
// fork. kick() never blocks; drain() empties it.
class Doorbell {
 public:
  Doorbell();
  explicit Doorbell(int fd) : fd_(fd) {}
  Doorbell(Doorbell&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Doorbell(const Doorbell&) = delete;
  Doorbell& operator=(const Doorbell&) = delete;
  ~Doorbell();
  int fd() const { return fd_; }
  void kick() const;
  void drain() const;

 private:
  int fd_ = -1;
};

}  // namespace npu::driver
