#include "sim/nic/report.h"

#include "sim/nic/latency.h"
#include "sim/traffic/traffic_spec.h"

#include <fmt/format.h>

#include <algorithm>

namespace npu::nic {
namespace {

double ratio(double a, double b) {
  return b > 0 ? a / b : 0;
}

}  // namespace

const char* fate_name(Fate f) {
  static const char* const kNames[] = {"pending", "tx",        "host",         "redirect",
                                       "dropped", "no_buffer", "too_long",     "runt",
                                       "tx_full", "host_full", "redirect_full"};
  static_assert(sizeof kNames / sizeof kNames[0] == size_t(Fate::kCount), "a name per fate");
  return kNames[size_t(f)];
}

nlohmann::json make_stats(Nic& nic, const std::string& program) {
  using nlohmann::json;
  const NicConfig& cfg = nic.config();
  const PacketLog& log = nic.log();
  const double period_ps = cfg.period_ps();
  json j;
  j["program"] = program;
  j["config"] = {
      {"cores", cfg.cores},
      {"threads", cfg.threads},
      {"clock_mhz", cfg.timing.clock_mhz},
      {"line_gbps", cfg.line_gbps},
      {"dispatch", dispatch_mode_name(cfg.dispatch)},
      {"flow_key", flow_key_name(cfg.flow_key)},
      {"core_model", cfg.core_model},
      {"rtl_cores", cfg.core_model == "rtl" ? (cfg.rtl_cores ? cfg.rtl_cores : cfg.cores) : 0}};

  // Offered: as the receive MAC saw the frames.
  uint64_t n = log.size(), wire_bytes = 0, frame_bytes = 0;
  for (const PacketRecord& r : log) {
    wire_bytes += traffic::wire_bytes(r.len);
    frame_bytes += std::max<uint64_t>(r.len, 60) + 4;
  }
  const MacRx& mac = nic.mac_rx();
  double in_span_ps = double(mac.last_ps() - mac.first_ps());
  // Rate of arrivals: the first frame's start to the last one's end.
  double offered_pps = ratio(double(n) * 1e12, in_span_ps);
  json offered = {{"packets", n},
                  {"bytes", frame_bytes},
                  {"mpps", offered_pps / 1e6},
                  {"gbps", ratio(double(frame_bytes) * 8e12, in_span_ps) / 1e9},
                  {"line_utilisation", ratio(mac.busy_ps(), in_span_ps)}};
  j["offered"] = offered;

  // Achieved: packets the card acted on, at the rate they left it.
  uint64_t processed = 0, out_bytes = 0;
  uint64_t last_done = 0;
  std::array<uint64_t, size_t(Fate::kCount)> fates{};
  LatencyRecorder lat_all;
  std::array<LatencyRecorder, size_t(Fate::kCount)> lat_by;
  for (size_t i = 0; i < log.size(); ++i) {
    const PacketRecord& r = log[i];
    fates[size_t(r.fate)]++;
    if (r.fate == Fate::kPending || nic_drop(r.fate)) continue;
    processed++;
    out_bytes += std::max<uint64_t>(r.len, 60) + 4;
    last_done = std::max(last_done, r.done_ps);
    uint64_t ns = (r.done_ps - std::min(r.done_ps, r.arrive_ps)) / 1000;
    lat_all.record(ns);
    lat_by[size_t(r.fate)].record(ns);
  }
  // Achieved: the rate at which packets left the card (a verdict, and for
  // outputs their last byte out) over the middle 80% of exits. A card that
  // keeps up lets them out at the offered rate, shifted by the latency; one
  // that falls behind (cores, an engine, PCIe) at the rate of what limits it.
  // The first and last tenth are left out: the pipeline filling and draining,
  // and packets of different latencies crossing at the ends.
  std::vector<uint64_t> exits, arrivals;
  for (const PacketRecord& r : log) {
    arrivals.push_back(r.arrive_ps);
    if (r.fate != Fate::kPending && !nic_drop(r.fate)) exits.push_back(r.done_ps);
  }
  std::sort(exits.begin(), exits.end());
  std::sort(arrivals.begin(), arrivals.end());
  // The rate over the middle 80% of a sorted list of times (all of it when short).
  auto mid_rate = [](const std::vector<uint64_t>& t) {
    if (t.size() < 2) return 0.0;
    size_t lo = t.size() / 10, hi = t.size() - 1 - t.size() / 10;
    return t[hi] > t[lo] ? double(hi - lo) * 1e12 / double(t[hi] - t[lo]) : 0.0;
  };
  // Both rates over the same middle part, so that bursts and gaps in the
  // traffic count alike on both sides; the share kept up scales the offered rate.
  const double exit_rate = mid_rate(exits), arrival_rate = mid_rate(arrivals);
  double kept_share = arrival_rate > 0 && exits.size() >= 2
                          ? std::min(1.0, exit_rate / arrival_rate)
                          : ratio(double(exits.size()), double(n));
  double achieved_pps = offered_pps * kept_share;
  json achieved = {{"packets", processed},
                   {"mpps", achieved_pps / 1e6},
                   {"gbps", ratio(double(out_bytes), double(processed)) * 8 * achieved_pps / 1e9}};
  j["achieved"] = achieved;
  json fate_j;
  for (size_t f = 0; f < fates.size(); ++f) fate_j[fate_name(Fate(f))] = fates[f];
  j["packets"] = fate_j;
  json drops = {{"no_buffer", fates[size_t(Fate::kNoBuffer)]},
                {"too_long", fates[size_t(Fate::kTooLong)]},
                {"runt", fates[size_t(Fate::kRunt)]},
                {"tx_full", fates[size_t(Fate::kTxFull)]},
                {"host_full", fates[size_t(Fate::kHostFull)]},
                {"redirect_full", fates[size_t(Fate::kRedirectFull)]},
                {"by_program", fates[size_t(Fate::kDropped)]}};
  j["drops"] = drops;
  auto lat_json = [](const LatencyRecorder& l) {
    return json{{"count", l.count()},      {"min", l.min()},          {"mean", l.mean()},
                {"p50", l.percentile(50)}, {"p99", l.percentile(99)}, {"p999", l.percentile(99.9)},
                {"max", l.max()}};
  };
  j["latency_ns"] = lat_json(lat_all);
  for (Fate f : {Fate::kTx, Fate::kHost, Fate::kRedirect, Fate::kDropped})
    if (lat_by[size_t(f)].count())
      j["latency_ns_by_fate"][fate_name(f)] = lat_json(lat_by[size_t(f)]);

  // The measured window: from the first arrival to the last packet's exit.
  const uint64_t t0 = mac.first_ps();
  const uint64_t t1 = std::max({last_done, mac.last_ps(), t0 + 1});
  const double window_cycles = double(t1 - t0) / period_ps;
  j["window_ns"] = double(t1 - t0) / 1000;

  // Cores: pipeline busy, threads holding packets, stalls by cause.
  json cores = json::array();
  std::vector<double> hold(cfg.cores, 0);
  for (const PacketRecord& r : log)
    if (r.fate != Fate::kPending && !nic_drop(r.fate) && r.end_cycle >= r.start_cycle)
      hold[r.core] += double(r.end_cycle - r.start_cycle);
  double busy_sum = 0, hold_sum = 0;
  std::array<double, size_t(npu::Unit::kCount)> stall_sum{};
  uint64_t insns = 0;
  for (unsigned c = 0; c < cfg.cores; ++c) {
    CoreSnapshot a = nic.snapshot(c), b = nic.now_counters(c);
    double busy = double(b.busy - a.busy);
    json stalls;
    for (size_t u = 0; u < stall_sum.size(); ++u) {
      double s = double(b.stall_on[u] - a.stall_on[u]);
      stall_sum[u] += s;
      if (s > 0) stalls[npu::unit_name(npu::Unit(u))] = s;
    }
    insns += b.instret - a.instret;
    busy_sum += busy;
    hold_sum += hold[c];
    cores.push_back({{"core", c},
                     {"utilisation", ratio(busy, window_cycles)},
                     {"thread_occupancy", ratio(hold[c], window_cycles * cfg.threads)},
                     {"instructions", b.instret - a.instret},
                     {"stall_cycles", stalls}});
  }
  json stall_total;
  double stall_all = 0;
  for (size_t u = 0; u < stall_sum.size(); ++u) stall_all += stall_sum[u];
  for (size_t u = 0; u < stall_sum.size(); ++u)
    if (stall_sum[u] > 0)
      stall_total[npu::unit_name(npu::Unit(u))] = ratio(stall_sum[u], stall_all);
  j["cores"] = {{"utilisation", ratio(busy_sum, window_cycles * cfg.cores)},
                {"thread_occupancy", ratio(hold_sum, window_cycles * cfg.cores * cfg.threads)},
                {"instructions_per_packet", ratio(double(insns), double(processed))},
                {"cycles_per_packet", ratio(hold_sum, double(processed))},
                {"stall_share", stall_total},
                {"per_core", cores}};

  // Engines and memories.
  const EngineBlock& eb = nic.engine_block();
  json engines;
  std::vector<std::pair<std::string, double>> util;  // resource -> utilisation
  for (size_t p = 0; p < size_t(Pool::kNone); ++p) {
    const PoolStats& s = eb.stats(Pool(p));
    double u = ratio(double(s.busy_cycles), window_cycles * eb.units(Pool(p)));
    engines[pool_name(Pool(p))] = {
        {"commands", s.commands},
        {"utilisation", u},
        {"mean_wait_cycles", ratio(double(s.wait_cycles), double(s.commands))},
        {"max_wait_cycles", s.max_wait},
        {"max_queue_depth", s.max_depth},
        {"over_queue_depth", s.over_depth}};
    if (s.commands) util.push_back({pool_name(Pool(p)), u});
  }
  j["engines"] = engines;
  json mems;
  auto mem = [&](const char* name, const BankTimer& t) {
    const MemoryStats& s = t.stats();
    double u = ratio(double(s.busy_cycles), window_cycles * t.banks());
    mems[name] = {{"accesses", s.accesses},
                  {"bytes", s.bytes},
                  {"utilisation", u},
                  {"mean_wait_cycles", ratio(double(s.wait_cycles), double(s.accesses))},
                  {"max_wait_cycles", s.max_wait}};
    if (s.accesses) util.push_back({std::string(name) + " memory", u});
  };
  mem("packet buffer", nic.memory(iss::Region::PKT));
  mem("cluster SRAM", nic.memory(iss::Region::CLS));
  mem("external DRAM", nic.memory(iss::Region::EMEM));
  mem("map value", nic.engine_block().map_memory());
  j["memories"] = mems;

  // Queues and outputs.
  const Egress& eg = nic.egress();
  const DispatchStats& ds = nic.dispatcher().stats();
  auto link = [&](const Link& l) {
    return json{{"frames", l.stats().frames},
                {"utilisation", ratio(l.stats().busy_ps, double(t1 - t0))},
                {"max_fifo", l.stats().max_fifo},
                {"drops", l.stats().drops}};
  };
  j["queues"] = {{"max_rx_queue", ds.max_rx_queue},    {"max_frames_in_use", ds.max_frames_used},
                 {"buffer_frames", cfg.buffer_frames}, {"held_for_flow", ds.held},
                 {"reordered", eg.stats().reordered},  {"max_reorder_held", eg.stats().max_held}};
  j["outputs"] = {
      {"tx", link(eg.tx())}, {"redirect", link(eg.redirect())}, {"pcie", link(eg.pcie())}};
  double occupancy = ratio(hold_sum, window_cycles * cfg.cores * cfg.threads);
  util.push_back({"cores (hardware threads)", occupancy});
  util.push_back({"transmit MAC", ratio(eg.tx().stats().busy_ps, double(t1 - t0))});
  util.push_back({"PCIe DMA to host", ratio(eg.pcie().stats().busy_ps, double(t1 - t0))});
  util.push_back({"redirect port", ratio(eg.redirect().stats().busy_ps, double(t1 - t0))});
  std::sort(util.begin(), util.end(), [](auto& a, auto& b) { return a.second > b.second; });
  json uj = json::array();
  for (auto& [name, u] : util) uj.push_back({{"resource", name}, {"utilisation", u}});
  j["utilisation"] = uj;

  // Line rate: every offered frame acted on, at the rate it came.
  uint64_t capacity_drops = 0;
  for (size_t f = 0; f < fates.size(); ++f)
    if (capacity_drop(Fate(f))) capacity_drops += fates[f];
  bool kept_up = capacity_drops == 0 && fates[size_t(Fate::kPending)] == 0 && kept_share >= 0.99;
  j["kept_up"] = kept_up;
  double line_pps = ratio(double(cfg.line_gbps) * 1e9, 8.0 * ratio(double(wire_bytes), double(n)));
  j["line_rate_mpps"] = line_pps / 1e6;
  j["line_rate"] = kept_up && offered_pps >= 0.99 * line_pps;
  if (!kept_up) {
    // The bottleneck: flows held back by atomic dispatch; a saturated engine,
    // memory or link (busy threads are its consequence); the outputs whose
    // FIFOs overflowed; else the busiest resource, threads included.
    std::string b;
    // Atomic dispatch: most packets waited for an earlier one of their flow.
    if (cfg.dispatch == DispatchMode::kAtomic && ds.held * 2 > n)
      b = fmt::format("atomic dispatch (one packet per {} in flight)", flow_key_name(cfg.flow_key));
    for (auto& [name, u] : util)
      if (b.empty() && u >= 0.9 && name != "cores (hardware threads)") b = name;
    if (b.empty() && fates[size_t(Fate::kNoBuffer)] && occupancy < 0.9)
      b = "packet buffer (no free frame)";
    if (b.empty() && fates[size_t(Fate::kTxFull)]) b = "transmit MAC";
    if (b.empty() && fates[size_t(Fate::kHostFull)]) b = "PCIe DMA to host";
    if (b.empty() && fates[size_t(Fate::kRedirectFull)]) b = "redirect port";
    if (b.empty() && !util.empty()) b = util.front().first;
    j["bottleneck"] = b;
  }
  return j;
}

std::string format_report(const nlohmann::json& j) {
  std::string s;
  const auto& c = j["config"];
  const unsigned rtl = c.value("rtl_cores", 0u);
  std::string cores = rtl == 0                            ? ""
                      : rtl == c["cores"].get<unsigned>() ? " (RTL)"
                                                          : fmt::format(" ({} RTL)", rtl);
  s += fmt::format("{}: {} cores{} x {} threads at {} MHz, {} GbE, {} dispatch\n",
                   j["program"].get<std::string>(), c["cores"].get<unsigned>(), cores,
                   c["threads"].get<unsigned>(), c["clock_mhz"].get<unsigned>(),
                   c["line_gbps"].get<unsigned>(), c["dispatch"].get<std::string>());
  s += fmt::format("  offered   {:>9.2f} Mpps {:>8.2f} Gb/s  ({} packets, line {:.2f} Mpps)\n",
                   j["offered"]["mpps"].get<double>(), j["offered"]["gbps"].get<double>(),
                   j["offered"]["packets"].get<uint64_t>(), j["line_rate_mpps"].get<double>());
  s += fmt::format("  achieved  {:>9.2f} Mpps {:>8.2f} Gb/s  {}\n",
                   j["achieved"]["mpps"].get<double>(), j["achieved"]["gbps"].get<double>(),
                   j["kept_up"].get<bool>()
                       ? (j["line_rate"].get<bool>() ? "(line rate)" : "(kept up)")
                       : fmt::format("(bottleneck: {})", j["bottleneck"].get<std::string>()));
  const auto& l = j["latency_ns"];
  s += fmt::format("  latency   p50 {} ns, p99 {} ns, max {} ns\n", l["p50"].get<uint64_t>(),
                   l["p99"].get<uint64_t>(), l["max"].get<uint64_t>());
  const auto& p = j["packets"];
  s += fmt::format("  verdicts  tx {}, pass to host {}, redirect {}, dropped by program {}\n",
                   p["tx"].get<uint64_t>(), p["host"].get<uint64_t>(),
                   p["redirect"].get<uint64_t>(), p["dropped"].get<uint64_t>());
  const auto& d = j["drops"];
  std::string nic_drops;
  for (const char* k : {"no_buffer", "too_long", "runt", "tx_full", "host_full", "redirect_full"})
    if (uint64_t n = d[k].get<uint64_t>())
      nic_drops += fmt::format("{}{} {}", nic_drops.empty() ? "" : ", ", k, n);
  if (!nic_drops.empty()) s += "  NIC drops " + nic_drops + "\n";
  const auto& k = j["cores"];
  std::string stalls;
  for (auto& [name, share] : k["stall_share"].items())
    stalls +=
        fmt::format("{}{} {:.0f}%", stalls.empty() ? "" : ", ", name, share.get<double>() * 100);
  s += fmt::format(
      "  cores     {:.0f}% busy, threads {:.0f}% occupied, {:.0f} cycles and {:.0f} "
      "instructions per packet\n",
      k["utilisation"].get<double>() * 100, k["thread_occupancy"].get<double>() * 100,
      k["cycles_per_packet"].get<double>(), k["instructions_per_packet"].get<double>());
  if (!stalls.empty()) s += "  stalls    " + stalls + "\n";
  std::string top;
  int shown = 0;
  for (const auto& u : j["utilisation"]) {
    if (shown++ == 4) break;
    top += fmt::format("{}{} {:.0f}%", top.empty() ? "" : ", ", u["resource"].get<std::string>(),
                       u["utilisation"].get<double>() * 100);
  }
  s += "  busiest   " + top + "\n";
  return s;
}

}  // namespace npu::nic
