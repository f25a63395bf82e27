// npu compile: a BPF object's programs, verified, through the passes and the
// lowering, into one NPU program image (docs/compiler.md).
#pragma once

#include "compiler/bpf/program.h"
#include "compiler/npu/image.h"
#include "compiler/verifier/verifier.h"

#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace npucc {

// what() is one line: "<file>: <prog>: insn N (file.c:LINE): <reason>" for a
// program the device cannot run (a resource limit, a helper it lacks).
class CompileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct CompileOptions {
  std::set<std::string> disabled;  // pass names (-fno-<name>)
  verifier::Options verify;
  bool listing = false;  // fill CompileResult::listing (-S)
};

struct ProgramStats {
  std::string name;
  uint32_t bpf_insns = 0;
  uint32_t npu_insns = 0;
  uint64_t verifier_insns = 0;             // instructions the verifier processed
  std::map<std::string, uint64_t> passes;  // "<pass>.<what>" -> count
};

struct CompileResult {
  npu::Image image;
  std::string listing;  // -S: NPU code with the BPF instructions and C lines it comes from
  std::vector<ProgramStats> stats;
};

// Verifies and compiles every program of obj. Throws verifier::VerifyError
// for an unsafe program and CompileError for one the device cannot run.
CompileResult compile(const bpf::Object& obj, const CompileOptions& opt = {});

}  // namespace npucc
