#include "sim/nic/config.h"

#include "sim/rtl/rtl_core.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <stdexcept>

namespace npu::nic {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& why) {
  throw std::runtime_error(fmt::format("{}: {}", where, why));
}

uint64_t integer(const YAML::Node& n, const std::string& where, uint64_t lo, uint64_t hi) {
  uint64_t v;
  try {
    v = n.as<uint64_t>();
  } catch (const YAML::Exception&) {
    fail(where, "not a non-negative integer");
  }
  if (v < lo || v > hi) fail(where, fmt::format("{} is outside [{}, {}]", v, lo, hi));
  return v;
}

double real(const YAML::Node& n, const std::string& where, double lo, double hi) {
  double v;
  try {
    v = n.as<double>();
  } catch (const YAML::Exception&) {
    fail(where, "not a number");
  }
  if (!(v >= lo && v <= hi)) fail(where, fmt::format("{} is outside [{}, {}]", v, lo, hi));
  return v;
}

std::string text(const YAML::Node& n, const std::string& where) {
  if (!n.IsScalar()) fail(where, "expected a word");
  return n.as<std::string>();
}

// Calls the handler of each key of a mapping; unknown keys are errors.
using Handlers = std::map<std::string, std::function<void(const YAML::Node&, const std::string&)>>;
void each(const YAML::Node& node, const std::string& where, const Handlers& h) {
  if (!node.IsMap()) fail(where, "expected a mapping");
  for (const auto& kv : node) {
    std::string key = kv.first.as<std::string>();
    std::string at = where + (where.back() == ':' ? " " : ".") + key;
    auto it = h.find(key);
    if (it == h.end()) {
      std::string known;
      for (const auto& [k, f] : h) known += (known.empty() ? "" : ", ") + k;
      fail(at, "unknown key (known: " + known + ")");
    }
    it->second(kv.second, at);
  }
}

Handlers memory_keys(SharedMemoryConfig& m, uint64_t* bytes) {
  Handlers h = {
      {"banks", [&m](auto& v, auto& w) { m.banks = uint32_t(integer(v, w, 1, 1024)); }},
      {"bank_bytes",
       [&m](auto& v, auto& w) {
         m.bank_bytes = uint32_t(integer(v, w, 8, 1 << 20));
         if (m.bank_bytes & (m.bank_bytes - 1)) fail(w, "must be a power of two");
       }},
      {"bytes_per_cycle",
       [&m](auto& v, auto& w) { m.bytes_per_cycle = uint32_t(integer(v, w, 1, 4096)); }},
  };
  if (bytes)
    h["bytes"] = [bytes](auto& v, auto& w) {
      *bytes = integer(v, w, 0x20000, uint64_t(1) << 32);
      if (*bytes % 8) fail(w, "must be a multiple of 8");
    };
  return h;
}

Handlers pool_keys(UnitPoolConfig& p) {
  return {
      {"units", [&p](auto& v, auto& w) { p.units = uint32_t(integer(v, w, 1, 1024)); }},
      {"occupancy", [&p](auto& v, auto& w) { p.occupancy = uint32_t(integer(v, w, 1, 4096)); }},
      {"queue_depth",
       [&p](auto& v, auto& w) { p.queue_depth = uint32_t(integer(v, w, 1, 1 << 20)); }},
  };
}

}  // namespace

const char* dispatch_mode_name(DispatchMode m) {
  return m == DispatchMode::kOrdered ? "ordered" : "atomic";
}

const char* flow_key_name(FlowKey k) {
  switch (k) {
    case FlowKey::kFiveTuple:
      return "five-tuple";
    case FlowKey::kAddresses:
      return "addresses";
    case FlowKey::kSource:
      return "source";
  }
  return "?";
}

uint32_t NicConfig::period_ps() const {
  return uint32_t(std::lround(1e6 / timing.clock_mhz));
}

NicConfig NicConfig::from_yaml_text(const std::string& src, const std::string& name) {
  YAML::Node root;
  try {
    root = YAML::Load(src);
  } catch (const YAML::Exception& e) {
    throw std::runtime_error(fmt::format("{}:{}: {}", name, e.mark.line + 1, e.msg));
  }
  NicConfig c;
  if (!root || root.IsNull()) return c;
  Handlers top = {
      {"line_gbps", [&](auto& v, auto& w) { c.line_gbps = uint32_t(integer(v, w, 1, 1600)); }},
      {"timing",
       [&](auto& v, auto& w) {
         YAML::Emitter out;
         out << v;
         c.timing = iss::Timing::from_yaml_text(out.c_str(), w);
       }},
      {"cores",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"count", [&](auto& x, auto& y) { c.cores = uint32_t(integer(x, y, 1, 1024)); }},
               {"threads", [&](auto& x, auto& y) { c.threads = uint32_t(integer(x, y, 1, 64)); }},
               {"model",
                [&](auto& x, auto& y) {
                  c.core_model = text(x, y);
                  if (c.core_model != "iss" && c.core_model != "rtl")
                    fail(y, fmt::format("'{}' is not a core model (iss, rtl)", c.core_model));
                }},
               {"rtl_cores",
                [&](auto& x, auto& y) { c.rtl_cores = uint32_t(integer(x, y, 0, 1024)); }},
               {"quantum_cycles",
                [&](auto& x, auto& y) { c.quantum_cycles = uint32_t(integer(x, y, 1, 1024)); }},
               {"code_store",
                [&](auto& x, auto& y) { c.code_store = integer(x, y, 0x1001, 0x10000); }}});
       }},
      {"buffer",
       [&](auto& v, auto& w) {
         each(v, w, {{"frames", [&](auto& x, auto& y) {
                        c.buffer_frames = uint32_t(integer(x, y, 1, 1 << 18));
                      }}});
       }},
      {"memory",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"pkt", [&](auto& x, auto& y) { each(x, y, memory_keys(c.pkt, nullptr)); }},
               {"cls", [&](auto& x, auto& y) { each(x, y, memory_keys(c.cls, &c.cls_bytes)); }},
               {"emem", [&](auto& x, auto& y) { each(x, y, memory_keys(c.emem, &c.emem_bytes)); }},
               {"map", [&](auto& x, auto& y) { each(x, y, memory_keys(c.map, nullptr)); }}});
       }},
      {"engines",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"map_hash", [&](auto& x, auto& y) { each(x, y, pool_keys(c.map_hash)); }},
               {"map_array", [&](auto& x, auto& y) { each(x, y, pool_keys(c.map_array)); }},
               {"map_lpm", [&](auto& x, auto& y) { each(x, y, pool_keys(c.map_lpm)); }},
               {"atomic", [&](auto& x, auto& y) { each(x, y, pool_keys(c.atomic)); }},
               {"csum", [&](auto& x, auto& y) { each(x, y, pool_keys(c.csum)); }},
               {"hash", [&](auto& x, auto& y) { each(x, y, pool_keys(c.hash)); }},
               {"map_cpus",
                [&](auto& x, auto& y) { c.map_cpus = uint32_t(integer(x, y, 0, 65536)); }},
               {"seed", [&](auto& x, auto& y) { c.seed = integer(x, y, 0, UINT64_MAX); }}});
       }},
      {"dispatch",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"mode",
                [&](auto& x, auto& y) {
                  std::string m = text(x, y);
                  if (m == "ordered")
                    c.dispatch = DispatchMode::kOrdered;
                  else if (m == "atomic")
                    c.dispatch = DispatchMode::kAtomic;
                  else
                    fail(y, fmt::format("'{}' is not a mode (ordered, atomic)", m));
                }},
               {"flow_key",
                [&](auto& x, auto& y) {
                  std::string k = text(x, y);
                  if (k == "five-tuple")
                    c.flow_key = FlowKey::kFiveTuple;
                  else if (k == "addresses")
                    c.flow_key = FlowKey::kAddresses;
                  else if (k == "source")
                    c.flow_key = FlowKey::kSource;
                  else
                    fail(y,
                         fmt::format("'{}' is not a flow key (five-tuple, addresses, source)", k));
                }},
               {"order_domains",
                [&](auto& x, auto& y) { c.order_domains = uint32_t(integer(x, y, 1, 65536)); }},
               {"cycles", [&](auto& x, auto& y) {
                  c.dispatch_cycles = uint32_t(integer(x, y, 0, 1 << 20));
                }}});
       }},
      {"egress",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"cycles",
                [&](auto& x, auto& y) { c.egress_cycles = uint32_t(integer(x, y, 0, 1 << 20)); }},
               {"tx_fifo_frames",
                [&](auto& x, auto& y) { c.tx_fifo_frames = uint32_t(integer(x, y, 1, 1 << 20)); }},
               {"redirect_fifo_frames", [&](auto& x, auto& y) {
                  c.redirect_fifo_frames = uint32_t(integer(x, y, 1, 1 << 20));
                }}});
       }},
      {"host",
       [&](auto& v, auto& w) {
         each(v, w,
              {{"pcie_gbps", [&](auto& x, auto& y) { c.pcie_gbps = real(x, y, 0.001, 10000); }},
               {"dma_overhead_bytes",
                [&](auto& x, auto& y) { c.dma_overhead_bytes = uint32_t(integer(x, y, 0, 4096)); }},
               {"dma_latency_ns",
                [&](auto& x, auto& y) { c.dma_latency_ns = uint32_t(integer(x, y, 0, 1 << 24)); }},
               {"queue_frames",
                [&](auto& x, auto& y) {
                  c.host_queue_frames = uint32_t(integer(x, y, 1, 1 << 20));
                }},
               {"ctrl_latency_ns", [&](auto& x, auto& y) {
                  c.ctrl_latency_ns = uint32_t(integer(x, y, 0, 1 << 24));
                }}});
       }},
  };
  each(root, name + ":", top);
  if (uint64_t(c.cores) * c.threads > 65536)
    fail(name, fmt::format("{} cores of {} threads: at most 65536 threads", c.cores, c.threads));
  if (c.rtl_cores > c.cores)
    fail(name + ": cores.rtl_cores",
         fmt::format("{} RTL cores on a card of {}", c.rtl_cores, c.cores));
  if (c.rtl_cores && c.core_model != "rtl")
    fail(name + ": cores.rtl_cores", "needs cores.model rtl");
  if (c.core_model == "rtl") {
    // The Verilated core's shape and what its divider and fetch need.
    if (c.threads > rtl::max_threads())
      fail(name + ": cores.threads",
           fmt::format("{} threads: the RTL core has at most {}", c.threads, rtl::max_threads()));
    std::string why = rtl::unsupported_timing(c.timing);
    if (!why.empty()) fail(name + ": timing", why + " (cores.model rtl)");
  }
  return c;
}

NicConfig NicConfig::from_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return from_yaml_text(ss.str(), path);
}

}  // namespace npu::nic
