// fuse-branch: the NPU compares and branches in one instruction, against a
// register, an immediate, or a bit mask (bset). Two BPF idioms feed a branch
// from an instruction whose result nothing else reads:
//   w1 &= K; if w1 != 0 goto L   ->  if w1 & K goto L     (bset)
//   r1 = r2; if r1 > K goto L    ->  if r2 > K goto L
// The first instruction goes; the branch reads the original operand.
#include "compiler/backend/passes.h"

namespace npucc {

void pass_fuse_branch(Module& m) {
  const std::vector<bool> target = bpf_jump_targets(m);
  const std::vector<uint16_t> live = bpf_live_out(m);
  for (size_t i = 0; i + 1 < m.meta.size(); i++) {
    InsnMeta& a = m.meta[i];
    if (a.skip) continue;
    // The branch is the next emitted instruction, reached only from here.
    size_t j = i + 1;
    while (j < m.meta.size() && m.meta[j].skip && !target[j]) j++;
    if (j >= m.meta.size() || target[j] || m.meta[j].skip) continue;
    InsnMeta& b = m.meta[j];
    bpf::Insn& br = b.insn;
    const bpf::Insn& op = a.insn;
    const bool cond = br.is_jump() && br.op() != BPF_JA;
    if (!cond || (op.cls() != BPF_ALU && op.cls() != BPF_ALU64)) continue;
    const unsigned r = op.dst;
    if (r >= 10 || br.dst != r || (live[j] >> r & 1)) continue;  // the result dies at the branch
    if (br.srcbit() == BPF_X && br.src == r) continue;
    const bool w = op.cls() == BPF_ALU;
    if (op.op() == BPF_AND && op.srcbit() == BPF_K && br.op() == BPF_JNE && br.srcbit() == BPF_K &&
        br.imm == 0) {
      // A 32-bit AND, or a 32-bit test of a 64-bit AND, looks at the low half
      // only; a 64-bit AND tested in 64 bits looks at the sign-extended mask.
      const bool low = w || br.cls() == BPF_JMP32;
      br = bpf::Insn(uint8_t((low ? BPF_JMP32 : BPF_JMP) | BPF_JSET | BPF_K), uint8_t(r), 0, br.off,
                     op.imm);
      a.skip = true;
      m.stats["fuse-branch.bit_tests"]++;
    } else if (op.op() == BPF_MOV && op.srcbit() == BPF_X && op.off == 0 && op.src != r &&
               (!w || br.cls() == BPF_JMP32)) {
      // A 64-bit copy, or a 32-bit one tested in 32 bits: the source compares the same.
      br.dst = op.src;
      a.skip = true;
      m.stats["fuse-branch.copies"]++;
    }
  }
}

}  // namespace npucc
