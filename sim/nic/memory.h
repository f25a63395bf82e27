// A memory of the card that several requesters share (packet buffer, cluster
// SRAM, external DRAM, map value memory): banks interleaved by address, each
// moving bytes_per_cycle; an access waits while its bank is busy. Cores reach
// the bytes by DMI (tlm_dmi plus a TimerExtension naming this memory's
// timing), the MACs and DMA engines by b_transport; both pay for bandwidth.
#pragma once

#include "sim/iss/ports.h"
#include "sim/nic/calendar.h"
#include "sim/nic/config.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/simple_target_socket.h>

#include <cstdint>
#include <string>
#include <vector>

namespace npu::nic {

// Carried by a DMI request: the memory's timing and region, which tlm_dmi cannot say.
struct TimerExtension : tlm::tlm_extension<TimerExtension> {
  iss::MemoryTimer* timer = nullptr;
  iss::Region region = iss::Region::EMEM;
  tlm::tlm_extension_base* clone() const override { return new TimerExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& e) override {
    *this = static_cast<const TimerExtension&>(e);
  }
};

struct MemoryStats {
  uint64_t accesses = 0, bytes = 0;
  uint64_t busy_cycles = 0;  // bank-cycles spent moving data
  uint64_t wait_cycles = 0;  // cycles requests waited for a busy bank
  uint64_t max_wait = 0;
};

// The bank timing alone, for memories whose bytes live elsewhere (map values).
class BankTimer : public iss::MemoryTimer {
 public:
  BankTimer(const SharedMemoryConfig& cfg, uint32_t latency);
  uint32_t access(unsigned core, uint64_t addr, unsigned size, bool write, uint64_t cycle) override;
  // Cycles until a transfer of size bytes at addr, issued at cycle, is done.
  uint64_t transfer(uint64_t addr, uint64_t size, uint64_t cycle);
  const MemoryStats& stats() const { return stats_; }
  uint32_t banks() const { return cfg_.banks; }
  void reset_stats() { stats_ = {}; }
  uint32_t latency() const { return latency_; }

 private:
  uint64_t bank(uint64_t addr) const;
  void account(uint64_t bytes, uint64_t occupy, uint64_t wait);

  SharedMemoryConfig cfg_;
  uint32_t latency_;
  std::vector<Calendar> banks_;
  MemoryStats stats_;
};

class SharedMemory : public sc_core::sc_module, public BankTimer {
 public:
  tlm_utils::simple_target_socket<SharedMemory> socket;

  // base: device address of the first byte; period: one core cycle.
  SharedMemory(sc_core::sc_module_name name, iss::Region region, uint64_t base, uint64_t size,
               const SharedMemoryConfig& cfg, uint32_t latency, sc_core::sc_time period);

  uint64_t base() const { return base_; }
  iss::Region region() const { return region_; }
  uint64_t size() const { return bytes_.size(); }
  uint8_t* data() { return bytes_.data(); }
  bool contains(uint64_t addr, uint64_t n) const {
    return addr >= base_ && addr - base_ <= bytes_.size() && n <= bytes_.size() - (addr - base_);
  }

 private:
  void b_transport(tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);

  iss::Region region_;
  uint64_t base_;
  std::vector<uint8_t> bytes_;
  sc_core::sc_time period_;
};

}  // namespace npu::nic
