// Emission: machine code with labels into instruction words at their final
// addresses. Branches whose target is beyond the 14-bit displacement are
// relaxed into a branch over a jump; relocations and the listing follow the
// words.
#include "compiler/backend/emit.h"

#include "compiler/bpf/program.h"

#include <fmt/format.h>

#include <algorithm>

namespace npucc {

namespace {

using npu::Op;

bool is_cond_branch(Op op) {
  return npu::op_info(op).format == npu::Format::BRR || npu::op_info(op).format == npu::Format::BRI;
}

// The branch with the opposite condition, or kCount when there is none (bset).
Op inverse(Op op) {
  // Families of four: reg, imm, reg32, imm32; the base op decides.
  const int rel = (int(op) - int(Op::BEQ)) % 4;
  const Op base = Op(int(op) - rel);
  Op inv;
  switch (base) {
    case Op::BEQ:
      inv = Op::BNE;
      break;
    case Op::BNE:
      inv = Op::BEQ;
      break;
    case Op::BGT:
      inv = Op::BLE;
      break;
    case Op::BLE:
      inv = Op::BGT;
      break;
    case Op::BGE:
      inv = Op::BLT;
      break;
    case Op::BLT:
      inv = Op::BGE;
      break;
    case Op::BSGT:
      inv = Op::BSLE;
      break;
    case Op::BSLE:
      inv = Op::BSGT;
      break;
    case Op::BSGE:
      inv = Op::BSLT;
      break;
    case Op::BSLT:
      inv = Op::BSGE;
      break;
    default:
      return Op::kCount;
  }
  return Op(int(inv) + rel);
}

bool fits14(int64_t v) {
  return v >= -8192 && v < 8192;
}

}  // namespace

void emit_program(const Module& m, npu::Object& img, std::vector<ListingLine>* listing) {
  const std::vector<MInsn>& code = m.mc.code;
  npu::Object::Section& text = img.sections[0];
  const uint64_t base = text.base + text.words.size();
  // Sizes: 1 word, or 2 (inverted branch + jmp), or 3 for a far bset.
  std::vector<uint8_t> words(code.size(), 1);
  std::vector<uint64_t> addr(code.size() + 1);
  std::vector<uint64_t> label_addr(size_t(m.mc.next_label), UINT64_MAX);
  for (bool changed = true; changed;) {
    changed = false;
    uint64_t a = base;
    for (size_t k = 0; k < code.size(); k++) {
      addr[k] = a;
      if (code[k].is_label)
        label_addr[size_t(code[k].label)] = a;
      else
        a += words[k];
    }
    addr[code.size()] = a;
    for (size_t k = 0; k < code.size(); k++) {
      const MInsn& x = code[k];
      if (x.is_label || x.label < 0 || !is_cond_branch(x.in.op) || words[k] > 1) continue;
      const int64_t d = int64_t(label_addr[size_t(x.label)]) - int64_t(addr[k]);
      if (!fits14(d)) {
        words[k] = inverse(x.in.op) == Op::kCount ? 3 : 2;
        changed = true;
      }
    }
  }
  auto put = [&](npu::Insn in) { text.words.push_back(npu::encode(in)); };
  for (size_t k = 0; k < code.size(); k++) {
    const MInsn& x = code[k];
    if (x.is_label) continue;
    const uint64_t pc = text.base + text.words.size();
    if (listing) listing->push_back({pc, x.bpf, x.note});
    npu::Insn in = x.in;
    if (x.label >= 0) {
      const uint64_t t = label_addr[size_t(x.label)];
      if (t == UINT64_MAX) throw std::logic_error("emit: a label that was never placed");
      const int64_t d = int64_t(t) - int64_t(pc);
      if (is_cond_branch(in.op)) {
        if (words[k] == 1) {
          in.off = int16_t(d);
          put(in);
        } else if (words[k] == 2) {
          in.op = inverse(in.op);
          in.off = 2;  // over the jmp
          put(in);
          npu::Insn j;
          j.op = Op::JMP;
          j.imm = int32_t(d - 1);
          put(j);
          if (listing) listing->push_back({pc + 1, x.bpf, "far branch"});
        } else {
          in.off = 2;  // to the jmp that reaches the target
          put(in);
          npu::Insn skip;
          skip.op = Op::JMP;
          skip.imm = 2;
          put(skip);
          npu::Insn j;
          j.op = Op::JMP;
          j.imm = int32_t(d - 2);
          put(j);
          if (listing) {
            listing->push_back({pc + 1, x.bpf, "far branch"});
            listing->push_back({pc + 2, x.bpf, "far branch"});
          }
        }
        continue;
      }
      if (in.op == Op::JMP || in.op == Op::JAL)
        in.imm = int32_t(d);
      else
        in.imm = int32_t(t);  // an absolute code address (li of a function)
    }
    if (x.reloc.present) {
      npu::Object::Reloc r;
      r.insn = pc;
      r.kind = x.reloc.kind;
      r.map = x.reloc.map;
      r.helper = x.reloc.helper;
      r.addend = x.reloc.addend;
      img.relocs.push_back(r);
    }
    put(in);
  }
}

}  // namespace npucc
