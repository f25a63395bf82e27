#include "sim/nic/session.h"

#include "driver/device.h"
#include "sim/nic/chrome_trace.h"
#include "sim/nic/nic.h"
#include "sim/nic/progress.h"
#include "sim/nic/report.h"

#include <fmt/format.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

namespace npu::nic {
namespace {

// Perfetto wants pids and tids from 1, and tids unique across the trace.
constexpr uint32_t kPacketsPid = 1;
constexpr uint32_t kEnginesPid = 100000;  // after any core's pid (core + 2)
uint32_t core_pid(unsigned core) {
  return core + 2;
}

void write_json(const std::string& path, const nlohmann::json& j) {
  std::ofstream out(path);
  out << j.dump(2) << "\n";
  if (!out) throw std::runtime_error(path + ": cannot write");
}

}  // namespace

driver::DeviceConfig device_config(const NicConfig& cfg) {
  driver::DeviceConfig dc;
  dc.cores = cfg.cores;
  dc.threads = cfg.threads;
  dc.map_cpus = cfg.percpu_copies();
  dc.timing = cfg.timing;
  dc.code_store = cfg.code_store;
  return dc;
}

SimOutcome simulate(const Image& program, const std::string& name, const SimSetup& s) {
  const NicConfig& cfg = s.nic;
  if (s.packets.empty()) throw std::runtime_error(name + ": no packets to offer");
  if (!s.trace_rtl.empty() && cfg.core_model != "rtl")
    throw std::runtime_error(name + ": --trace-rtl needs the RTL core (cores: {model: rtl})");
  Image fw = read_image(s.firmware);
  Nic nic("nic", cfg);
  driver::Device dev(fw, nic, device_config(cfg));
  dev.load(program, name);
  nic.prog_slot = dev.prog_slot(s.prog);
  if (!s.maps_json.empty()) dev.load_maps_json(s.maps_json);
  // Waveforms from here: the traffic, not the boot and the loading.
  if (!s.trace_rtl.empty()) nic.core_module(0).rtl_core()->trace_to(s.trace_rtl);

  std::optional<std::filesystem::path> out;
  std::unique_ptr<traffic::PcapWriter> tx, host, redirect;
  if (!s.out_dir.empty()) {
    out = s.out_dir;
    std::error_code ec;
    std::filesystem::create_directories(*out, ec);
    if (ec) throw std::runtime_error(fmt::format("{}: {}", s.out_dir, ec.message()));
    tx = std::make_unique<traffic::PcapWriter>((*out / "tx.pcap").string());
    host = std::make_unique<traffic::PcapWriter>((*out / "host.pcap").string());
    redirect = std::make_unique<traffic::PcapWriter>((*out / "redirect.pcap").string());
  }
  std::unique_ptr<ChromeTrace> trace;
  if (!s.trace.empty()) {
    trace = std::make_unique<ChromeTrace>(s.trace, s.trace_max_events);
    trace->process_name(kPacketsPid, "packets");
    for (unsigned c = 0; c < cfg.cores; ++c) {
      trace->process_name(core_pid(c), fmt::format("core {}", c));
      for (unsigned t = 0; t < cfg.threads; ++t)
        trace->thread_name(core_pid(c), c * cfg.threads + t + 1, fmt::format("thread {}", t));
    }
    trace->process_name(kEnginesPid, "engines");
    for (size_t p = 0; p < size_t(Pool::kNone); ++p)
      trace->thread_name(kEnginesPid, uint32_t(p) + 1, pool_name(Pool(p)));
  }

  SimOutcome o;
  if (s.keep_outputs) o.results.resize(s.packets.size());
  const double period_ps = cfg.period_ps();
  const uint64_t t0_ns = s.packets.front().ts_ns;
  uint64_t finished = 0;
  nic.on_output = [&](uint64_t i, Fate f, const uint8_t* p, size_t n) {
    ++finished;
    const PacketRecord& r = nic.log()[i];
    if (s.keep_outputs)
      o.results[i] = {f,         r.status,      r.target,   std::vector<uint8_t>(p, p + n),
                      r.done_ps, r.start_cycle, r.end_cycle};
    uint64_t ts = (r.done_ps - nic.window_start_ps()) / 1000 + t0_ns;
    traffic::PcapWriter* w = f == Fate::kTx         ? tx.get()
                             : f == Fate::kHost     ? host.get()
                             : f == Fate::kRedirect ? redirect.get()
                                                    : nullptr;
    if (w) w->write(p, n, ts);
    if (trace && !nic_drop(f)) {
      const uint64_t w0 = nic.window_start_ps();
      uint64_t start_ns = uint64_t(double(r.start_cycle) * period_ps - double(w0)) / 1000;
      uint64_t end_ns = uint64_t(double(r.end_cycle) * period_ps - double(w0)) / 1000;
      trace->complete(core_pid(r.core), r.core * cfg.threads + r.thread + 1,
                      fmt::format("packet {}", i), fate_name(f), start_ns,
                      end_ns - std::min(end_ns, start_ns),
                      {{"verdict", uint64_t(r.status)}, {"flow_domain", uint64_t(r.domain)}});
      trace->async_begin(kPacketsPid, "packet", fate_name(f), i, (r.arrive_ps - w0) / 1000);
      trace->async_end(kPacketsPid, "packet", fate_name(f), i, (r.done_ps - w0) / 1000);
    }
  };
  if (trace)
    nic.engine_block().on_command = [&](Pool p, const iss::Command& cmd, uint64_t start,
                                        uint64_t cycles) {
      const uint64_t w0 = nic.window_start_ps();
      double ts = double(start) * period_ps - double(w0);
      if (ts < 0) return;  // loading, before the traffic
      trace->complete(kEnginesPid, uint32_t(p) + 1, npu::op_info(cmd.op).mnemonic, "engine",
                      uint64_t(ts) / 1000, uint64_t(double(cycles) * period_ps) / 1000,
                      {{"core", uint64_t(cmd.core)}, {"thread", uint64_t(cmd.thread)}});
    };

  std::vector<std::vector<uint8_t>> bytes;
  std::vector<uint64_t> start_ps;
  bytes.reserve(s.packets.size());
  for (const traffic::Packet& p : s.packets) {
    bytes.push_back(p.data);
    start_ps.push_back(s.use_timestamps ? (p.ts_ns - std::min(p.ts_ns, t0_ns)) * 1000 : 0);
  }
  const auto host0 = std::chrono::steady_clock::now();
  const uint64_t cycle0 = nic.cycle();
  nic.offer(std::move(bytes), start_ps);
  Progress bar(s.packets.size(), name, stderr);
  bar.set_enabled(s.progress && bar.enabled());
  // Runs in slices, for the progress bar and to see a hang.
  const uint64_t slice = 200'000;
  uint64_t idle_since = 0, last_finished = 0;
  while (nic.run(slice) == iss::Backend::Stop::kLimit) {
    bar.update(finished);
    if (finished != last_finished || !nic.mac_rx().done()) {
      last_finished = finished;
      idle_since = 0;
    } else if ((idle_since += slice) >= s.hang_cycles) {
      throw std::runtime_error(
          fmt::format("{}: the card finished no packet in {} cycles ({} of {} done): hung", name,
                      s.hang_cycles, finished, s.packets.size()));
    }
  }
  bar.finish();
  const double host_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - host0).count();
  const uint64_t cycles = nic.cycle() - cycle0;
  if (finished != s.packets.size())
    throw std::runtime_error(fmt::format("{}: {} of {} packets never left the card", name,
                                         s.packets.size() - finished, s.packets.size()));

  o.stats = make_stats(nic, name);
  // The simulator's own speed (host time varies from run to run).
  o.stats["simulator"] = {
      {"host_seconds", host_s},
      {"packets_per_second", host_s > 0 ? double(s.packets.size()) / host_s : 0},
      {"cycles_per_second", host_s > 0 ? double(cycles) / host_s : 0}};
  o.report = format_report(o.stats);
  o.maps = dev.dump_maps_json();
  if (out) {
    tx->close();
    host->close();
    redirect->close();
    write_json((*out / "stats.json").string(), o.stats);
    write_json((*out / "maps.json").string(), o.maps);
  }
  if (trace) trace->close();
  if (!s.trace_rtl.empty()) nic.core_module(0).rtl_core()->close_trace();
  return o;
}

}  // namespace npu::nic
