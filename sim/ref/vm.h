// The reference BPF interpreter: the golden model of the project.
//
// It runs linked programs from the front end (compiler/bpf/program.h) with
// the full BPF ISA v4, BPF-to-BPF calls, tail calls, the XDP context over a
// packet buffer laid out like the kernel's test run, and the maps and
// helpers XDP programs use. Every memory access is checked against the
// regions the program may reach; a bad access ends the run with an error
// naming the instruction, never with a crash.
#pragma once

#include "compiler/bpf/program.h"
#include "sim/ref/maps.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ref {

struct Exec;

// The XDP buffer geometry of the kernel's BPF_PROG_TEST_RUN (net/bpf/test_run.c).
constexpr uint32_t kXdpHeadroom = 256;    // XDP_PACKET_HEADROOM
constexpr uint32_t kXdpFrameSize = 4096;  // one page
constexpr uint32_t kXdpTailroom = 320;    // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
constexpr uint32_t kXdpFrameStruct = 40;  // sizeof(struct xdp_frame) kept before data
constexpr uint32_t kXdpMaxMeta = 255;     // skb_shared_info::meta_len is a u8
constexpr uint32_t kMaxTailCalls = 33;    // MAX_TAIL_CALL_CNT
constexpr uint32_t kStackSize = 512;      // per frame
constexpr uint32_t kMaxCallFrames = 8;    // MAX_CALL_FRAMES

struct Config {
  unsigned ncpus = 1;  // possible CPUs: percpu maps hold this many values
  unsigned cpu = 0;    // the CPU the program runs on
  // bpf_ktime_get_ns(): a fixed clock by default (start, advanced by step per call), or a
  // caller-supplied source.
  uint64_t ktime_start_ns = 1'000'000'000;
  uint64_t ktime_step_ns = 0;
  std::function<uint64_t()> ktime;
  uint64_t prandom_seed = 0x5eed;
  uint32_t ingress_ifindex = 1;  // loopback, as the kernel's test run
  uint32_t rx_queue_index = 0;
  uint64_t max_insns = 1u << 24;  // per run: a guard against runaway unverified programs
};

// Output that helpers produce outside the packet and maps.
struct Event {
  enum Kind { kTracePrintk, kPerfEvent, kRingbuf } kind;
  int map = -1;  // perf event array / ringbuf map index
  std::string text;
  std::vector<uint8_t> data;
};

struct XdpResult {
  uint32_t verdict = 0;         // XDP_ABORTED..XDP_REDIRECT; meaningless when !error.empty()
  std::vector<uint8_t> packet;  // data..data_end after the run
  std::vector<uint8_t> meta;    // data_meta..data after the run
  // Target of XDP_REDIRECT: an ifindex (bpf_redirect) or a map slot (bpf_redirect_map).
  int redirect_map = -1;
  uint64_t redirect_key = 0;
  uint32_t redirect_ifindex = 0;
  uint64_t insns = 0;  // instructions executed
  std::string error;   // a fault: "insn N: reason"
};

struct RawResult {
  uint64_t r0 = 0;
  uint64_t insns = 0;
  std::string error;
};

// Helpers of the bpf_conformance suite's calling convention (helper 5 = "unwind").
enum class HelperSet { kKernel, kConformance };

class Interpreter {
 public:
  // Creates the object's maps (initial global data filled in) and checks that every helper
  // each program calls is implemented: throws bpf::LoadError naming the first one that is not.
  Interpreter(const bpf::Object& obj, Config cfg = {});
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  const bpf::Object& object() const { return obj_; }
  Config& config() { return cfg_; }
  Map& map(size_t i) { return *maps_.at(i); }
  size_t map_count() const { return maps_.size(); }

  XdpResult run_xdp(size_t prog, const std::vector<uint8_t>& packet);

  std::vector<Event>& events() { return events_; }

  // Runs raw instructions with the conformance calling convention: r1 = mem (or 0), r2 = size.
  static RawResult run_raw(const std::vector<bpf::Insn>& insns, std::vector<uint8_t>& mem,
                           uint64_t max_insns = 1u << 24);

  // bpf_ktime_get_ns() and bpf_get_prandom_u32() as the helpers see them.
  uint64_t next_ktime();
  uint32_t next_prandom();

 private:
  const bpf::Object& obj_;
  Config cfg_;
  std::vector<std::unique_ptr<Map>> maps_;
  std::vector<Event> events_;
  // Reused across runs: the execution state (with its stack) and the packet frame.
  std::unique_ptr<Exec> exec_;
  std::vector<uint8_t> frame_;
  size_t frame_dirty_ = kXdpFrameSize;  // bytes of frame_ that may be non-zero
  uint64_t ktime_calls_ = 0;
  uint64_t prandom_state_ = 0;
};

// Names the first helper in prog that the interpreter does not implement, or "" if none.
std::string unsupported_helper(const bpf::Program& prog);

}  // namespace ref
