// The smallest device around ISS cores: flat memories at firmware/abi.h's
// addresses with the latencies of Timing, the engines, the queues, and a host
// side to load images, write memory and exchange queue entries. Tests and
// `npu` commands run firmware and programs on it; the SystemC NIC model is the
// full device (issue 5) and implements the same ports.
#pragma once

#include "sim/iss/backend.h"
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
  bool pop(uint32_t mask, uint64_t* value, uint64_t cycle) override;
  bool pop(uint32_t mask, uint64_t* value) { return pop(mask, value, 0); }
  bool ready(uint32_t mask) const override;
  uint32_t nonempty() const override;
  void push(uint32_t queue, uint64_t value, uint64_t cycle) override;
  void push(uint32_t queue, uint64_t value) { push(queue, value, 0); }
  size_t size(unsigned q) const { return q < kCount ? q_[q].size() : 0; }
  uint64_t pushes() const { return pushes_; }

 private:
  std::array<std::deque<uint64_t>, kCount> q_;
  uint64_t pushes_ = 0;
};

class Machine : public MemoryPort, public Backend {
 public:
  explicit Machine(const MachineConfig& cfg = {});
  ~Machine() override;

  // Backend: cores run interleaved by quantum.
  void load(const std::vector<uint64_t>& code, const std::vector<DataSection>& data) override;
  void load(const std::vector<uint64_t>& code) { load(code, {}); }
  void boot(uint64_t pc) override;
  void boot() { boot(0); }
  Stop run(uint64_t max_cycles) override;
  uint64_t cycle() const override { return now_; }
  void host_push(uint32_t queue, uint64_t value) override { queues_.push(queue, value, now_); }
  bool host_pop(uint32_t mask, uint64_t* value) override { return queues_.pop(mask, value); }
  unsigned ncores() const override { return unsigned(cores_.size()); }
  unsigned nthreads() const override { return cfg_.threads; }
  CoreCounters counters(unsigned core) override { return counters_of(this->core(core)); }
  uint64_t csr(unsigned core, unsigned thread, Csr n) override {
    return csr_of(this->core(core), thread, n);
  }
  void set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) override {
    set_csr_of(this->core(core), thread, n, v);
  }
  Engines& engines() override { return *engines_; }

  Core& core(unsigned i) { return *cores_.at(i); }

  Queues& queues() { return queues_; }
  const MachineConfig& config() const { return cfg_; }
  void set_tracer(Tracer* t);

  bool dmi(unsigned core, uint64_t addr, Dmi* out) override;

 private:
  bool host_dmi(unsigned core, uint64_t addr, Dmi* out) override { return dmi(core, addr, out); }

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
