// The differential test: every example, 10,000 packets (crafted edge cases
// then random ones), through the kernel's BPF_PROG_TEST_RUN and through the
// reference interpreter, with the same initial maps. Verdict, output bytes
// and final map contents must agree on every packet.
//
// Exactness: the runs are pinned to CPU 0 so bpf_get_smp_processor_id() and
// percpu slots match; the rate limiter's maps.json uses its time-independent
// mode (no refill), so bpf_ktime_get_ns() does not change verdicts.
#include "compiler/bpf/program.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/traffic/packet_gen.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace {

constexpr size_t kPackets = 10000;
constexpr uint64_t kSeed = 20261123;

std::string example(const std::string& name, const std::string& ext) {
  return std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name + ext;
}

using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

Entries sorted(Entries e) {
  std::sort(e.begin(), e.end());
  return e;
}

std::string hex(const std::vector<uint8_t>& v) {
  return ref::to_hex(v);
}

std::vector<uint8_t> concat(std::vector<uint8_t> a, const std::vector<uint8_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Runs packets through the kernel and the interpreter; every disagreement is a failure.
void compare(const std::string& name, const std::string& obj_path, const std::string& maps_json,
             const std::vector<traffic::Packet>& packets) {
  kern::pin_to_cpu0();
  bpf::Object obj = bpf::load_object(obj_path);
  ref::Config cfg;
  cfg.ncpus = unsigned(libbpf_num_possible_cpus());
  ref::Interpreter ip(obj, cfg);
  kern::KernelObject k = kern::KernelObject::open(obj_path);
  if (!maps_json.empty()) {
    ref::load_maps_file(ip, maps_json);
    k.load_maps_json(maps_json);
  }
  const std::string prog = obj.programs[0].name;
  size_t disagreements = 0, kernel_errors = 0;
  std::map<uint32_t, size_t> verdicts;
  std::ostringstream first;
  double t_ref = 0, t_kern = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    const std::vector<uint8_t>& pkt = packets[i].data;
    auto t0 = std::chrono::steady_clock::now();
    kern::XdpResult kr = k.run_xdp(prog, pkt);
    auto t1 = std::chrono::steady_clock::now();
    ref::XdpResult rr = ip.run_xdp(0, pkt);
    auto t2 = std::chrono::steady_clock::now();
    t_kern += std::chrono::duration<double, std::nano>(t1 - t0).count();
    t_ref += std::chrono::duration<double, std::nano>(t2 - t1).count();
    std::string why;
    if (kr.err != 0) {
      ++kernel_errors;
      // The kernel refuses the packet itself (e.g. shorter than 14 bytes): so must we.
      if (rr.error.empty())
        why = fmt::format("kernel refused the packet ({}), interpreter ran it", kr.err);
    } else if (!rr.error.empty()) {
      why = "interpreter fault: " + rr.error;
    } else if (kr.verdict != rr.verdict) {
      why = fmt::format("verdict kernel {} interpreter {}", kr.verdict, rr.verdict);
    } else if (std::vector<uint8_t> ours = concat(rr.meta, rr.packet);
               kr.packet != ours || kr.meta_len != rr.meta.size()) {
      // The kernel's data_out holds the metadata, then the packet.
      why = fmt::format("output packet differs:\n  kernel {}\n  interp {}", hex(kr.packet),
                        hex(ours));
    }
    if (kr.err == 0) verdicts[kr.verdict]++;
    if (!why.empty() && disagreements++ < 5)
      first << fmt::format("packet {} ({} bytes: {}): {}\n", i, pkt.size(), hex(pkt).substr(0, 120),
                           why);
  }
  // Final maps, entry by entry (prog arrays hold fds in the kernel, indexes here: not comparable).
  size_t map_diffs = 0;
  for (size_t m = 0; m < obj.maps.size(); ++m) {
    const bpf::MapDef& d = obj.maps[m];
    if (d.type == BPF_MAP_TYPE_PROG_ARRAY) continue;
    Entries ours;
    for (const ref::MapEntry& e : ref::dump(ip.map(m))) ours.emplace_back(e.key, e.value);
    ours = sorted(std::move(ours));
    Entries theirs = sorted(k.map_dump(d.name));
    if (ours != theirs) {
      ++map_diffs;
      first << fmt::format("map '{}' differs: interpreter {} entries, kernel {} entries\n", d.name,
                           ours.size(), theirs.size());
      for (size_t e = 0; e < std::min(ours.size(), theirs.size()) && e < 8; ++e)
        if (ours[e] != theirs[e])
          first << fmt::format("  key {}: interpreter {} kernel {}\n", hex(ours[e].first),
                               hex(ours[e].second), hex(theirs[e].second));
    }
  }
  std::string vs;
  for (auto& [v, n] : verdicts) vs += fmt::format(" {}:{}", v, n);
  std::cout << fmt::format(
      "[{}] {} packets, verdicts{}, {} refused by the kernel; per packet: interpreter {:.0f} ns, "
      "kernel BPF_PROG_TEST_RUN {:.0f} ns\n",
      name, packets.size(), vs, kernel_errors, t_ref / packets.size(), t_kern / packets.size());
  EXPECT_EQ(disagreements, 0u) << first.str();
  EXPECT_EQ(map_diffs, 0u) << first.str();
  // A workload where every packet gets the same verdict exercises little: demand variety.
  EXPECT_GE(verdicts.size(), 2u) << name << ": the traffic reaches only one verdict";
}

bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

class Differential : public testing::TestWithParam<std::string> {};

TEST_P(Differential, KernelAndInterpreterAgree) {
  if (std::string why = kern::bpf_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  const std::string name = GetParam();
  traffic::TrafficProfile profile;
  if (exists(example(name, ".traffic.json")))
    profile = traffic::TrafficProfile::from_json_file(example(name, ".traffic.json"));
  std::vector<traffic::Packet> packets = traffic::packet_set(profile, kPackets, kSeed);
  ASSERT_EQ(packets.size(), kPackets);
  compare(name, std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o",
          exists(example(name, ".maps.json")) ? example(name, ".maps.json") : "", packets);
}

// Packets that drive tests/diff/data/helpers_probe.c through each helper's limits.
std::vector<traffic::Packet> probe_packets() {
  std::vector<traffic::Packet> out;
  auto add = [&](size_t len, uint8_t op, int32_t arg, uint64_t arg64) {
    std::vector<uint8_t> p(len);
    for (size_t i = 0; i < len; ++i) p[i] = uint8_t(i * 13 + len);
    p[12] = 0x08, p[13] = 0x00;
    p[14] = op;
    std::memcpy(&p[15], &arg, 4);
    std::memcpy(&p[19], &arg64, 8);
    out.push_back(traffic::Packet{p, 0});
  };
  for (size_t len : {27, 60, 1514, 3000, 3520}) {
    for (int32_t d = -300; d <= 300; d += 1) add(len, 0, d, 0);    // adjust_head
    for (int32_t d = -3600; d <= 4200; d += 9) add(len, 1, d, 0);  // adjust_tail
    for (int32_t d = -300; d <= 8; d += 1) add(len, 2, d, 0);      // adjust_meta
  }
  for (int32_t sizes = 0; sizes < 0x4000; sizes += 0x29)
    add(64, 3, sizes, 0x9e3779b97f4a7c15ull * sizes);
  for (int32_t key = 0; key < 6; ++key)
    for (uint64_t flags : {0ull, 1ull, 2ull, 3ull, 4ull, 8ull, 16ull, 24ull, 32ull, 1ull << 40})
      add(64, 4, key, flags);
  for (uint64_t flags : {0ull, 1ull}) add(64, 5, 7, flags);
  for (int32_t slot : {0, 1, 2}) add(64, 6, slot, 0);
  for (int32_t f = 0; f < 8; ++f)
    for (uint64_t v : {0ull, 1ull, 0xffffffffull, 0x8000000000000000ull, 0x123456789ull})
      add(64, 7, f, v);
  for (int32_t size = 0; size < 0x4000; size += 0x1d)  // fills the ring: nothing consumes it
    for (uint64_t flags : {0ull, 1ull, 2ull, 4ull}) add(64, 8, size, flags);
  for (uint64_t flags : {0ull, 1ull, 2ull, 0xffffffffull, (4ull << 32) | 0xffffffff,
                         (100ull << 32) | 0xffffffff, 1ull << 60})
    add(64, 9, 0, flags);
  return out;
}

TEST(DifferentialHelpers, HelperLimitsMatchTheKernel) {
  if (std::string why = kern::bpf_unavailable_reason(); !why.empty()) GTEST_SKIP() << why;
  compare("helpers_probe", std::string(PROBE_DIR) + "/helpers_probe.o",
          std::string(NPU_SOURCE_DIR) + "/tests/diff/data/helpers_probe.maps.json",
          probe_packets());
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  std::istringstream in(NPU_EXAMPLES);
  for (std::string n; std::getline(in, n, ',');)
    if (!n.empty()) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Examples, Differential, testing::ValuesIn(examples()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
