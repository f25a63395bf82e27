// pkt-check: a packet bounds check (a packet pointer compared with data_end)
// that an earlier check of the same pointer already proves on every path
// cannot fail. The verifier, like the kernel's, still walks its failing side,
// so dead-code keeps it; this pass uses the verifier's record of the proof
// and drops the check (or makes it a jump, when failing is the fall-through).
// Inlined helpers that each re-check the same header are the usual source.
#include "compiler/backend/passes.h"

namespace npucc {

void pass_pkt_check(Module& m) {
  for (InsnMeta& mt : m.meta) {
    if (mt.skip || !mt.facts || !mt.facts->reached || !mt.facts->pkt_check_proven) continue;
    bpf::Insn& in = mt.insn;
    if (!in.is_jump() || in.op() == BPF_JA) continue;
    if (mt.facts->pkt_bad_taken)
      mt.skip = true;  // never jumps
    else
      in = bpf::Insn(BPF_JMP | BPF_JA, 0, 0, in.off, 0);  // always jumps
    m.stats["pkt-check.redundant"]++;
  }
}

}  // namespace npucc
