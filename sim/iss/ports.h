// What a core sees of the rest of the device: three abstract ports. The ISS's
// own Machine implements them with flat memories and fixed latencies; the
// SystemC NIC model plugs in its memories, engines and contention instead, and
// an RTL core in lockstep reaches the same ones. A core never sees a bus.
#pragma once

#include "compiler/npu/isa.h"
#include "sim/iss/timing.h"

#include <cstdint>

namespace npu::iss {

class MemoryTimer;

// Direct access to a region of device memory (as TLM's DMI): host bytes
// [host, host + (hi - lo)) are device addresses [lo, hi).
struct Dmi {
  uint8_t* host = nullptr;
  uint64_t lo = 0, hi = 0;
  bool writable = false;
  uint32_t latency = 1;  // cycles until a loaded value is usable
  Region region = Region::EMEM;
  // A shared memory's timing, when latency is not fixed: the data still moves
  // through host, and the timer says how long each access takes.
  MemoryTimer* timer = nullptr;
};

// The timing of a memory that several requesters share (bandwidth, banks,
// queueing): the latency of one access, issued at cycle by core.
class MemoryTimer {
 public:
  virtual ~MemoryTimer() = default;
  virtual uint32_t access(unsigned core, uint64_t addr, unsigned size, bool write,
                          uint64_t cycle) = 0;
};

class MemoryPort {
 public:
  virtual ~MemoryPort() = default;
  // The region holding device address addr as core `core` sees it (local
  // memory is the core's own), or false when no region does.
  virtual bool dmi(unsigned core, uint64_t addr, Dmi* out) = 0;
};

// A command to an engine (map, atomic, checksum, hash, random, time). The
// engine does the work functionally when the command issues and says how long
// the result takes; faults name the address that could not be reached.
struct Command {
  Op op;
  uint8_t width;  // atomics: 4 or 8
  unsigned core, thread;
  uint64_t cycle;       // issue cycle
  uint64_t addr;        // atomics: b + imm
  uint64_t b, c, d, e;  // register operands
};

struct Completion {
  uint64_t value = 0;    // into register a (when the instruction writes one)
  uint32_t latency = 1;  // cycles from issue until value is usable
  bool fault = false;    // value unusable: the thread traps (NPU_FAULT MEM) at fault_addr
  uint64_t fault_addr = 0;
};

class EnginePort {
 public:
  virtual ~EnginePort() = default;
  virtual Completion command(const Command& cmd) = 0;
};

class QueuePort {
 public:
  virtual ~QueuePort() = default;
  // Pops the head of the lowest-numbered non-empty queue in mask; false if all
  // are empty. cycle: when, on the popping core's clock.
  virtual bool pop(uint32_t mask, uint64_t* value, uint64_t cycle) = 0;
  virtual bool ready(uint32_t mask) const = 0;
  // Queues that hold an entry, bit q for queue q (an RTL core's input every
  // cycle); by default from ready().
  virtual uint32_t nonempty() const {
    uint32_t m = 0;
    for (unsigned q = 0; q < 32; ++q)
      if (ready(1u << q)) m |= 1u << q;
    return m;
  }
  // cycle: when the entry is pushed, on the pushing core's clock (which may
  // run ahead of the device's, in a quantum).
  virtual void push(uint32_t queue, uint64_t value, uint64_t cycle) = 0;
};

}  // namespace npu::iss
