// The back end as a list of named passes (docs/compiler.md). BPF-level passes
// rewrite InsnMeta before lowering; NPU-level passes rewrite machine code
// after it. Every pass can be switched off with -fno-<name>; none may change
// what the program does (DESIGN.md, contract 4), which the differential tests
// check with each one off.
#pragma once

#include "compiler/backend/module.h"

#include <string>
#include <vector>

namespace npucc {

enum class Stage { BPF, NPU };

struct Pass {
  const char* name;  // -fno-<name>
  Stage stage;
  void (*run)(Module&);
  const char* summary;
};

// In the order they run.
const std::vector<Pass>& passes();
const Pass* find_pass(const std::string& name);

// The passes, one file each (compiler/backend/pass_<name>.cpp).
void pass_const_prop(Module& m);
void pass_dead_code(Module& m);
void pass_zext(Module& m);
void pass_fuse_branch(Module& m);
void pass_pkt_merge(Module& m);
void pass_pkt_check(Module& m);
void pass_array_inline(Module& m);
void pass_regalloc(Module& m);
void pass_schedule(Module& m);

// Lowering of the BPF program (with the BPF-level passes' decisions) into
// machine code; throws CompileError for what the device cannot do.
void lower(Module& m);

// Shared by passes: BPF registers each instruction reads and writes (bit r).
uint16_t bpf_uses(const bpf::Insn& in);
uint16_t bpf_defs(const bpf::Insn& in);
// Registers live after each instruction (by BPF semantics, skipped
// instructions ignored), within each function.
std::vector<uint16_t> bpf_live_out(const Module& m);
// The instructions that can jump to each instruction (beyond falling through).
std::vector<bool> bpf_jump_targets(const Module& m);
// Skips ALU, load and lddw instructions whose result nothing reads, until
// none is left; returns how many.
uint64_t remove_dead_results(Module& m);

}  // namespace npucc
