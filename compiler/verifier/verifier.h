// The verifier: the compiler's first stage (DESIGN.md, contract 3). It walks
// every path of an XDP program as the Linux verifier does, refuses what it
// cannot prove safe with one line naming the file, the instruction, the C
// source line and the reason, and hands the back end facts about each
// instruction. docs/verifier.md.
#pragma once

#include "compiler/bpf/program.h"
#include "compiler/verifier/state.h"

#include <array>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace verifier {

// what() is one line: "<file>: <prog>: insn N (file.c:LINE): <reason>".
class VerifyError : public std::runtime_error {
 public:
  VerifyError(const std::string& line, uint32_t insn, std::string reason)
      : std::runtime_error(line), insn_(insn), reason_(std::move(reason)) {}
  uint32_t insn() const { return insn_; }
  const std::string& reason() const { return reason_; }  // without the place

 private:
  uint32_t insn_;
  std::string reason_;
};

struct Options {
  // The loader's privilege, as the kernel derives it from capabilities. Root
  // has CAP_PERFMON: pointer leaks, pointer comparisons and reads of
  // uninitialised stack are allowed. Without it (CAP_BPF alone) they are not.
  bool perfmon = true;
  // Instructions processed over all paths before giving up, as the kernel's
  // BPF_COMPLEXITY_LIMIT_INSNS.
  uint64_t insn_limit = 1'000'000;
};

// Where a load, store or atomic goes.
enum class Mem : uint8_t { NONE, CTX, PACKET, PACKET_META, STACK, MAP_VALUE, MIXED };

// What the back end may rely on at one instruction: the union over every
// verified path that reaches it.
struct InsnFacts {
  bool reached = false;
  // Conditional jumps: taken on some path / fell through on some path.
  bool taken = false, fallthrough = false;
  // Loads, stores, atomics: the memory, and for a map value the map (-1: several).
  Mem mem = Mem::NONE;
  int32_t map = -1;
  // Packet accesses: the least number of bytes proven in bounds past the
  // access's end, over every path (0: the access ends exactly at the proven
  // limit).
  int32_t pkt_slack = INT32_MAX;
  // Stack accesses with a fixed offset: the lowest offset from r10 (negative).
  int32_t stack_off = 0;
  // Registers at entry: a single type on every path, or NOT_INIT when they
  // disagree; and the constant each holds on every path, if any.
  std::array<RegType, 11> type{};
  std::array<bool, 11> is_const{};
  std::array<uint64_t, 11> value{};
  std::array<uint64_t, 11> umax{};  // scalars: the largest unsigned value on any path
  // ALU, loads and lddw: whether the destination holds one constant after
  // the instruction on every path, and which.
  bool out_seen = false, out_const = false;
  uint64_t out_value = 0;
  // Helper calls with a map argument: the map (-1: several). Map lookups:
  // whether the result can never be NULL (an ARRAY with a constant key).
  int32_t call_map = -1;
  bool lookup_never_null = false;
  // A packet pointer compared with data_end (or meta with data) where an
  // earlier check of the same pointer already proves it on every path: the
  // side that means "out of bounds" (pkt_bad_taken: the jump) never runs.
  bool pkt_check_proven = false;
  bool pkt_bad_taken = false;
};

struct Result {
  std::vector<InsnFacts> facts;  // one per instruction of the program
  uint64_t insns_processed = 0;  // as the kernel's "processed N insns"
  uint32_t states = 0;           // states kept for pruning
  uint32_t max_states_per_insn = 0;
  std::vector<int32_t> stack_depth;  // per function (Program::func_starts), bytes
};

// Verifies program `prog` of obj. Throws VerifyError with the first reason
// the program is unsafe.
Result verify(const bpf::Object& obj, size_t prog, const Options& opt = {});

}  // namespace verifier
