// The NIC model's behaviour, checked against what follows from the model:
// line rate for a trivial program, clock / cycles for one thread, throughput
// doubling with cores until an engine or the PCIe link saturates (and the
// report naming it), latency growing with load, and per-flow order. Each
// simulation runs in a child process (SystemC: one simulation per process).
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "driver/device.h"
#include "sim/nic/calendar.h"
#include "sim/nic/nic.h"
#include "sim/nic/session.h"
#include "sim/traffic/packet_build.h"
#include "sim/traffic/traffic_spec.h"
#include "tests/sim/nic_child.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstring>
#include <map>
#include <string>
#include <vector>

namespace {

using nlohmann::json;
using npu::nic::Fate;
using npu::nic::NicConfig;

const std::string kFirmware = NPU_BINARY_DIR "/firmware/firmware.npu";

npu::Image compile(const std::string& name) {
  return npucc::compile(bpf::load_object(std::string(NIC_DATA_DIR "/") + name + ".o"), {}).image;
}

struct SimRun {
  json stats;
  std::vector<json> results;  // fate, done_ps, start and verdict cycles per packet (keep = true)
};

SimRun simulate(const npu::Image& img, const NicConfig& cfg,
                const std::vector<traffic::Packet>& packets, bool keep = false) {
  std::string text = npu::test::run_in_child([&] {
    npu::nic::SimSetup s;
    s.nic = cfg;
    s.firmware = kFirmware;
    s.packets = packets;
    s.keep_outputs = keep;
    npu::nic::SimOutcome o = npu::nic::simulate(img, "test", s);
    json j{{"stats", o.stats}, {"results", json::array()}};
    for (const npu::nic::PacketResult& r : o.results)
      j["results"].push_back({{"fate", int(r.fate)},
                              {"done_ps", r.done_ps},
                              {"start_cycle", r.start_cycle},
                              {"verdict_cycle", r.verdict_cycle}});
    return j.dump();
  });
  json j = json::parse(text);
  return {j["stats"], j["results"].get<std::vector<json>>()};
}

std::vector<traffic::Packet> line_rate(const std::string& spec, uint32_t gbps = 100) {
  return traffic::generate(traffic::TrafficSpec::parse(spec), {}, gbps);
}

double mpps(const SimRun& r) {
  return r.stats["achieved"]["mpps"].get<double>();
}

uint64_t nic_drops(const SimRun& r) {
  const json& d = r.stats["drops"];
  return d["no_buffer"].get<uint64_t>() + d["tx_full"].get<uint64_t>() +
         d["host_full"].get<uint64_t>() + d["redirect_full"].get<uint64_t>();
}

// 60-byte frames (64 on the wire) whose last byte sets spin.c's loop rounds;
// bytes 42..45 carry the flow and 46..49 the packet's number in its flow.
std::vector<traffic::Packet> spin_packets(size_t n, unsigned flows, uint8_t rounds,
                                          uint64_t seed = 0) {
  traffic::SplitMix64 rng(seed);
  std::vector<traffic::Packet> out;
  std::vector<uint32_t> seq(flows, 0);
  for (size_t i = 0; i < n; ++i) {
    uint32_t f = uint32_t(i % flows);
    traffic::Udp udp;
    udp.sport = uint16_t(1000 + f);
    udp.dport = 7;
    std::vector<uint8_t> payload(18, 0);
    std::memcpy(payload.data(), &f, 4);
    std::memcpy(payload.data() + 4, &seq[f], 4);
    ++seq[f];
    traffic::Packet p;
    p.data = traffic::PacketBuilder().ipv4({}).udp(udp).payload(payload).build();
    p.data.resize(60);
    p.data[59] = seed ? uint8_t(rng.below(256)) : rounds;
    out.push_back(p);
  }
  return out;
}

TEST(NicModel, DropAllReachesLineRateAt64Bytes) {
  SimRun r = simulate(compile("drop_all"), NicConfig{}, line_rate("size=64,packets=20000"));
  EXPECT_TRUE(r.stats["line_rate"].get<bool>()) << r.stats.dump(1);
  EXPECT_NEAR(r.stats["offered"]["mpps"].get<double>(), 148.81, 0.05);
  EXPECT_GE(mpps(r), 0.99 * 148.81);
  EXPECT_EQ(nic_drops(r), 0u);
  EXPECT_EQ(r.stats["packets"]["dropped"].get<uint64_t>(), 20000u);
  EXPECT_FALSE(r.stats.contains("bottleneck"));
}

TEST(NicModel, JumboFramesAndRuntsAreDroppedOnReceiveAndCounted) {
  // A frame's data room is 3520 bytes (4096 less descriptor, head- and
  // tailroom); under 14 bytes a frame has no Ethernet header. Neither is a
  // lack of capacity: the card still keeps up with the rest.
  std::vector<traffic::Packet> packets = line_rate("size=1518,packets=50");
  std::vector<traffic::Packet> jumbo = line_rate("size=9018,packets=10");
  packets.insert(packets.end(), jumbo.begin(), jumbo.end());
  for (size_t n : {0, 1, 13}) packets.push_back({std::vector<uint8_t>(n, 0xab), 0});
  for (size_t i = 0; i < packets.size(); ++i) packets[i].ts_ns = i * 1000;
  NicConfig cfg;
  cfg.cores = 2;
  SimRun r = simulate(compile("drop_all"), cfg, packets);
  EXPECT_EQ(r.stats["drops"]["too_long"].get<uint64_t>(), 10u);
  EXPECT_EQ(r.stats["drops"]["runt"].get<uint64_t>(), 3u);
  EXPECT_EQ(r.stats["packets"]["dropped"].get<uint64_t>(), 50u);
  EXPECT_TRUE(r.stats["kept_up"].get<bool>());
}

TEST(NicModel, TrafficWithLongGapsFinishes) {
  // Idle for far longer than the simulator's slice (200,000 cycles).
  std::vector<traffic::Packet> packets = line_rate("size=64,packets=3");
  packets[1].ts_ns = 300'000;
  packets[2].ts_ns = 10'000'000;
  NicConfig cfg;
  cfg.cores = 1;
  SimRun r = simulate(compile("drop_all"), cfg, packets);
  EXPECT_EQ(r.stats["packets"]["dropped"].get<uint64_t>(), 3u);
  EXPECT_TRUE(r.stats["kept_up"].get<bool>());
}

TEST(NicModel, AFullPacketBufferIsNamed) {
  NicConfig cfg;
  cfg.buffer_frames = 2;
  SimRun r = simulate(compile("drop_all"), cfg, line_rate("size=64,packets=2000"));
  EXPECT_GT(r.stats["drops"]["no_buffer"].get<uint64_t>(), 0u);
  EXPECT_FALSE(r.stats["kept_up"].get<bool>());
  EXPECT_EQ(r.stats["bottleneck"], "packet buffer (no free frame)");
}

TEST(NicModel, OneThreadGivesClockOverCycles) {
  npu::Image img = compile("spin");
  std::vector<traffic::Packet> packets = spin_packets(3000, 1, 40);
  // Cycles one packet takes a thread, firmware included, from the ISS device.
  npu::driver::DeviceConfig dc;
  npu::driver::Device dev(npu::read_image(kFirmware), dc);
  dev.load(img);
  npu::driver::XdpResult one = dev.run_xdp("", packets[0].data);
  ASSERT_EQ(one.verdict, 3u);  // XDP_TX
  ASSERT_GT(one.cycles, 100u);
  for (uint32_t mhz : {1000u, 500u}) {
    NicConfig cfg;
    cfg.cores = 1;
    cfg.threads = 1;
    cfg.timing.clock_mhz = mhz;
    SimRun r = simulate(img, cfg, packets);
    double expect = double(mhz) / double(one.cycles);  // Mpps
    EXPECT_NEAR(mpps(r), expect, 0.03 * expect) << mhz << " MHz, " << one.cycles << " cycles";
    EXPECT_EQ(r.stats["bottleneck"], "cores (hardware threads)");
  }
}

TEST(NicModel, ThroughputDoublesWithCoresUntilTheLine) {
  npu::Image img = compile("drop_all");
  std::vector<traffic::Packet> packets = line_rate("size=64,packets=20000");
  double prev = 0;
  for (unsigned cores : {1u, 2u, 4u, 8u, 16u}) {
    NicConfig cfg;
    cfg.cores = cores;
    cfg.threads = 4;
    SimRun r = simulate(img, cfg, packets);
    double now = mpps(r);
    if (prev > 0 && 2 * prev < 0.95 * 148.81) {
      EXPECT_NEAR(now, 2 * prev, 0.05 * 2 * prev) << cores << " cores";
      EXPECT_EQ(r.stats["bottleneck"], "cores (hardware threads)") << cores << " cores";
    }
    if (prev > 0 && 2 * prev > 148.81) {
      // Enough cores: the line is the limit and nothing else.
      EXPECT_TRUE(r.stats["line_rate"].get<bool>()) << cores << " cores";
      EXPECT_NEAR(now, 148.81, 1.0);
    }
    prev = now;
  }
}

TEST(NicModel, ThroughputStopsAtTheMapEngineAndTheReportSaysSo) {
  npu::Image img = compile("lookups");
  std::vector<traffic::Packet> packets = line_rate("size=64,packets=20000");
  NicConfig cfg;
  cfg.threads = 8;
  cfg.map_hash = {2, 20, 256};  // 2 units of 20 cycles: 100 M lookups/s, 25 Mpps of 4 lookups
  const double cap = 1000.0 * 2 / 20 / 4;
  std::vector<double> rate;
  for (unsigned cores : {1u, 2u, 4u, 8u, 16u}) {
    cfg.cores = cores;
    SimRun r = simulate(img, cfg, packets);
    rate.push_back(mpps(r));
    if (rate.size() > 1 && 2 * rate[rate.size() - 2] < 0.6 * cap) {
      EXPECT_NEAR(rate.back(), 2 * rate[rate.size() - 2], 0.1 * rate.back()) << cores << " cores";
    }
    if (cores == 16) {
      EXPECT_FALSE(r.stats["kept_up"].get<bool>());
      EXPECT_EQ(r.stats["bottleneck"], "map hash units") << r.stats["utilisation"].dump();
      EXPECT_LE(rate.back(), 1.02 * cap);
      EXPECT_GE(rate.back(), 0.9 * cap);
    }
  }
}

TEST(NicModel, PassingEverySmallPacketSaturatesPcieAndTheReportSaysSo) {
  // 64-byte frames at 148.8 Mpps, each 60 bytes without the FCS plus 32
  // bytes of DMA overhead, need 110 Gb/s of the 100 Gb/s PCIe link.
  SimRun r = simulate(compile("pass_all"), NicConfig{}, line_rate("size=64,packets=20000"));
  EXPECT_EQ(r.stats["bottleneck"], "PCIe DMA to host");
  EXPECT_GT(r.stats["drops"]["host_full"].get<uint64_t>(), 0u);
  EXPECT_NEAR(mpps(r), 100e3 / 8 / 92, 1.0);  // 135.9 Mpps of 92-byte transfers
  EXPECT_FALSE(r.stats["kept_up"].get<bool>());
}

TEST(NicModel, LatencyGrowsAsTheLoadApproachesCapacity) {
  // Queueing needs variety: random loop rounds (service times) and Poisson
  // arrivals. Evenly spaced packets of equal cost would never wait below
  // capacity.
  npu::Image img = compile("spin");
  NicConfig cfg;
  cfg.cores = 1;
  cfg.threads = 4;
  std::vector<traffic::Packet> base = spin_packets(3000, 64, 0, 11);
  double cap = mpps(simulate(img, cfg, base));  // offered at line rate: far above capacity
  ASSERT_GT(cap, 0.1);
  std::vector<uint64_t> p50, p99;
  for (double load : {0.2, 0.6, 0.9}) {
    std::vector<traffic::Packet> packets = base;
    traffic::SplitMix64 rng(5);
    const double mean_gap_ns = 1000.0 / (load * cap);
    double t = 0;
    for (traffic::Packet& p : packets) {
      p.ts_ns = uint64_t(t);
      // Exponential gaps: -ln(u) * mean, u uniform in (0, 1].
      t += -std::log(double(rng.below(1u << 30) + 1) / double(1u << 30)) * mean_gap_ns;
    }
    SimRun r = simulate(img, cfg, packets);
    EXPECT_EQ(nic_drops(r), 0u) << load;
    p50.push_back(r.stats["latency_ns"]["p50"].get<uint64_t>());
    p99.push_back(r.stats["latency_ns"]["p99"].get<uint64_t>());
  }
  EXPECT_LE(p50[0], p50[1]);
  EXPECT_LT(p50[1], p50[2]);
  EXPECT_LT(p99[0], p99[1]);
  EXPECT_GT(p99[2], 2 * p99[0]) << "p99 at 20% " << p99[0] << " ns, at 90% " << p99[2] << " ns";
}

TEST(NicModel, EachFlowLeavesInItsOrderThoughThreadsFinishOutOfOrder) {
  // Random loop rounds per packet: threads finish packets of a flow out of order.
  std::vector<traffic::Packet> packets = spin_packets(3000, 16, 0, 7);
  NicConfig cfg;
  cfg.cores = 4;
  cfg.threads = 8;
  SimRun r = simulate(compile("spin"), cfg, packets, true);
  ASSERT_EQ(r.results.size(), packets.size());
  std::map<uint32_t, size_t> last;  // flow -> index of its previous packet
  size_t out_of_order = 0, checked = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    ASSERT_EQ(r.results[i]["fate"].get<int>(), int(Fate::kTx)) << i;
    uint32_t flow = uint32_t(i % 16);
    auto it = last.find(flow);
    if (it != last.end()) {
      const json& a = r.results[it->second];
      const json& b = r.results[i];
      ++checked;
      EXPECT_LT(a["done_ps"].get<uint64_t>(), b["done_ps"].get<uint64_t>())
          << "flow " << flow << ": packet " << i << " left before packet " << it->second;
      if (a["verdict_cycle"].get<uint64_t>() > b["verdict_cycle"].get<uint64_t>()) ++out_of_order;
    }
    last[flow] = i;
  }
  EXPECT_GT(checked, 2900u);
  EXPECT_GT(out_of_order, 20u) << "threads never finished a flow out of order: nothing tested";
  EXPECT_GT(r.stats["queues"]["reordered"].get<uint64_t>(), 20u);
}

TEST(NicModel, AtomicDispatchRunsOneFlowAtATime) {
  std::vector<traffic::Packet> packets = spin_packets(3000, 4, 0, 9);
  NicConfig cfg;
  cfg.cores = 4;
  cfg.threads = 8;
  cfg.dispatch = npu::nic::DispatchMode::kAtomic;
  npu::Image img = compile("spin");
  SimRun r = simulate(img, cfg, packets, true);
  EXPECT_EQ(r.stats["queues"]["reordered"].get<uint64_t>(), 0u);
  EXPECT_GT(r.stats["queues"]["held_for_flow"].get<uint64_t>(), 0u);
  // Four flows: a packet starts only after the previous one of its flow has
  // its verdict, on any core's clock.
  std::map<uint32_t, uint64_t> last;
  for (size_t i = 0; i < packets.size(); ++i) {
    uint64_t start = r.results[i]["start_cycle"].get<uint64_t>();
    uint32_t flow = uint32_t(i % 4);
    if (last.count(flow)) {
      EXPECT_LE(last[flow], start)
          << "packet " << i << " started before its flow's previous verdict";
    }
    last[flow] = r.results[i]["verdict_cycle"].get<uint64_t>();
  }
  // One flow at a time cannot go faster than one thread's time per packet,
  // whatever the quantum.
  std::vector<traffic::Packet> one_flow = spin_packets(400, 1, 40);
  cfg.quantum_cycles = 64;
  SimRun q = simulate(img, cfg, one_flow, true);
  double hold = 0;
  for (const json& x : q.results)
    hold += double(x["verdict_cycle"].get<uint64_t>() - x["start_cycle"].get<uint64_t>());
  hold /= double(q.results.size());
  EXPECT_LE(mpps(q), 1.01 * 1000.0 / hold) << hold << " cycles per packet";
  EXPECT_EQ(q.stats["bottleneck"], "atomic dispatch (one packet per five-tuple in flight)");
}

TEST(NicModel, FiguresHardlyDependOnTheQuantum) {
  // Cores run a quantum apart; contended engines and banks must still serve
  // requests by issue time, not by the order cores happened to run in.
  npu::Image img = compile("lookups");
  std::vector<traffic::Packet> packets = line_rate("size=64,packets=8000");
  NicConfig cfg;
  cfg.cores = 6;
  cfg.map_hash = {2, 20, 256};
  std::vector<SimRun> runs;
  for (uint32_t q : {4u, 64u}) {
    cfg.quantum_cycles = q;
    runs.push_back(simulate(img, cfg, packets));
  }
  EXPECT_NEAR(mpps(runs[1]), mpps(runs[0]), 0.03 * mpps(runs[0]));
  double c0 = runs[0].stats["cores"]["cycles_per_packet"].get<double>();
  double c1 = runs[1].stats["cores"]["cycles_per_packet"].get<double>();
  EXPECT_NEAR(c1, c0, 0.05 * c0);
}

TEST(NicModel, ReloadingAnImageDropsStaleMapRegions) {
  // The driver on the NIC model: an image replaced frees its maps (MFREE),
  // and cores must drop the DMI regions they cached into them (the engine
  // block invalidates them through the bus) before reading the new maps.
  npu::Image img = compile("lookups");
  std::string verdicts = npu::test::run_in_child([&] {
    NicConfig cfg;
    cfg.cores = 2;
    cfg.threads = 2;
    npu::nic::Nic nic("nic", cfg);
    npu::driver::Device dev(npu::read_image(kFirmware), nic, npu::nic::device_config(cfg));
    auto le = [](uint64_t v, size_t n) {
      std::vector<uint8_t> b(n);
      std::memcpy(b.data(), &v, n);
      return b;
    };
    // lookups.c passes when table[p[0]] + table[p[1]] + table[p[2]] + table[p[3]] == 12345.
    std::vector<uint8_t> pkt(60, 0);
    pkt[0] = 1;
    pkt[1] = pkt[2] = pkt[3] = 2;
    std::string out;
    dev.load(img, "first");
    dev.map_update("table", le(1, 4), le(12345, 8));
    out += std::to_string(dev.run_xdp("", pkt).verdict);
    dev.load(img, "second");  // new, empty maps
    out += std::to_string(dev.run_xdp("", pkt).verdict);
    dev.map_update("table", le(1, 4), le(12342, 8));
    dev.map_update("table", le(2, 4), le(1, 8));
    out += std::to_string(dev.run_xdp("", pkt).verdict);
    return out;
  });
  EXPECT_EQ(verdicts, "212");  // XDP_PASS, XDP_DROP, XDP_PASS
}

TEST(NicModel, CoreCountersAndCsrsThroughTheBackend) {
  // What driver::Device reads of the card: each core's retired instructions
  // and busy cycles, and each thread's CSRs, as the ISS cores hold them.
  std::string text = npu::test::run_in_child([&] {
    NicConfig cfg;
    cfg.cores = 2;
    cfg.threads = 3;
    npu::nic::Nic nic("nic", cfg);
    npu::driver::Device dev(npu::read_image(kFirmware), nic, npu::nic::device_config(cfg));
    npu::iss::Backend& b = nic;
    json j{{"nthreads", b.nthreads()}, {"cores", json::array()}};
    for (unsigned c = 0; c < b.ncores(); ++c) {
      npu::iss::Core& core = nic.core(c);
      uint64_t busy = core.stats().swap_cycles;
      for (unsigned t = 0; t < core.nthreads(); ++t) {
        busy += core.thread(t).stats.issue_cycles;
        for (uint64_t s : core.thread(t).stats.stall_on) busy += s;
      }
      npu::iss::CoreCounters k = b.counters(c);
      json cj{{"instret", k.instret}, {"core_instret", core.instret()}, {"busy", k.busy},
              {"core_busy", busy},    {"tids", json::array()},          {"cids", json::array()}};
      for (unsigned t = 0; t < b.nthreads(); ++t) {
        cj["tids"].push_back(b.csr(c, t, npu::Csr::TID));
        cj["cids"].push_back(b.csr(c, t, npu::Csr::CID));
      }
      j["cores"].push_back(cj);
    }
    b.set_csr(1, 2, npu::Csr::SCRATCH1, 0x5a);
    j["scratch"] = b.csr(1, 2, npu::Csr::SCRATCH1);
    j["thread_scratch"] = nic.core(1).thread(2).scratch[1];
    try {
      b.set_csr(0, 0, npu::Csr::CYCLE, 1);
    } catch (const std::invalid_argument& e) {
      j["read_only"] = e.what();
    }
    return j.dump();
  });
  json j = json::parse(text);
  EXPECT_EQ(j["nthreads"], 3);
  ASSERT_EQ(j["cores"].size(), 2u);
  for (unsigned c = 0; c < 2; ++c) {
    const json& cj = j["cores"][c];
    EXPECT_GT(cj["instret"].get<uint64_t>(), 0u) << "the firmware booted";
    EXPECT_EQ(cj["instret"], cj["core_instret"]);
    EXPECT_GT(cj["busy"].get<uint64_t>(), 0u);
    EXPECT_EQ(cj["busy"], cj["core_busy"]);
    EXPECT_EQ(cj["tids"], json({0, 1, 2}));
    EXPECT_EQ(cj["cids"], json({c, c, c}));
  }
  EXPECT_EQ(j["scratch"], 0x5a);
  EXPECT_EQ(j["thread_scratch"], 0x5a);
  EXPECT_EQ(j["read_only"], "core 0 thread 0: CSR cycle is read-only");
}

TEST(Calendar, ServesRequestsByIssueTimeWhateverTheirOrder) {
  npu::nic::Calendar one(1);
  EXPECT_EQ(one.reserve(100, 10), 100u);
  EXPECT_EQ(one.reserve(50, 10), 50u);  // earlier, booked later: not behind 100
  EXPECT_EQ(one.reserve(55, 10), 60u);
  EXPECT_EQ(one.reserve(95, 10), 110u);  // 95..104 would overlap 100..109
  EXPECT_EQ(one.reserve(70, 30), 70u);   // exactly fills the gap 70..99
  EXPECT_EQ(one.reserve(0, 1), 0u);
  npu::nic::Calendar two(2);
  EXPECT_EQ(two.reserve(0, 5), 0u);
  EXPECT_EQ(two.reserve(0, 5), 0u);
  EXPECT_EQ(two.reserve(0, 5), 5u);
  EXPECT_EQ(two.reserve(3, 1), 5u);
  // Beyond the horizon, old requests are served at the oldest remembered cycle.
  npu::nic::Calendar small(1, 4);
  EXPECT_EQ(small.reserve(1000, 2), 1000u);
  EXPECT_GE(small.reserve(0, 1), 1000u - 16);
  EXPECT_THROW(npu::nic::Calendar(0), std::invalid_argument);
}

TEST(NicConfig, DefaultsAndErrorsNameTheKey) {
  NicConfig d = NicConfig::from_yaml_text("");
  EXPECT_EQ(d.cores, 48u);
  EXPECT_EQ(d.threads, 8u);
  EXPECT_EQ(d.line_gbps, 100u);
  NicConfig c = NicConfig::from_yaml_text(
      "cores: {count: 4, threads: 2}\nline_gbps: 25\ntiming: {clock_mhz: 800}\n"
      "dispatch: {mode: atomic, flow_key: source}\nengines: {map_hash: {units: 3}}\n",
      "nic.yaml");
  EXPECT_EQ(c.cores, 4u);
  EXPECT_EQ(c.threads, 2u);
  EXPECT_EQ(c.line_gbps, 25u);
  EXPECT_EQ(c.timing.clock_mhz, 800u);
  EXPECT_EQ(c.period_ps(), 1250u);
  EXPECT_EQ(c.dispatch, npu::nic::DispatchMode::kAtomic);
  EXPECT_EQ(c.flow_key, npu::nic::FlowKey::kSource);
  EXPECT_EQ(c.map_hash.units, 3u);
  auto error = [](const std::string& text) {
    try {
      NicConfig::from_yaml_text(text, "nic.yaml");
    } catch (const std::runtime_error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_EQ(error("cores: {count: 0}"), "nic.yaml: cores.count: 0 is outside [1, 1024]");
  EXPECT_EQ(error("corez: 3").rfind("nic.yaml: corez: unknown key", 0), 0u);
  EXPECT_EQ(error("dispatch: {mode: random}"),
            "nic.yaml: dispatch.mode: 'random' is not a mode (ordered, atomic)");
  EXPECT_EQ(error("memory: {pkt: {bank_bytes: 48}}"),
            "nic.yaml: memory.pkt.bank_bytes: must be a power of two");
  EXPECT_NE(error("timing: {memory: {pkt: x}}").find("nic.yaml: timing"), std::string::npos);
  EXPECT_EQ(error("cores: {model: fpga}"),
            "nic.yaml: cores.model: 'fpga' is not a core model (iss, rtl)");
  // Beyond these the model's calendars and links would not hold.
  EXPECT_EQ(error("cores: {quantum_cycles: 5000}"),
            "nic.yaml: cores.quantum_cycles: 5000 is outside [1, 1024]");
  EXPECT_EQ(error("engines: {map_hash: {occupancy: 100000}}"),
            "nic.yaml: engines.map_hash.occupancy: 100000 is outside [1, 4096]");
}

TEST(NicConfig, TheShippedDefaultFileIsTheDefault) {
  NicConfig f = NicConfig::from_yaml_file(NPU_SOURCE_DIR "/sim/nic/nic.yaml");
  NicConfig d;
  EXPECT_EQ(f.cores, d.cores);
  EXPECT_EQ(f.threads, d.threads);
  EXPECT_EQ(f.core_model, d.core_model);
  EXPECT_EQ(f.quantum_cycles, d.quantum_cycles);
  EXPECT_EQ(f.code_store, d.code_store);
  EXPECT_EQ(f.line_gbps, d.line_gbps);
  EXPECT_EQ(f.buffer_frames, d.buffer_frames);
  EXPECT_EQ(f.timing.clock_mhz, d.timing.clock_mhz);
  EXPECT_EQ(f.timing.mem_latency, d.timing.mem_latency);
  EXPECT_EQ(f.timing.map, d.timing.map);
  EXPECT_EQ(f.timing.atomic, d.timing.atomic);
  auto same_memory = [](const npu::nic::SharedMemoryConfig& a,
                        const npu::nic::SharedMemoryConfig& b) {
    return a.banks == b.banks && a.bank_bytes == b.bank_bytes &&
           a.bytes_per_cycle == b.bytes_per_cycle;
  };
  EXPECT_TRUE(same_memory(f.pkt, d.pkt));
  EXPECT_TRUE(same_memory(f.cls, d.cls));
  EXPECT_TRUE(same_memory(f.emem, d.emem));
  EXPECT_TRUE(same_memory(f.map, d.map));
  EXPECT_EQ(f.cls_bytes, d.cls_bytes);
  EXPECT_EQ(f.emem_bytes, d.emem_bytes);
  auto same_pool = [](const npu::nic::UnitPoolConfig& a, const npu::nic::UnitPoolConfig& b) {
    return a.units == b.units && a.occupancy == b.occupancy && a.queue_depth == b.queue_depth;
  };
  EXPECT_TRUE(same_pool(f.map_hash, d.map_hash));
  EXPECT_TRUE(same_pool(f.map_array, d.map_array));
  EXPECT_TRUE(same_pool(f.map_lpm, d.map_lpm));
  EXPECT_TRUE(same_pool(f.atomic, d.atomic));
  EXPECT_TRUE(same_pool(f.csum, d.csum));
  EXPECT_TRUE(same_pool(f.hash, d.hash));
  EXPECT_EQ(f.map_cpus, d.map_cpus);
  EXPECT_EQ(f.seed, d.seed);
  EXPECT_EQ(f.dispatch, d.dispatch);
  EXPECT_EQ(f.flow_key, d.flow_key);
  EXPECT_EQ(f.order_domains, d.order_domains);
  EXPECT_EQ(f.dispatch_cycles, d.dispatch_cycles);
  EXPECT_EQ(f.egress_cycles, d.egress_cycles);
  EXPECT_EQ(f.tx_fifo_frames, d.tx_fifo_frames);
  EXPECT_EQ(f.redirect_fifo_frames, d.redirect_fifo_frames);
  EXPECT_EQ(f.pcie_gbps, d.pcie_gbps);
  EXPECT_EQ(f.dma_overhead_bytes, d.dma_overhead_bytes);
  EXPECT_EQ(f.dma_latency_ns, d.dma_latency_ns);
  EXPECT_EQ(f.host_queue_frames, d.host_queue_frames);
  EXPECT_EQ(f.ctrl_latency_ns, d.ctrl_latency_ns);
}

}  // namespace
