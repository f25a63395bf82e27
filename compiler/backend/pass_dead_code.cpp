// dead-code: what the verifier never reached is not emitted; a conditional
// branch that went one way on every path becomes a jump or nothing; and an
// instruction without side effects whose result nothing reads is dropped.
#include "compiler/backend/passes.h"

namespace npucc {

void pass_dead_code(Module& m) {
  for (size_t i = 0; i < m.meta.size(); i++) {
    InsnMeta& mt = m.meta[i];
    if (mt.skip || !mt.facts) continue;
    bpf::Insn& in = mt.insn;
    if (!mt.facts->reached) {
      mt.skip = true;
      if (in.is_lddw()) m.meta[i + 1].skip = true;
      m.stats["dead-code.unreached"]++;
      continue;
    }
    if (in.is_jump() && in.op() != BPF_JA && mt.facts->taken != mt.facts->fallthrough) {
      if (mt.facts->taken)
        in = bpf::Insn(BPF_JMP | BPF_JA, 0, 0, in.off, 0);
      else
        mt.skip = true;
      m.stats["dead-code.branches"]++;
    }
    if (!mt.skip && in.op() == BPF_JA && in.cls() == BPF_JMP && in.off == 0) {
      mt.skip = true;
      m.stats["dead-code.branches"]++;
    }
  }
  m.stats["dead-code.results"] += remove_dead_results(m);
}

}  // namespace npucc
