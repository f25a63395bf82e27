// Every example under lockstep: the firmware boots and each example's
// compiled program runs npu_diff_test's kind of packets (the edge cases,
// then random ones steered by the example's profile) on a device that is the
// ISS and the RTL core side by side (sim/rtl/lockstep.h). Every retired
// instruction and its cycle must agree, and so must the counters that give
// a packet's cycles; the verdicts, bytes and final maps must be the
// reference interpreter's. Prints the cycles per packet (the same on both).
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/asm.h"
#include "driver/device.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "sim/rtl/lockstep.h"
#include "sim/traffic/packet_gen.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <fstream>
#include <iostream>
#include <sstream>

namespace {

constexpr size_t kPackets = 300;
constexpr uint64_t kSeed = 20261123;  // npu_diff_test's

std::string example(const std::string& name, const std::string& ext) {
  return std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + name + ext;
}
bool exists(const std::string& path) {
  return std::ifstream(path).good();
}

nlohmann::json comparable(nlohmann::json maps, const bpf::Object& obj) {
  for (const bpf::MapDef& d : obj.maps)
    if (d.type == BPF_MAP_TYPE_PROG_ARRAY) maps["maps"].erase(d.name);
  return maps;
}

class LockstepExamples : public testing::TestWithParam<std::string> {};

TEST_P(LockstepExamples, IssAndRtlAgreeOnEveryInstructionAndCycle) {
  const std::string name = GetParam();
  bpf::Object obj = bpf::load_object(std::string(NPU_BINARY_DIR) + "/examples/xdp/" + name + ".o");
  traffic::TrafficProfile profile;
  if (exists(example(name, ".traffic.json")))
    profile = traffic::TrafficProfile::from_json_file(example(name, ".traffic.json"));
  const std::vector<traffic::Packet> packets = traffic::packet_set(profile, kPackets, kSeed);
  const std::string maps = exists(example(name, ".maps.json")) ? example(name, ".maps.json") : "";

  ref::Interpreter ip(obj, ref::Config{});
  if (!maps.empty()) ref::load_maps_file(ip, maps);

  npu::driver::DeviceConfig cfg;
  npu::rtl::Lockstep hw(npu::driver::Device::machine_config(cfg));
  npu::driver::Device dev(npu::read_image(NPU_FIRMWARE), hw, cfg);
  dev.load(npucc::compile(obj).image, obj.path);
  if (!maps.empty()) dev.load_maps_json(maps);
  const std::string prog = obj.programs[0].name;
  uint64_t cycles = 0, insns = 0;
  size_t bad = 0;
  for (size_t i = 0; i < packets.size(); ++i) {
    npu::driver::XdpResult r;
    try {
      r = dev.run_xdp(prog, packets[i].data);
    } catch (const npu::rtl::LockstepError& e) {
      FAIL() << name << ", packet " << i << ": " << e.what();
    }
    ref::XdpResult want = ref::XdpResult{};
    want = ip.run_xdp(0, packets[i].data);
    if (!want.error.empty()) continue;  // the interpreter refuses it, so does the device
    std::vector<uint8_t> bytes = want.meta;
    bytes.insert(bytes.end(), want.packet.begin(), want.packet.end());
    if ((r.verdict != want.verdict || r.packet != bytes) && bad++ < 3)
      ADD_FAILURE() << name << ", packet " << i << ": verdict " << r.verdict << " (interpreter "
                    << want.verdict << ")" << (r.packet != bytes ? ", bytes differ" : "");
    cycles += r.cycles;
    insns += r.insns;
  }
  EXPECT_EQ(comparable(dev.dump_maps_json(), obj), comparable(ref::dump_maps_json(ip), obj))
      << name << ": final maps";
  EXPECT_GT(hw.compared(), insns) << "firmware and program instructions were compared";
  std::cout << fmt::format(
      "[{}] {} packets in lockstep, {} instructions compared; {:.1f} cycles and {:.1f} "
      "instructions per packet on both (firmware included)\n",
      name, packets.size(), hw.compared(), double(cycles) / double(packets.size()),
      double(insns) / double(packets.size()));
}

std::vector<std::string> examples() {
  std::vector<std::string> names;
  std::istringstream in(NPU_EXAMPLES);
  for (std::string n; std::getline(in, n, ',');) names.push_back(n);
  return names;
}

INSTANTIATE_TEST_SUITE_P(Examples, LockstepExamples, testing::ValuesIn(examples()),
                         [](const testing::TestParamInfo<std::string>& i) { return i.param; });

}  // namespace
