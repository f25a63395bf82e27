// Execution engines behind one interface, for differential tests: the same
// program, initial maps and packets on each engine must give the same
// verdicts, output packets and map contents. Adding an engine (the NPU ISS)
// is one subclass: run one packet, dump the maps.
#pragma once

#include "compiler/bpf/program.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace progen {

// One packet's outcome, in the layout of the kernel's BPF_PROG_TEST_RUN.
struct Run {
  uint32_t verdict = 0;
  std::vector<uint8_t> packet;  // data_meta..data_end after the run: metadata first
  uint32_t meta_len = 0;        // bytes of metadata at the front of packet
  std::string error;            // the engine refused the packet or faulted; "" when it ran
};

class Engine {
 public:
  virtual ~Engine() = default;
  virtual std::string name() const = 0;
  // Runs programs[0] on one packet; maps keep their contents from run to run.
  virtual Run run_xdp(const std::vector<uint8_t>& packet) = 0;
  // Every map in the team's JSON format (sim/ref/maps_json.h), keys sorted.
  virtual nlohmann::json dump_maps_json() = 0;
};

// The kernel: kern::KernelObject::load(obj) and load_maps_json(init). Throws
// kern::VerifierError when the verifier refuses the program, std::runtime_error
// for other failures.
std::unique_ptr<Engine> kernel_engine(const bpf::Object& obj, const nlohmann::json& init);

// The reference interpreter (sim/ref) with as many CPUs as the machine has
// possible CPUs, so percpu values line up with the kernel's.
std::unique_ptr<Engine> ref_engine(const bpf::Object& obj, const nlohmann::json& init);

// The NPU: obj compiled by npucc::compile (passes in `disabled` off), loaded
// on an ISS device booted with the firmware image at firmware_path. Throws
// verifier::VerifyError when our verifier refuses the program,
// npucc::CompileError when the device cannot run it.
std::unique_ptr<Engine> npu_engine(const bpf::Object& obj, const nlohmann::json& init,
                                   const std::string& firmware_path,
                                   const std::set<std::string>& disabled = {});

struct Comparison {
  size_t packets = 0;                   // packets every engine ran and agreed on
  std::map<uint32_t, size_t> verdicts;  // of those packets
  std::string first_difference;         // "" when all agree
};

// Runs each packet on every engine and compares engines[1..] with engines[0]
// after every packet: the error state, verdict, output bytes, metadata length
// and every map's contents. Stops at the first difference and describes it
// (packet index and bytes, the engines' answers, the differing map entries).
Comparison compare(const std::vector<Engine*>& engines,
                   const std::vector<std::vector<uint8_t>>& packets);

}  // namespace progen
