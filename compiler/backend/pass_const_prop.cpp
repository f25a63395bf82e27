// const-prop: where the verifier proved a register constant on every path,
// use the constant. A register operand becomes an immediate (one register
// read less, and the NPU's immediate forms), and an instruction whose result
// is one known constant becomes a load of that constant, which dead-code may
// then drop.
#include "compiler/backend/passes.h"

namespace npucc {

namespace {

bool fits_imm(uint64_t v, bool w) {
  return w || int64_t(v) == int64_t(int32_t(v));
}

bool is_shift(uint8_t op) {
  return op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH;
}

}  // namespace

void pass_const_prop(Module& m) {
  for (size_t i = 0; i < m.meta.size(); i++) {
    InsnMeta& mt = m.meta[i];
    if (mt.skip || !mt.facts || !mt.facts->reached) continue;
    bpf::Insn& in = mt.insn;
    const verifier::InsnFacts& f = *mt.facts;
    const uint8_t cls = in.cls(), op = in.op();
    const bool alu = cls == BPF_ALU || cls == BPF_ALU64;
    const bool w = cls == BPF_ALU || cls == BPF_JMP32;
    // The whole result known: a move of the constant.
    if ((alu || cls == BPF_LDX) && f.out_const && !(alu && op == BPF_MOV && in.srcbit() == BPF_K)) {
      const uint64_t v = f.out_value;
      // Any class: BPF_END sits in the 32-bit one but writes 64 bits (to_be64).
      if (v <= UINT32_MAX) {
        in = bpf::Insn(BPF_ALU | BPF_MOV | BPF_K, in.dst, 0, 0, int32_t(uint32_t(v)));
        m.stats["const-prop.results"]++;
        continue;
      }
      if (fits_imm(v, false)) {
        in = bpf::Insn(BPF_ALU64 | BPF_MOV | BPF_K, in.dst, 0, 0, int32_t(v));
        m.stats["const-prop.results"]++;
        continue;
      }
    }
    // A constant register operand.
    const bool cond = (cls == BPF_JMP || cls == BPF_JMP32) && in.is_jump() && op != BPF_JA;
    if (!(alu || cond) || in.srcbit() != BPF_X || !f.is_const[in.src]) continue;
    if (alu && (op == BPF_END || op == BPF_NEG)) continue;
    if (alu && op == BPF_MOV && in.off != 0) continue;  // sign-extending moves
    uint64_t v = f.value[in.src];
    if (alu && is_shift(op)) v &= w ? 31 : 63;  // BPF masks register shift counts
    if (!fits_imm(v, w)) continue;
    in.code = uint8_t((in.code & ~BPF_X) | BPF_K);
    in.imm = int32_t(uint32_t(v));
    in.src = 0;
    m.stats["const-prop.operands"]++;
  }
}

}  // namespace npucc
