// The smallest device around ISS cores: flat memories at firmware/abi.h's
// addresses with the latencies of Timing, the engines, the queues, and a host
// side to load images, write memory and exchange queue entries. Tests and
// `npu` commands run firmware and programs on it; the SystemC NIC model is the
// full device (issue 5) and implements the same ports.
#pragma once

#include "sim/iss/core.h"
#include "sim/iss/engines.h"
#include "sim/iss/ports.h"
#include "sim/iss/timing.h"

#include <array>
#include <deque>
#include <memory>
#include <vector>

namespace npu::iss {

struct MachineConfig {
  unsigned cores = 1;
  unsigned threads = 4;          // per core
  uint64_t pkt_size = 1 << 20;   // packet buffer memory (256 frames)
  uint64_t cls_size = 1 << 20;   // shared SRAM
  uint64_t emem_size = 8 << 20;  // external DRAM
  unsigned map_cpus = 1;
  uint64_t seed = 0;      // random engine
  uint64_t quantum = 64;  // cycles each core runs before the next (multi-core interleave)
  Timing timing;
};

class Queues : public QueuePort {
 public:
  static constexpr unsigned kCount = 8;
  bool pop(uint32_t mask, uint64_t* value) override;
  bool ready(uint32_t mask) const override;
  void push(uint32_t queue, uint64_t value) override;
  size_t size(unsigned q) const { return q < kCount ? q_[q].size() : 0; }
  uint64_t pushes() const { return pushes_; }

 private:
  std::array<std::deque<uint64_t>, kCount> q_;
  uint64_t pushes_ = 0;
};

// An allocated section of an image: bytes at a device address.
struct DataSection {
  uint64_t addr;
  std::vector<uint8_t> bytes;
};

class Machine : public MemoryPort {
 public:
  explicit Machine(const MachineConfig& cfg = {});
  ~Machine() override;

  // Code into every core's store; data sections into device memory (throws
  // std::runtime_error when a section does not fit a writable region).
  void load(const std::vector<uint64_t>& code, const std::vector<DataSection>& data = {});
  // Starts every thread of every core at pc.
  void boot(uint64_t pc = 0);

  enum class Stop { kIdle, kLimit };
  // Runs all cores, interleaved by quantum, until none can go on without a
  // queue entry from the host (kIdle) or max_cycles more cycles have passed.
  Stop run(uint64_t max_cycles);
  uint64_t cycle() const { return now_; }

  // Host side. Local memory addresses reach core `core`'s (the others are
  // device-wide); std::out_of_range where no memory is.
  void write(uint64_t addr, const void* p, size_t n, unsigned core = 0);
  void read(uint64_t addr, void* p, size_t n, unsigned core = 0);
  std::vector<uint8_t> read(uint64_t addr, size_t n);
  uint64_t read64(uint64_t addr);
  Queues& queues() { return queues_; }
  Engines& engines() { return *engines_; }
  Core& core(unsigned i) { return *cores_.at(i); }
  unsigned ncores() const { return unsigned(cores_.size()); }
  const MachineConfig& config() const { return cfg_; }
  void set_tracer(Tracer* t);

  bool dmi(unsigned core, uint64_t addr, Dmi* out) override;

 private:
  // Host bytes for [addr, addr + n) as core sees them; throws std::out_of_range.
  uint8_t* host(uint64_t addr, size_t n, unsigned core, const char* what);

  MachineConfig cfg_;
  uint64_t lm_size_;
  std::vector<std::vector<uint8_t>> lm_;  // per core
  std::vector<uint8_t> pkt_, cls_, emem_;
  Queues queues_;
  std::unique_ptr<Engines> engines_;
  std::vector<std::unique_ptr<Core>> cores_;
  uint64_t now_ = 0;
};

}  // namespace npu::iss
