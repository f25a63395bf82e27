// npu iss IMAGE: runs a microcode image on the instruction-set simulator's
// machine (every thread of every core from the entry point) until no thread
// can go on or a cycle limit, then reports per core and thread: state, pc,
// instructions, stalls, faults, and optionally registers and a trace.
#include "cli/commands.h"
#include "compiler/npu/image.h"
#include "sim/iss/image_load.h"
#include "sim/iss/machine.h"
#include "sim/iss/trace.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace npu_cli {
namespace {

struct Options {
  std::string file, timing, trace, entry;
  unsigned cores = 1, threads = 1;
  uint64_t max_cycles = 10'000'000;
  bool regs = false, json = false;
};

const char* state_name(npu::iss::ThreadState s) {
  switch (s) {
    case npu::iss::ThreadState::kReady:
      return "ready";
    case npu::iss::ThreadState::kQueue:
      return "queue-wait";
    case npu::iss::ThreadState::kHalted:
      return "halted";
    case npu::iss::ThreadState::kFaulted:
      return "faulted";
  }
  return "?";
}

const char* fault_name(uint64_t cause) {
  for (const npu::FaultInfo& f : npu::faults())
    if (f.number == cause) return f.id;
  return "?";
}

// A file for the trace that is closed on every path out.
struct TraceFile {
  std::FILE* f = nullptr;
  bool owned = false;
  ~TraceFile() {
    if (owned && f) std::fclose(f);
  }
};

void run(const Options& o) {
  npu::Image img = npu::read_image(o.file);
  npu::iss::MachineConfig cfg;
  cfg.cores = o.cores;
  cfg.threads = o.threads;
  if (!o.timing.empty()) cfg.timing = npu::iss::Timing::from_yaml_file(o.timing);
  npu::iss::Machine m(cfg);
  npu::iss::load_image(m, img);
  uint64_t entry = o.entry.empty() ? img.entry : npu::iss::symbol_value(img, o.entry);

  TraceFile tf;
  std::unique_ptr<npu::iss::TextTracer> tracer;
  if (!o.trace.empty()) {
    if (o.trace == "-") {
      tf.f = stdout;
    } else {
      tf.f = std::fopen(o.trace.c_str(), "w");
      if (!tf.f) throw std::runtime_error(o.trace + ": cannot write");
      tf.owned = true;
    }
    tracer = std::make_unique<npu::iss::TextTracer>(tf.f);
    m.set_tracer(tracer.get());
  }
  m.boot(entry);
  npu::iss::Machine::Stop stop = m.run(o.max_cycles);
  if (tf.f) std::fflush(tf.f);

  nlohmann::json j{{"file", o.file},
                   {"entry", entry},
                   {"stopped", stop == npu::iss::Machine::Stop::kIdle ? "idle" : "cycle limit"},
                   {"cycles", m.cycle()},
                   {"clock_mhz", cfg.timing.clock_mhz}};
  j["cores"] = nlohmann::json::array();
  for (unsigned c = 0; c < m.ncores(); ++c) {
    npu::iss::Core& core = m.core(c);
    const npu::iss::CoreStats& cs = core.stats();
    nlohmann::json cj{{"core", c},       {"cycles", core.cycle()}, {"busy", cs.busy},
                      {"idle", cs.idle}, {"swaps", cs.swaps},      {"instret", core.instret()}};
    cj["threads"] = nlohmann::json::array();
    for (unsigned t = 0; t < core.nthreads(); ++t) {
      const npu::iss::Thread& th = core.thread(t);
      nlohmann::json tj{{"thread", t},
                        {"state", state_name(th.state)},
                        {"pc", th.pc},
                        {"instret", th.stats.instret},
                        {"issue_cycles", th.stats.issue_cycles}};
      nlohmann::json stalls = nlohmann::json::object();
      for (unsigned u = 0; u < unsigned(npu::Unit::kCount); ++u)
        if (th.stats.stall_on[u]) stalls[npu::unit_name(npu::Unit(u))] = th.stats.stall_on[u];
      tj["stalls"] = stalls;
      if (th.cause)
        tj["fault"] = {{"cause", fault_name(th.cause)}, {"epc", th.epc}, {"badaddr", th.badaddr}};
      if (o.regs) {
        tj["regs"] = nlohmann::json::array();
        for (uint64_t r : th.r) tj["regs"].push_back(r);
      }
      cj["threads"].push_back(tj);
    }
    j["cores"].push_back(cj);
  }
  if (o.json) {
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << fmt::format("npu iss: {} on {} core(s) x {} thread(s) at {} MHz, entry {}\n", o.file,
                           cfg.cores, cfg.threads, cfg.timing.clock_mhz, entry);
  std::cout << fmt::format("stopped: {} after {} cycles\n", j["stopped"].get<std::string>(),
                           m.cycle());
  for (const auto& cj : j["cores"]) {
    uint64_t cyc = cj["cycles"], busy = cj["busy"];
    std::cout << fmt::format("core {}: {} instructions, busy {} of {} cycles ({:.1f}%), {} swaps\n",
                             cj["core"].get<unsigned>(), cj["instret"].get<uint64_t>(), busy, cyc,
                             cyc ? 100.0 * double(busy) / double(cyc) : 0.0,
                             cj["swaps"].get<uint64_t>());
    for (const auto& tj : cj["threads"]) {
      std::string line = fmt::format("  t{:<2} {:<10} pc {:<6} {} instructions",
                                     tj["thread"].get<unsigned>(), tj["state"].get<std::string>(),
                                     tj["pc"].get<uint64_t>(), tj["instret"].get<uint64_t>());
      for (const auto& [unit, n] : tj["stalls"].items())
        line += fmt::format(", {} cycles waiting on {}", n.get<uint64_t>(), unit);
      if (tj.contains("fault"))
        line += fmt::format(
            "; last fault {} at pc {} (address 0x{:x})", tj["fault"]["cause"].get<std::string>(),
            tj["fault"]["epc"].get<uint64_t>(), tj["fault"]["badaddr"].get<uint64_t>());
      std::cout << line << "\n";
      if (o.regs) {
        std::string regs;
        for (unsigned r = 0; r < npu::kNumRegs; ++r) {
          uint64_t v = tj["regs"][r];
          if (v) regs += fmt::format(" r{}=0x{:x}", r, v);
        }
        std::cout << "     " << (regs.empty() ? " (all registers 0)" : regs) << "\n";
      }
    }
  }
}

}  // namespace

void add_iss(CLI::App& app) {
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "iss", "run an NPU image on the instruction-set simulator and report threads and cycles");
  cmd->add_option("image", opt->file, "image written by 'npu as'")->required();
  cmd->add_option("--entry", opt->entry, "symbol where every thread starts (default: e_entry)");
  cmd->add_option("--cores", opt->cores, "cores")->check(CLI::Range(1u, 256u));
  cmd->add_option("--threads", opt->threads, "threads per core")->check(CLI::Range(1u, 64u));
  cmd->add_option("--timing", opt->timing, "timing YAML (sim/iss/npu-timing.yaml lists the keys)");
  cmd->add_option("--max-cycles", opt->max_cycles, "stop after this many cycles")
      ->check(CLI::Range(uint64_t(1), uint64_t(1) << 40));
  cmd->add_option("--trace", opt->trace, "write one line per retired instruction ('-': stdout)");
  cmd->add_flag("--regs", opt->regs, "print every thread's registers");
  cmd->add_flag("--json", opt->json, "machine-readable report");
  cmd->callback([opt] { run(*opt); });
}

}  // namespace npu_cli
