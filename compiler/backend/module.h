// What the back end works on (docs/compiler.md): per BPF instruction, its
// verifier facts and what the BPF-level passes decided about it (InsnMeta,
// as the kernel's nfp JIT keeps struct nfp_insn_meta); then the NPU machine
// code the lowering produces (MInsn), which the NPU-level passes rewrite.
#pragma once

#include "compiler/bpf/program.h"
#include "compiler/npu/asm.h"
#include "compiler/npu/isa.h"
#include "compiler/verifier/verifier.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace npucc {

// How a BPF instruction is emitted, beyond its plain translation.
enum class Fuse : uint8_t {
  NONE,
  WIDE_LOAD,    // one packet load of wide_size bytes at insn.src + insn.off (pkt-merge)
  INLINE_ARRAY  // map_lookup_elem on an array: address arithmetic, no map engine command
};

struct InsnMeta {
  bpf::Insn insn;
  const verifier::InsnFacts* facts = nullptr;
  bool skip = false;  // emits nothing (dead, folded or fused into another)
  Fuse fuse = Fuse::NONE;
  uint8_t wide_size = 0;  // WIDE_LOAD: bytes
  bool wide_be = false;   // WIDE_LOAD: big-endian (network order)
};

// One function of the program: [begin, end) in the BPF instruction stream.
struct Function {
  uint32_t begin = 0, end = 0;
  int32_t stack_depth = 0;  // bytes below r10 the verifier saw it use
  bool has_calls = false;   // calls another function (needs a saved lr)
};

// Relocation of one machine instruction (npu::Object::Reloc without the index).
struct MReloc {
  bool present = false;
  npu::Object::RelocKind kind = npu::Object::RelocKind::kMapId;
  uint32_t map = 0;
  std::string helper;
  int64_t addend = 0;
};

// One NPU instruction, or a label marker (is_label).
struct MInsn {
  npu::Insn in;
  bool is_label = false;
  int32_t label = -1;  // is_label: its id; branches, jmp, jal: the target's id
  MReloc reloc;
  uint32_t bpf = UINT32_MAX;  // the BPF instruction it comes from (listings)
  std::string note;           // why it is there, for -S
};

struct MProgram {
  std::vector<MInsn> code;
  int32_t next_label = 0;
  int32_t new_label() { return next_label++; }
};

// The program being compiled.
struct Module {
  const bpf::Object* obj = nullptr;
  size_t prog_index = 0;
  const bpf::Program* prog = nullptr;
  verifier::Result verified;
  std::vector<InsnMeta> meta;
  std::vector<Function> funcs;
  MProgram mc;
  std::vector<int32_t> bpf_label;         // label id of each BPF instruction
  uint64_t features = 0;                  // NPU_FEAT_*
  std::map<std::string, uint64_t> stats;  // "<pass>.<what>" -> count
};

}  // namespace npucc
