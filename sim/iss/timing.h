// Timing of the NPU: per-opcode issue cycles (isa.def's column, overridable),
// the latency of each memory and engine, and the thread-swap and branch costs.
// Functional results never depend on any of it. docs/iss.md lists the defaults
// and the YAML keys; sim/iss/npu-timing.yaml is a commented copy of them.
#pragma once

#include "compiler/npu/isa.h"

#include <array>
#include <cstdint>
#include <string>

namespace npu::iss {

// Memory regions, by device address (firmware/abi.h's map).
enum class Region : uint8_t { LM, PKT, CLS, EMEM, MAP, kCount };
const char* region_name(Region r);

struct Timing {
  uint32_t clock_mhz = 1000;
  uint32_t swap_cycles = 1;               // switching the core to another thread
  uint32_t branch_taken_cycles = 1;       // extra cycles when a branch or jump is taken
  std::array<uint8_t, kNumOps> cycles{};  // issue cycles per instruction id
  // Cycles from issue until a loaded value is usable (stores are posted; their
  // completion counts for `wait`).
  std::array<uint32_t, size_t(Region::kCount)> mem_latency{1, 2, 20, 150, 60};
  uint32_t atomic = 40;      // atomic unit, on top of nothing: it owns the memory access
  uint32_t map = 50;         // map engine command (hash, array or LPM), queueing not modelled here
  uint32_t csum = 4;         // checksum engine: fixed part
  uint32_t csum_per_8b = 1;  // ... plus one cycle per 8 bytes summed
  uint32_t hash = 6;
  uint32_t rand = 2;
  uint32_t time = 2;
  uint32_t queue = 4;  // qget, from a non-empty queue

  Timing();  // the defaults, with cycles from isa.def

  // Reads a YAML file (keys as in docs/iss.md); unknown keys and bad values throw
  // std::runtime_error "<file>: <key>: <reason>".
  static Timing from_yaml_file(const std::string& path);
  static Timing from_yaml_text(const std::string& text, const std::string& name = "<yaml>");

  // Latency of a unit that is not memory (ATOMIC, MAP, ...), for `bytes` of data.
  uint32_t unit_latency(Unit u, uint64_t bytes = 0) const;
};

}  // namespace npu::iss
