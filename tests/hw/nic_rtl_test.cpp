// RTL cores on the card (cores: {model: rtl}): the NIC model runs an example
// with the Verilated core behind every CoreModule, and the same traffic on
// ISS cores. Every packet gets the same verdict and bytes, the cycles per
// packet agree, and throughput agrees within the ISS cores' quantum error;
// shared maps end the same (percpu maps per thread: threads take other packets).
// A config the RTL core cannot run is refused. One simulation a process
// (SystemC): each run in a child.
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"
#include "driver/device.h"
#include "sim/nic/nic.h"
#include "sim/nic/config.h"
#include "sim/nic/session.h"
#include "sim/traffic/traffic_spec.h"
#include "tests/sim/nic_child.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace {

using nlohmann::json;

json run(const std::string& cores, const std::string& example) {
  std::string text = npu::test::run_in_child([&] {
    bpf::Object obj =
        bpf::load_object(std::string(NPU_BINARY_DIR) + "/examples/xdp/" + example + ".o");
    npu::nic::SimSetup s;
    s.nic = npu::nic::NicConfig::from_yaml_text("cores: {count: 2, threads: 4, " + cores + "}",
                                                "test.yaml");
    s.firmware = NPU_FIRMWARE;
    s.maps_json = std::string(NPU_SOURCE_DIR) + "/examples/xdp/" + example + ".maps.json";
    s.packets = traffic::generate(
        traffic::TrafficSpec::parse("size=64,flows=64,rate=line,packets=1500"),
        traffic::TrafficProfile::from_json_file(std::string(NPU_SOURCE_DIR) + "/examples/xdp/" +
                                                example + ".traffic.json"),
        100);
    s.keep_outputs = true;
    npu::nic::SimOutcome o = npu::nic::simulate(npucc::compile(obj).image, example, s);
    json j{{"stats", o.stats}, {"maps", o.maps}, {"results", json::array()}};
    for (const npu::nic::PacketResult& r : o.results)
      j["results"].push_back({{"fate", int(r.fate)}, {"status", r.status}, {"bytes", r.bytes}});
    return j.dump();
  });
  return json::parse(text);
}

// A card of RTL cores, and one with an RTL core beside an ISS core.
TEST(NicRtl, RtlCoresGiveTheIssCoresResultsOnTheCard) {
  for (const auto& [example, cores] :
       {std::pair{"firewall", "model: rtl"}, std::pair{"router", "model: rtl"},
        std::pair{"router", "model: rtl, rtl_cores: 1"}}) {
    SCOPED_TRACE(std::string(example) + ", " + cores);
    json iss = run("model: iss", example), rtl = run(cores, example);
    ASSERT_EQ(iss["results"].size(), rtl["results"].size());
    size_t differ = 0;
    for (size_t i = 0; i < iss["results"].size(); ++i)
      if (iss["results"][i] != rtl["results"][i] && differ++ < 3)
        ADD_FAILURE() << example << ", packet " << i << ": ISS " << iss["results"][i].dump()
                      << ", RTL " << rtl["results"][i].dump();
    // Shared maps agree; percpu maps keep a copy per hardware thread, and
    // which thread takes which packet follows the timing.
    json ma_ = iss["maps"]["maps"], mb_ = rtl["maps"]["maps"];
    for (auto it = ma_.begin(); it != ma_.end(); ++it) {
      const json& entries = it.value();
      if (!entries.empty() && entries[0].contains("values")) continue;
      EXPECT_EQ(entries, mb_[it.key()]) << example << ": map " << it.key();
    }
    const json &a = iss["stats"], &b = rtl["stats"];
    EXPECT_EQ(b["config"]["core_model"], "rtl");
    EXPECT_EQ(b["config"]["rtl_cores"],
              std::string(cores).find("rtl_cores: 1") == std::string::npos ? 2 : 1);
    double ma = a["achieved"]["mpps"].get<double>(), mb = b["achieved"]["mpps"].get<double>();
    EXPECT_NEAR(mb, ma, 0.03 * ma) << example << ": Mpps on ISS cores " << ma << ", RTL " << mb;
    double ca = a["cores"]["cycles_per_packet"].get<double>();
    double cb = b["cores"]["cycles_per_packet"].get<double>();
    EXPECT_NEAR(cb, ca, 0.02 * ca)
        << example << ": cycles per packet, ISS " << ca << ", RTL " << cb;
    std::cout << example << ": ISS cores " << ma << " Mpps, " << ca
              << " cycles a packet; RTL cores " << mb << " Mpps, " << cb
              << std::endl;  // flushed before the next fork
  }
}

// What driver::Device reads of the card's threads (the fault records of a
// packet, the firmware's vectors and windows): the same through RTL cores,
// read from the core's state between runs, as through ISS cores.
TEST(NicRtl, ThreadCsrsReadBackAsOnIssCores) {
  auto csrs = [](const std::string& model) {
    return json::parse(npu::test::run_in_child([&] {
      npu::nic::NicConfig cfg = npu::nic::NicConfig::from_yaml_text(
          "cores: {count: 2, threads: 3, model: " + model + "}", "test.yaml");
      npu::nic::Nic nic("nic", cfg);
      npu::driver::Device dev(npu::read_image(NPU_FIRMWARE), nic, npu::nic::device_config(cfg));
      bpf::Object obj = bpf::load_object(std::string(NPU_BINARY_DIR) + "/examples/xdp/parser.o");
      dev.load(npucc::compile(obj).image, "parser");
      dev.run_xdp("", std::vector<uint8_t>(60, 0));
      npu::iss::Backend& b = nic;
      b.set_csr(1, 2, npu::Csr::SCRATCH3, 0x5a);
      json j = json::array();
      for (unsigned c = 0; c < 2; ++c)
        for (unsigned t = 0; t < 3; ++t)
          for (const npu::CsrInfo& i : npu::csrs())
            if (npu::Csr(i.number) != npu::Csr::CYCLE)  // the ISS cores run a quantum ahead
              j.push_back({c, t, i.id, b.csr(c, t, npu::Csr(i.number))});
      return j.dump();
    }));
  };
  json iss = csrs("iss"), rtl = csrs("rtl");
  EXPECT_EQ(iss, rtl);
  EXPECT_NE(rtl.dump().find("[1,2,\"SCRATCH3\",90]"), std::string::npos) << rtl.dump();
}

TEST(NicRtl, ConfigsTheRtlCoreCannotRunAreRefused) {
  auto why = [](const std::string& yaml) {
    try {
      npu::nic::NicConfig::from_yaml_text(yaml, "nic.yaml");
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  EXPECT_EQ(why("cores: {model: rtl, threads: 32}"),
            "nic.yaml: cores.threads: 32 threads: the RTL core has at most 16");
  EXPECT_EQ(why("cores: {model: rtl}\ntiming: {cycles: {mod: 8}}"),
            "nic.yaml: timing: mod: 8 cycles, the RTL divider needs at least 10 (cores.model rtl)");
  EXPECT_EQ(why("cores: {model: rtl}\ntiming: {swap_cycles: 0}"),
            "nic.yaml: timing: swap_cycles 0: the RTL core needs a cycle to fetch for a swap "
            "(cores.model rtl)");
  EXPECT_EQ(why("cores: {model: verilog}"),
            "nic.yaml: cores.model: 'verilog' is not a core model (iss, rtl)");
  EXPECT_EQ(why("cores: {model: rtl, threads: 16}"), "accepted");
  EXPECT_EQ(why("cores: {count: 2, model: rtl, rtl_cores: 3}"),
            "nic.yaml: cores.rtl_cores: 3 RTL cores on a card of 2");
  EXPECT_EQ(why("cores: {rtl_cores: 1}"), "nic.yaml: cores.rtl_cores: needs cores.model rtl");
}

}  // namespace
