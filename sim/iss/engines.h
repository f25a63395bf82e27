// The engines a core sends commands to, as functional models with fixed
// latencies from Timing: the map engine (BPF maps with the kernel's semantics,
// the reference interpreter's map code, values in device memory windows), the
// atomic unit, and the checksum, hash, random and time engines. The SystemC NIC
// model wraps these for contention; the functions stay the same.
#pragma once

#include "sim/iss/ports.h"
#include "sim/ref/maps.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

namespace npu::iss {

class Engines : public EnginePort {
 public:
  // mem: where keys, values and atomics' targets are read and written.
  // map_cpus: the number of copies a percpu map keeps; thread (core, t) uses
  // copy (core * threads + t) % map_cpus.
  Engines(MemoryPort& mem, const Timing& timing, unsigned threads_per_core, unsigned map_cpus = 1,
          uint64_t seed = 0);

  Completion command(const Command& cmd) override;

  // Called after a map's memory goes away (mfree), so that cores drop cached
  // regions that point into it.
  void set_unmap_hook(std::function<void()> hook) { unmap_hook_ = std::move(hook); }

  // The most bytes one map may take (keys and values, all copies): larger
  // definitions are refused with -E2BIG, as a device's memory would.
  static constexpr uint64_t kMaxMapBytes = uint64_t(256) << 20;

  // Map value memory: device addresses NPU_MAP_BASE + (id << NPU_MAP_SHIFT) + offset.
  bool map_dmi(uint64_t addr, Dmi* out);

  // The map with this id, or nullptr.
  ref::Map* map(uint32_t id);
  std::vector<uint32_t> map_ids() const;
  unsigned map_cpus() const { return map_cpus_; }

 private:
  bool read(unsigned core, uint64_t addr, size_t n, void* out);
  bool write(unsigned core, uint64_t addr, size_t n, const void* in);
  // The n bytes at addr when one region holds them all (and may be written,
  // for write), else nullptr.
  uint8_t* view(unsigned core, uint64_t addr, uint64_t n, bool write);
  uint64_t map_addr(uint32_t id, const uint8_t* value);
  Completion map_command(const Command& cmd);
  Completion atomic(const Command& cmd);

  MemoryPort& mem_;
  const Timing& timing_;
  unsigned threads_per_core_, map_cpus_;
  std::vector<std::unique_ptr<ref::Map>> maps_;  // by id; 0 is never used
  uint64_t rand_state_;
  std::function<void()> unmap_hook_;
};

// The kernel's jhash (Bob Jenkins' lookup3) over n bytes.
uint32_t jhash(const uint8_t* p, size_t n, uint32_t seed);

}  // namespace npu::iss
