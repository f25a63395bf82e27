// A bpf_conformance program as an XDP bpf::Object that any engine can run
// (the kernel, the reference interpreter, the NPU), and the instruction
// relocation it is built with.
//
// The suite's calling convention (r1 = a writable copy of mem or 0, r2 = its
// length, a full 64-bit r0) does not fit XDP, so the program is wrapped:
//   maps[0] "npu_conf_r0"  ARRAY, key u32, value u64, 1 entry: r0 at the
//                          main function's exit lands in its element 0
//   maps[1] "npu_conf_mem" ARRAY, key u32, value max(len, 8), 1 entry, only
//                          when mem is not empty; global_data with mem as
//                          its initial value, so creating the map fills it
//   programs[0] "npu_conf" (XDP): a prologue looks up npu_conf_mem[0] (r1 =
//   its value, r2 = len(mem); without mem r1 = r2 = 0), the program follows,
//   and every exit of its main function jumps to an epilogue that stores r0
//   in npu_conf_r0[0] and returns 0.
// Run it once on any packet of at least 14 bytes: a verdict of 0 means the
// result is in npu_conf_r0; kConformanceNoMem / kConformanceNoResult say a
// lookup of the wrapper's own maps failed.
#pragma once

#include "compiler/bpf/insn.h"
#include "compiler/bpf/program.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bpf {

// A snippet to insert before old instruction `at` (prog.size() = at the end).
struct Insertion {
  size_t at = 0;
  std::vector<Insn> insns;
};

// Inserts snippets and fixes every jump, gotol, BPF-to-BPF call and
// ld_imm64-of-function offset so that each reaches the instruction it reached
// before; a jump out of the program stays out of it. new_index, if given,
// receives the new position of every old slot (size prog.size() + 1; the last
// entry is the end). Throws std::runtime_error when an offset no longer fits.
std::vector<Insn> insert_insns(const std::vector<Insn>& prog, std::vector<Insertion> inserts,
                               std::vector<size_t>* new_index = nullptr);

constexpr const char* kConformanceResultMap = "npu_conf_r0";
constexpr const char* kConformanceMemMap = "npu_conf_mem";
constexpr const char* kConformanceProgram = "npu_conf";
constexpr int kConformanceResultMapIndex = 0;
// Verdicts of the wrapper itself (the program's own r0 never reaches the verdict).
constexpr uint32_t kConformanceNoMem = 101;
constexpr uint32_t kConformanceNoResult = 102;

// Where the wrapper put the caller's instructions.
struct ConformanceLayout {
  std::vector<size_t> new_index;  // old slot -> index in programs[0] (size prog.size() + 1)
  size_t epilogue = 0;            // first instruction of the epilogue
};

// Wraps prog (see above). Throws std::runtime_error when a jump no longer fits
// after the insertion.
Object wrap_conformance(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem,
                        ConformanceLayout* layout = nullptr);

}  // namespace bpf
