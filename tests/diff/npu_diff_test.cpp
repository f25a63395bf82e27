// The compiler's differential test: every example compiled by `npu compile`
// and run on the ISS device (firmware + program image), against the kernel's
// BPF_PROG_TEST_RUN, over the same 10,000 packets as diff_test and with the
// same initial maps; with every pass on, and with each pass off in turn.
// Verdict, output bytes and final maps must agree on every packet.
//
// Where bpf() is refused, the reference interpreter stands in for the kernel
// (diff_test proves the two equal on these packets), and the test says so.
#include "compiler/backend/compile.h"
#include "compiler/backend/passes.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/asm.h"
#include "driver/device.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/traffic/packet_gen.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace {

constexpr size_t kPackets = 10000;
constexpr uint64_t kSeed = 20261123;  // diff_test's

std::string example(const std::string& name, const std::string& ext) {
  return std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name + ext;
}
bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

const npu::Image& firmware() {
  static const npu::Image fw = npu::read_image(NPU_FIRMWARE);
  return fw;
}

// What the oracle (the kernel, or the interpreter) did with one packet.
struct Expected {
  int err = 0;
  uint32_t verdict = 0;
  std::vector<uint8_t> packet;  // data_meta..data_end
};

struct Oracle {
  std::string name;  // "kernel" or "interpreter"
  std::vector<Expected> runs;
  nlohmann::json maps;
};

// Prog arrays hold fds in the kernel and slots on the device: not comparable.
nlohmann::json comparable(nlohmann::json maps, const bpf::Object& obj) {
  for (const bpf::MapDef& d : obj.maps)
    if (d.type == BPF_MAP_TYPE_PROG_ARRAY) maps["maps"].erase(d.name);
  return maps;
}

Oracle run_oracle(const bpf::Object& obj, const std::string& obj_path, const std::string& maps,
                  const std::vector<traffic::Packet>& packets) {
  Oracle o;
  const std::string prog = obj.programs[0].name;
  if (kern::bpf_unavailable_reason().empty()) {
    o.name = "kernel";
    kern::pin_to_cpu0();
    kern::KernelObject k = kern::KernelObject::open(obj_path);
    if (!maps.empty()) k.load_maps_json(maps);
    for (const traffic::Packet& p : packets) {
      kern::XdpResult r = k.run_xdp(prog, p.data);
      o.runs.push_back({r.err, r.verdict, r.packet});
    }
    o.maps = comparable(k.dump_maps_json(), obj);
    return o;
  }
  o.name = "interpreter";
  ref::Config cfg;
  cfg.ncpus = unsigned(kern::possible_cpus());
  ref::Interpreter ip(obj, cfg);
  if (!maps.empty()) ref::load_maps_file(ip, maps);
  for (const traffic::Packet& p : packets) {
    ref::XdpResult r = ip.run_xdp(0, p.data);
    Expected e;
    if (!r.error.empty()) e.err = -22;
    e.verdict = r.verdict;
    e.packet = r.meta;
    e.packet.insert(e.packet.end(), r.packet.begin(), r.packet.end());
    o.runs.push_back(e);
  }
  o.maps = comparable(ref::dump_maps_json(ip), obj);
  return o;
}

// Compiles with `disabled` off, runs every packet on the device, and
// returns the disagreements (empty when none) and the device's work.
std::string run_npu(const bpf::Object& obj, const std::string& maps,
                    const std::vector<traffic::Packet>& packets, const Oracle& want,
                    const std::set<std::string>& disabled, uint64_t* insns, uint64_t* cycles) {
  npucc::CompileOptions co;
  co.disabled = disabled;
  npucc::CompileResult c = npucc::compile(obj, co);
  npu::driver::DeviceConfig cfg;
  cfg.map_cpus = unsigned(kern::possible_cpus());
  npu::driver::Device dev(firmware(), cfg);
  dev.load(c.image, obj.path);
  if (!maps.empty()) dev.load_maps_json(maps);
  const std::string prog = obj.programs[0].name;
  std::ostringstream bad;
  size_t n = 0;
  for (size_t i = 0; i < packets.size(); i++) {
    npu::driver::XdpResult r = dev.run_xdp(prog, packets[i].data);
    const Expected& e = want.runs[i];
    std::string why;
    if (e.err != 0 || r.err != 0) {
      if ((e.err != 0) != (r.err != 0))
        why = fmt::format("{} err {}, device err {}", want.name, e.err, r.err);
    } else if (!r.error.empty()) {
      why = "device: " + r.error;
    } else if (r.verdict != e.verdict) {
      why = fmt::format("verdict {} {}, device {}", want.name, e.verdict, r.verdict);
    } else if (r.packet != e.packet) {
      why = fmt::format("output differs:\n  {:<6} {}\n  device {}", want.name,
                        ref::to_hex(e.packet), ref::to_hex(r.packet));
    }
    *insns += r.insns;
    *cycles += r.cycles;
    if (!why.empty() && n++ < 4)
      bad << fmt::format("packet {} ({} bytes): {}\n", i, packets[i].data.size(), why);
  }
  if (n) bad << fmt::format("{} of {} packets disagree\n", n, packets.size());
  nlohmann::json got = comparable(dev.dump_maps_json(), obj);
  if (got != want.maps)
    bad << fmt::format("final maps differ:\n  {:<6} {}\n  device {}\n", want.name,
                       want.maps.dump().substr(0, 600), got.dump().substr(0, 600));
  return bad.str();
}

class NpuDifferential : public testing::TestWithParam<std::string> {};

TEST_P(NpuDifferential, CompiledCodeOnTheIssAgreesWithTheKernel) {
  const std::string name = GetParam();
  const std::string obj_path = std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o";
  traffic::TrafficProfile profile;
  if (exists(example(name, ".traffic.json")))
    profile = traffic::TrafficProfile::from_json_file(example(name, ".traffic.json"));
  const std::vector<traffic::Packet> packets = traffic::packet_set(profile, kPackets, kSeed);
  const std::string maps = exists(example(name, ".maps.json")) ? example(name, ".maps.json") : "";
  bpf::Object obj = bpf::load_object(obj_path);
  const Oracle want = run_oracle(obj, obj_path, maps, packets);
  if (want.name != "kernel")
    std::cout << "[" << name << "] bpf() refused (" << kern::bpf_unavailable_reason()
              << "): comparing with the reference interpreter\n";

  std::vector<std::set<std::string>> configs = {{}};
  for (const npucc::Pass& p : npucc::passes()) configs.push_back({p.name});
  for (const auto& off : configs) {
    uint64_t insns = 0, cycles = 0;
    const std::string bad = run_npu(obj, maps, packets, want, off, &insns, &cycles);
    const std::string label = off.empty() ? "all passes" : "-fno-" + *off.begin();
    EXPECT_EQ(bad, "") << name << " (" << label << "):\n" << bad;
    std::cout << fmt::format(
        "[{}] {:<22} {} packets agree with the {}; {:.1f} insns, {:.1f} "
        "cycles per packet (firmware included)\n",
        name, label, packets.size(), want.name, double(insns) / double(packets.size()),
        double(cycles) / double(packets.size()));
  }
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  std::istringstream in(NPU_EXAMPLES);
  for (std::string n; std::getline(in, n, ',');)
    if (!n.empty()) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Examples, NpuDifferential, testing::ValuesIn(examples()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
