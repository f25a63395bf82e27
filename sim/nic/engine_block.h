// The card's engines as one TLM target: cores send commands (map lookups and
// updates, atomics, checksums, hashes, random numbers, time) by b_transport
// with a CommandExtension. The functions are iss::Engines' (the same maps and
// semantics as the ISS and the reference interpreter); this block adds what a
// shared engine costs: pools of units per kind (map hash, array and LPM
// lookup units, the atomic unit, checksum and hash units), each command
// waiting for a free unit. It also serves map value memory to cores by DMI.
#pragma once

#include "sim/iss/engines.h"
#include "sim/nic/calendar.h"
#include "sim/nic/config.h"
#include "sim/nic/memory.h"

#include <systemc>
#include <tlm>
#include <tlm_utils/multi_passthrough_target_socket.h>

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace npu::nic {

struct CommandExtension : tlm::tlm_extension<CommandExtension> {
  iss::Command cmd{};
  iss::Completion done{};
  tlm::tlm_extension_base* clone() const override { return new CommandExtension(*this); }
  void copy_from(const tlm::tlm_extension_base& e) override {
    *this = static_cast<const CommandExtension&>(e);
  }
};

// Engine unit pools, in the report's order.
enum class Pool : uint8_t { kMapHash, kMapArray, kMapLpm, kAtomic, kCsum, kHash, kNone, kCount };
const char* pool_name(Pool p);

struct PoolStats {
  uint64_t commands = 0;
  uint64_t busy_cycles = 0;  // unit-cycles occupied
  uint64_t wait_cycles = 0;  // cycles commands waited for a unit
  uint64_t max_wait = 0;
  uint64_t max_depth = 0;   // most commands waiting at once (estimated from the wait)
  uint64_t over_depth = 0;  // commands that found the queue full
};

class EngineBlock : public sc_core::sc_module {
 public:
  tlm_utils::multi_passthrough_target_socket<EngineBlock> socket;      // commands
  tlm_utils::multi_passthrough_target_socket<EngineBlock> map_socket;  // map value DMI

  // mem: where commands read keys and values (the card's address map).
  EngineBlock(sc_core::sc_module_name name, const NicConfig& cfg, iss::MemoryPort& mem);

  iss::Engines& engines() { return *engines_; }
  const PoolStats& stats(Pool p) const { return pools_[size_t(p)].stats; }
  uint32_t units(Pool p) const { return pools_[size_t(p)].cfg.units; }
  BankTimer& map_memory() { return map_mem_; }
  void reset_stats();
  // Called with (pool, core, thread, start cycle, cycles) for each command, when tracing.
  std::function<void(Pool, const iss::Command&, uint64_t start, uint64_t cycles)> on_command;

 private:
  struct UnitPool {
    UnitPoolConfig cfg;
    std::vector<Calendar> units;  // one, of cfg.units servers (absent for kNone)
    PoolStats stats;
  };
  void b_transport(int id, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay);
  bool get_direct_mem_ptr(int id, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi);
  Pool pool_of(const iss::Command& cmd);
  // Waiting cycles before a unit of p takes a command issued at cycle.
  uint64_t queue(Pool p, uint64_t cycle, uint64_t* start);

  const NicConfig& cfg_;
  std::unique_ptr<iss::Engines> engines_;
  std::array<UnitPool, size_t(Pool::kCount)> pools_;
  BankTimer map_mem_;
  sc_core::sc_time period_;
};

}  // namespace npu::nic
