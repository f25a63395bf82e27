#include "sim/iss/timing.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace npu::iss {

const char* region_name(Region r) {
  static const char* const kNames[] = {"lm", "pkt", "cls", "emem", "map"};
  return kNames[unsigned(r)];
}

Timing::Timing() {
  for (unsigned i = 0; i < kNumOps; ++i) cycles[i] = op_info(Op(i)).cycles;
}

uint32_t Timing::unit_latency(Unit u, uint64_t bytes) const {
  switch (u) {
    case Unit::ATOMIC:
      return atomic;
    case Unit::MAP:
      return map;
    case Unit::CSUM:
      // In 64 bits, saturated: a long buffer at a large per-8-byte cost must not wrap.
      return uint32_t(
          std::min<uint64_t>(UINT32_MAX, uint64_t(csum) + (bytes + 7) / 8 * uint64_t(csum_per_8b)));
    case Unit::HASH:
      return hash;
    case Unit::RAND:
      return rand;
    case Unit::TIME:
      return time;
    case Unit::QUEUE:
      return queue;
    default:
      return 1;
  }
}

namespace {

uint32_t number(const YAML::Node& n, const std::string& where, uint32_t lo, uint32_t hi) {
  uint64_t v;
  try {
    v = n.as<uint64_t>();
  } catch (const YAML::Exception&) {
    throw std::runtime_error(fmt::format("{}: not a non-negative integer", where));
  }
  if (v < lo || v > hi)
    throw std::runtime_error(fmt::format("{}: {} is outside [{}, {}]", where, v, lo, hi));
  return uint32_t(v);
}

}  // namespace

Timing Timing::from_yaml_text(const std::string& text, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg));
  }
  Timing t;
  if (!root || root.IsNull()) return t;
  if (!root.IsMap()) throw std::runtime_error(name + ": expected a mapping");
  constexpr uint32_t kMax = 1u << 20;
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    std::string where = name + ": " + key;
    const YAML::Node& v = kv.second;
    if (key == "clock_mhz") {
      t.clock_mhz = number(v, where, 1, 100000);
    } else if (key == "swap_cycles") {
      t.swap_cycles = number(v, where, 0, kMax);
    } else if (key == "branch_taken_cycles") {
      t.branch_taken_cycles = number(v, where, 0, kMax);
    } else if (key == "cycles") {
      if (!v.IsMap()) throw std::runtime_error(where + ": expected mnemonic: cycles");
      for (const auto& c : v) {
        std::string mn = c.first.as<std::string>();
        uint32_t n = number(c.second, where + "." + mn, 1, 255);
        bool found = false;
        for (unsigned i = 0; i < kNumOps; ++i)
          if (mn == op_info(Op(i)).mnemonic) {
            t.cycles[i] = uint8_t(n);
            found = true;
          }
        if (!found) throw std::runtime_error(fmt::format("{}: no instruction '{}'", where, mn));
      }
    } else if (key == "memory") {
      if (!v.IsMap()) throw std::runtime_error(where + ": expected region: latency");
      for (const auto& c : v) {
        std::string r = c.first.as<std::string>();
        bool found = false;
        for (unsigned i = 0; i < unsigned(Region::kCount); ++i)
          if (r == region_name(Region(i))) {
            t.mem_latency[i] = number(c.second, where + "." + r, 1, kMax);
            found = true;
          }
        if (!found)
          throw std::runtime_error(
              fmt::format("{}: no region '{}' (lm, pkt, cls, emem, map)", where, r));
      }
    } else if (key == "engines") {
      if (!v.IsMap()) throw std::runtime_error(where + ": expected engine: latency");
      for (const auto& c : v) {
        std::string e = c.first.as<std::string>();
        uint32_t n = number(c.second, where + "." + e, 0, kMax);
        if (e == "atomic")
          t.atomic = std::max(n, 1u);
        else if (e == "map")
          t.map = std::max(n, 1u);
        else if (e == "csum")
          t.csum = std::max(n, 1u);
        else if (e == "csum_per_8b")
          t.csum_per_8b = n;
        else if (e == "hash")
          t.hash = std::max(n, 1u);
        else if (e == "rand")
          t.rand = std::max(n, 1u);
        else if (e == "time")
          t.time = std::max(n, 1u);
        else if (e == "queue")
          t.queue = std::max(n, 1u);
        else
          throw std::runtime_error(fmt::format(
              "{}: no engine '{}' (atomic, map, csum, csum_per_8b, hash, rand, time, queue)", where,
              e));
      }
    } else {
      throw std::runtime_error(fmt::format(
          "{}: unknown key (clock_mhz, swap_cycles, branch_taken_cycles, cycles, memory, engines)",
          where));
    }
  }
  return t;
}

Timing Timing::from_yaml_file(const std::string& path) {
  std::ifstream f(path);
  if (!f || std::filesystem::is_directory(path)) throw std::runtime_error(path + ": cannot read");
  std::stringstream ss;
  ss << f.rdbuf();
  return from_yaml_text(ss.str(), path);
}

}  // namespace npu::iss
