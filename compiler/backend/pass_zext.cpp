// zext: clang zero-extends 32-bit values with `w1 = w1`, or with a shift
// pair `r1 <<= 32; r1 >>= 32`. Where the verifier knows the upper half is
// already zero on every path, the extension does nothing and is dropped.
#include "compiler/backend/passes.h"

namespace npucc {

void pass_zext(Module& m) {
  const std::vector<bool> target = bpf_jump_targets(m);
  for (size_t i = 0; i < m.meta.size(); i++) {
    InsnMeta& mt = m.meta[i];
    if (mt.skip || !mt.facts || !mt.facts->reached) continue;
    const bpf::Insn& in = mt.insn;
    const bool upper_zero =
        mt.facts->type[in.dst] == verifier::RegType::SCALAR && mt.facts->umax[in.dst] <= UINT32_MAX;
    if (!upper_zero) continue;
    if (in.code == (BPF_ALU | BPF_MOV | BPF_X) && in.dst == in.src && in.off == 0) {
      mt.skip = true;
      m.stats["zext.moves"]++;
      continue;
    }
    if (in.code == (BPF_ALU64 | BPF_LSH | BPF_K) && in.imm == 32 && i + 1 < m.meta.size() &&
        !target[i + 1] && !m.meta[i + 1].skip &&
        m.meta[i + 1].insn.code == (BPF_ALU64 | BPF_RSH | BPF_K) && m.meta[i + 1].insn.imm == 32 &&
        m.meta[i + 1].insn.dst == in.dst) {
      mt.skip = true;
      m.meta[i + 1].skip = true;
      m.stats["zext.shift_pairs"]++;
    }
  }
}

}  // namespace npucc
