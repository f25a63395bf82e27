// Lowering: each BPF instruction (as the BPF-level passes left it) into NPU
// instructions, with the verifier's facts choosing the memory access: packet
// accesses are the hardware-checked ldp/stp, the context's packet pointers
// come from the registers the firmware keeps (r24-r26), helpers are engine
// commands or calls into the firmware. docs/compiler.md has the register and
// frame conventions.
#include "compiler/backend/compile.h"
#include "compiler/backend/passes.h"
#include "firmware/abi.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

namespace npucc {

namespace {

using npu::Op;
using RK = npu::Object::RelocKind;

constexpr uint8_t kT0 = 11, kT1 = 12;                     // scratch registers of the lowering
constexpr uint8_t kData = 24, kDataEnd = 25, kMeta = 26;  // kept by the firmware
constexpr uint8_t kLr = 30;
constexpr int kLmSlot = NPU_LM_SLOT;  // bytes of local memory per thread: every frame's stack

bool fits14(int64_t v) {
  return v >= -8192 && v < 8192;
}
bool fits32(int64_t v) {
  return v == int64_t(int32_t(v));
}

class Lowerer {
 public:
  explicit Lowerer(Module& m) : m_(m), code_(m.mc.code) {}
  void run();

 private:
  [[noreturn]] void fail(uint32_t i, const std::string& why) const;
  MInsn& emit(Op op, uint8_t a = 0, uint8_t b = 0, uint8_t c = 0, int64_t imm = 0) {
    MInsn x;
    x.in.op = op;
    x.in.a = a, x.in.b = b, x.in.c = c;
    x.in.imm = int32_t(imm);
    x.bpf = cur_;
    code_.push_back(x);
    return code_.back();
  }
  MInsn& sized(Op op, unsigned width, uint8_t a, uint8_t b, int64_t imm) {
    MInsn& x = emit(op, a, b, 0, imm);
    x.in.width = uint8_t(width);
    return x;
  }
  void label(int32_t id) {
    MInsn x;
    x.is_label = true;
    x.label = id;
    x.bpf = cur_;
    code_.push_back(x);
  }
  MInsn& branch_to(Op op, uint8_t b, uint8_t c, int64_t imm, int32_t target) {
    MInsn& x = emit(op, 0, b, c, imm);
    x.label = target;
    return x;
  }
  // dst <- a 64-bit constant, in one or two instructions.
  void load_const(uint8_t dst, uint64_t v) {
    if (fits32(int64_t(v))) {
      emit(Op::LI, dst, 0, 0, int64_t(v));
    } else {
      emit(Op::LIW, dst, 0, 0, int64_t(int32_t(uint32_t(v))));
      emit(Op::LIH, dst, 0, 0, int64_t(int32_t(uint32_t(v >> 32))));
    }
  }
  // A base register and displacement that fit the 14-bit field.
  std::pair<uint8_t, int64_t> address(uint8_t base, int64_t off) {
    if (fits14(off)) return {base, off};
    emit(Op::ADDI, kT1, base, 0, off);
    return {kT1, 0};
  }

  void lower_function(size_t f);
  void lower_insn(uint32_t i);
  void lower_alu(uint32_t i, const bpf::Insn& in);
  void lower_load(uint32_t i, const bpf::Insn& in);
  void lower_store(uint32_t i, const bpf::Insn& in);
  void lower_atomic(uint32_t i, const bpf::Insn& in);
  void lower_jump(uint32_t i, const bpf::Insn& in);
  void lower_call(uint32_t i, const bpf::Insn& in);
  void lower_helper(uint32_t i, const bpf::Insn& in);
  void lower_exit();
  void lower_inline_array(uint32_t i);
  int function_of(uint32_t i) const;
  void check_stack();

  Module& m_;
  std::vector<MInsn>& code_;
  uint32_t cur_ = UINT32_MAX;
  size_t func_ = 0;
  std::vector<int32_t> entry_label_;
  std::vector<int32_t> frame_size_;  // bytes each function's frame takes below its r10
  std::vector<uint16_t> saved_;      // r6-r9 (and r30 as bit 10) a subprogram saves
  std::vector<int32_t> save_base_;   // offset from r10 of the save area's top
};

void Lowerer::fail(uint32_t i, const std::string& why) const {
  throw CompileError(
      fmt::format("{}: {}: {}: {}", m_.obj->path, m_.prog->name, m_.prog->place(i), why));
}

int Lowerer::function_of(uint32_t i) const {
  for (size_t f = 0; f < m_.funcs.size(); f++)
    if (i >= m_.funcs[f].begin && i < m_.funcs[f].end) return int(f);
  return -1;
}

// Every frame of the deepest call chain must fit the thread's local memory.
void Lowerer::check_stack() {
  std::vector<std::vector<size_t>> callees(m_.funcs.size());
  for (size_t f = 0; f < m_.funcs.size(); f++)
    for (uint32_t i = m_.funcs[f].begin; i < m_.funcs[f].end; i++) {
      const bpf::Insn& in = m_.meta[i].insn;
      if (in.is_pseudo_call() && !m_.meta[i].skip)
        callees[f].push_back(size_t(function_of(uint32_t(int64_t(i) + in.imm + 1))));
    }
  std::function<int(size_t, int)> deepest = [&](size_t f, int level) {
    int best = 0;
    if (level < 9)
      for (size_t c : callees[f]) best = std::max(best, deepest(c, level + 1));
    return frame_size_[f] + best;
  };
  const int total = deepest(0, 1);
  if (total > kLmSlot)
    fail(0, fmt::format("the call chain needs {} bytes of stack and saved registers; a thread's "
                        "local memory holds {} (NPU_LM_SLOT)",
                        total, kLmSlot));
}

void Lowerer::run() {
  MProgram& mc = m_.mc;
  m_.bpf_label.resize(m_.meta.size());
  for (auto& l : m_.bpf_label) l = mc.new_label();
  entry_label_.resize(m_.funcs.size());
  frame_size_.resize(m_.funcs.size());
  saved_.resize(m_.funcs.size());
  save_base_.resize(m_.funcs.size());
  for (size_t f = 0; f < m_.funcs.size(); f++) {
    Function& fn = m_.funcs[f];
    entry_label_[f] = mc.new_label();
    uint16_t writes = 0;
    for (uint32_t i = fn.begin; i < fn.end; i++) {
      if (m_.meta[i].skip) continue;
      const bpf::Insn& in = m_.meta[i].insn;
      writes |= bpf_defs(in);
      if (in.is_call() && !(m_.meta[i].fuse == Fuse::INLINE_ARRAY)) fn.has_calls = true;
    }
    const int32_t stack = (std::max(fn.stack_depth, 0) + 15) / 16 * 16;
    uint16_t save = 0;
    if (f > 0) {
      save = uint16_t(writes & 0x3c0);
      if (fn.has_calls) save |= 1u << 10;  // r30
    }
    saved_[f] = save;
    save_base_[f] = -stack;
    int nsave = 0;
    for (unsigned r = 0; r < 11; r++) nsave += save >> r & 1;
    frame_size_[f] = stack + 8 * nsave;
  }
  check_stack();
  for (size_t f = 0; f < m_.funcs.size(); f++) lower_function(f);
}

void Lowerer::lower_function(size_t f) {
  func_ = f;
  const Function& fn = m_.funcs[f];
  cur_ = fn.begin;
  label(entry_label_[f]);
  // Prologue of a subprogram: save what the caller expects back.
  int32_t slot = save_base_[f];
  for (unsigned r = 0; r < 11; r++)
    if (saved_[f] >> r & 1) {
      slot -= 8;
      MInsn& x = sized(Op::ST, 8, r == 10 ? kLr : uint8_t(r), 10, slot);
      x.note = "save";
    }
  for (uint32_t i = fn.begin; i < fn.end; i++) {
    cur_ = i;
    label(m_.bpf_label[i]);
    if (m_.meta[i].skip) continue;  // also the second half of every lddw
    lower_insn(i);
  }
}

void Lowerer::lower_insn(uint32_t i) {
  const bpf::Insn& in = m_.meta[i].insn;
  switch (in.cls()) {
    case BPF_ALU:
    case BPF_ALU64:
      lower_alu(i, in);
      return;
    case BPF_LDX:
      lower_load(i, in);
      return;
    case BPF_ST:
    case BPF_STX:
      if (in.mode() == BPF_ATOMIC)
        lower_atomic(i, in);
      else
        lower_store(i, in);
      return;
    case BPF_LD: {
      const bpf::Insn& next = m_.meta[i + 1].insn;
      switch (in.src) {
        case 0:
          load_const(in.dst, uint64_t(uint32_t(in.imm)) | uint64_t(uint32_t(next.imm)) << 32);
          return;
        case BPF_PSEUDO_MAP_FD: {
          MInsn& x = emit(Op::LI, in.dst);
          x.reloc = {true, RK::kMapId, uint32_t(in.imm), "", 0};
          m_.features |= NPU_FEAT_MAPS;
          return;
        }
        case BPF_PSEUDO_MAP_VALUE: {
          MInsn& lo = emit(Op::LIW, in.dst);
          lo.reloc = {true, RK::kMapValueLo, uint32_t(in.imm), "", next.imm};
          MInsn& hi = emit(Op::LIH, in.dst);
          hi.reloc = {true, RK::kMapValueHi, uint32_t(in.imm), "", next.imm};
          return;
        }
        default:
          fail(i, "function pointers (bpf_loop callbacks) are not offloaded yet");
      }
    }
    default:
      break;
  }
  const uint8_t op = in.op();
  if (op == BPF_CALL) {
    lower_call(i, in);
  } else if (op == BPF_EXIT) {
    lower_exit();
  } else {
    lower_jump(i, in);
  }
}

// ---------------------------------------------------------------- ALU

Op alu_reg_op(uint8_t op, bool alu32, bool sign) {
  static const Op r64[] = {Op::ADD, Op::SUB, Op::MUL, Op::DIV, Op::OR,  Op::AND, Op::LSH,
                           Op::RSH, Op::NEG, Op::MOD, Op::XOR, Op::MOV, Op::ARSH};
  static const Op r32[] = {Op::ADDW, Op::SUBW, Op::MULW, Op::DIVW, Op::ORW,  Op::ANDW, Op::LSHW,
                           Op::RSHW, Op::NEGW, Op::MODW, Op::XORW, Op::MOVW, Op::ARSHW};
  Op o = (alu32 ? r32 : r64)[op >> 4];
  if (sign && o == Op::DIV) return Op::SDIV;
  if (sign && o == Op::MOD) return Op::SMOD;
  if (sign && o == Op::DIVW) return Op::SDIVW;
  if (sign && o == Op::MODW) return Op::SMODW;
  return o;
}

// The immediate form of a register-form ALU instruction (ADD -> ADDI, ...).
Op imm_form(Op o) {
  return Op(uint8_t(o) + 1);
}

void Lowerer::lower_alu(uint32_t, const bpf::Insn& in) {
  const uint8_t op = in.op();
  const bool alu32 = in.cls() == BPF_ALU;
  const bool x = in.srcbit() == BPF_X;
  if (op == BPF_MOV) {
    if (!x) {
      emit(alu32 ? Op::LIW : Op::LI, in.dst, 0, 0, in.imm);
    } else if (in.off == 8) {
      emit(alu32 ? Op::SEXT8W : Op::SEXT8, in.dst, in.src);
    } else if (in.off == 16) {
      emit(alu32 ? Op::SEXT16W : Op::SEXT16, in.dst, in.src);
    } else if (in.off == 32) {
      emit(Op::SEXT32, in.dst, in.src);
    } else if (alu32) {
      emit(Op::MOVW, in.dst, in.src);
    } else if (in.dst != in.src) {
      emit(Op::MOV, in.dst, in.src);
    }
    return;
  }
  if (op == BPF_NEG) {
    emit(alu32 ? Op::NEGW : Op::NEG, in.dst, in.dst);
    return;
  }
  if (op == BPF_END) {
    const bool swap = in.cls() == BPF_ALU64 || x;  // bswap, or to_be on a little-endian machine
    if (swap) {
      emit(in.imm == 16 ? Op::BSWAP16 : in.imm == 32 ? Op::BSWAP32 : Op::BSWAP64, in.dst, in.dst);
    } else if (in.imm == 16) {
      emit(Op::ANDWI, in.dst, in.dst, 0, 0xffff);
    } else if (in.imm == 32) {
      emit(Op::MOVW, in.dst, in.dst);
    }
    return;
  }
  const Op o = alu_reg_op(op, alu32, in.off == 1);
  if (x)
    emit(o, in.dst, in.dst, in.src);
  else
    emit(imm_form(o), in.dst, in.dst, 0, in.imm);
}

// ---------------------------------------------------------------- memory

void Lowerer::lower_load(uint32_t i, const bpf::Insn& in) {
  const InsnMeta& mt = m_.meta[i];
  const verifier::InsnFacts& f = *mt.facts;
  const unsigned size = bpf::size_bytes(in.size());
  const bool sx = in.mode() == BPF_MEMSX;
  if (mt.fuse == Fuse::WIDE_LOAD) {  // packet bytes merged by pkt-merge
    auto [base, off] = address(in.src, in.off);
    sized(mt.wide_be ? Op::LDPB : Op::LDP, mt.wide_size, in.dst, base, off);
    return;
  }
  if (f.mem == verifier::Mem::CTX) {
    switch (in.off) {
      case 0:
        emit(Op::MOV, in.dst, kData);
        return;
      case 4:
        emit(Op::MOV, in.dst, kDataEnd);
        return;
      case 8:
        emit(Op::MOV, in.dst, kMeta);
        return;
      case 12:
        sized(Op::LD, 4, in.dst, in.src, NPU_DESC_IFINDEX);
        return;
      case 16:
        sized(Op::LD, 4, in.dst, in.src, NPU_DESC_RXQ);
        return;
      default:
        fail(i, fmt::format("context field at offset {} has no device equivalent", in.off));
    }
  }
  auto [base, off] = address(in.src, in.off);
  const bool pkt = f.mem == verifier::Mem::PACKET || f.mem == verifier::Mem::PACKET_META;
  if (pkt) {
    sized(Op::LDP, size, in.dst, base, off);
    if (sx) emit(size == 1 ? Op::SEXT8 : size == 2 ? Op::SEXT16 : Op::SEXT32, in.dst, in.dst);
    return;
  }
  sized(sx ? Op::LDS : Op::LD, size, in.dst, base, off);
}

void Lowerer::lower_store(uint32_t i, const bpf::Insn& in) {
  const InsnMeta& mt = m_.meta[i];
  const verifier::InsnFacts& f = *mt.facts;
  const unsigned size = bpf::size_bytes(in.size());
  const bool pkt = f.mem == verifier::Mem::PACKET || f.mem == verifier::Mem::PACKET_META;
  auto [base, off] = address(in.dst, in.off);
  if (in.cls() == BPF_STX) {
    sized(pkt ? Op::STP : Op::ST, size, in.src, base, off);
    return;
  }
  // Store of an immediate: the displacement field is the 14-bit one.
  MInsn& x = sized(pkt ? Op::STPI : Op::STI, size, 0, base, in.imm);
  x.in.off = int16_t(off);
}

void Lowerer::lower_atomic(uint32_t, const bpf::Insn& in) {
  const unsigned size = bpf::size_bytes(in.size());
  auto [base, off] = address(in.dst, in.off);
  m_.features |= NPU_FEAT_ATOMICS;
  auto amo = [&](Op op, uint8_t a, uint8_t d, uint8_t e) {
    MInsn& x = sized(op, size, a, base, off);
    x.in.d = d;
    x.in.e = e;
  };
  switch (in.imm) {
    case BPF_ADD:
      return amo(Op::AADD, 0, in.src, 0);
    case BPF_OR:
      return amo(Op::AOR, 0, in.src, 0);
    case BPF_AND:
      return amo(Op::AAND, 0, in.src, 0);
    case BPF_XOR:
      return amo(Op::AXOR, 0, in.src, 0);
    case BPF_ADD | BPF_FETCH:
      return amo(Op::AFADD, in.src, in.src, 0);
    case BPF_OR | BPF_FETCH:
      return amo(Op::AFOR, in.src, in.src, 0);
    case BPF_AND | BPF_FETCH:
      return amo(Op::AFAND, in.src, in.src, 0);
    case BPF_XOR | BPF_FETCH:
      return amo(Op::AFXOR, in.src, in.src, 0);
    case BPF_XCHG:
      return amo(Op::AXCHG, in.src, in.src, 0);
    default:  // BPF_CMPXCHG: r0 <- old; stored when old == r0
      return amo(Op::ACMPXCHG, 0, in.src, 0);
  }
}

// ---------------------------------------------------------------- control

Op branch_op(uint8_t op, bool x, bool w) {
  Op o;
  switch (op) {
    case BPF_JEQ:
      o = Op::BEQ;
      break;
    case BPF_JNE:
      o = Op::BNE;
      break;
    case BPF_JGT:
      o = Op::BGT;
      break;
    case BPF_JGE:
      o = Op::BGE;
      break;
    case BPF_JLT:
      o = Op::BLT;
      break;
    case BPF_JLE:
      o = Op::BLE;
      break;
    case BPF_JSGT:
      o = Op::BSGT;
      break;
    case BPF_JSGE:
      o = Op::BSGE;
      break;
    case BPF_JSLT:
      o = Op::BSLT;
      break;
    case BPF_JSLE:
      o = Op::BSLE;
      break;
    default:
      o = Op::BSET;
      break;
  }
  // Each family is laid out as reg, imm, reg32, imm32 (isa.def's NPU_BR).
  return Op(uint8_t(o) + (x ? 0 : 1) + (w ? 2 : 0));
}

void Lowerer::lower_jump(uint32_t i, const bpf::Insn& in) {
  const uint8_t op = in.op();
  if (op == BPF_JA) {
    const int64_t t = int64_t(i) + 1 + (in.cls() == BPF_JMP ? in.off : in.imm);
    emit(Op::JMP).label = m_.bpf_label[size_t(t)];
    return;
  }
  const int32_t target = m_.bpf_label[size_t(int64_t(i) + 1 + in.off)];
  const bool x = in.srcbit() == BPF_X, w = in.cls() == BPF_JMP32;
  if (x)
    branch_to(branch_op(op, true, w), in.dst, in.src, 0, target);
  else
    branch_to(branch_op(op, false, w), in.dst, 0, in.imm, target);
}

void Lowerer::lower_call(uint32_t i, const bpf::Insn& in) {
  if (in.is_pseudo_call()) {
    const int callee = function_of(uint32_t(int64_t(i) + in.imm + 1));
    const int32_t fs = frame_size_[func_];
    if (fs) emit(Op::ADDI, 10, 10, 0, -fs);
    MInsn& j = emit(Op::JAL, kLr);
    j.label = entry_label_[size_t(callee)];
    if (fs) emit(Op::ADDI, 10, 10, 0, fs);
    return;
  }
  lower_helper(i, in);
}

void Lowerer::lower_helper(uint32_t i, const bpf::Insn& in) {
  auto firmware = [&](const char* name, uint64_t feature) {
    MInsn& j = emit(Op::JAL, kLr);
    j.reloc = {true, RK::kHelper, 0, name, 0};
    m_.features |= feature;
  };
  auto engine = [&](Op op, uint8_t b, uint8_t c, uint8_t d, uint8_t e, uint64_t feature) {
    MInsn& x = emit(op, 0, b, c);
    x.in.d = d;
    x.in.e = e;
    m_.features |= feature;
  };
  switch (in.imm) {
    case BPF_FUNC_map_lookup_elem:
      if (m_.meta[i].fuse == Fuse::INLINE_ARRAY) return lower_inline_array(i);
      return engine(Op::MLOOKUP, 1, 2, 0, 0, NPU_FEAT_MAPS);
    case BPF_FUNC_map_update_elem:
      return engine(Op::MUPDATE, 1, 2, 3, 4, NPU_FEAT_MAPS);
    case BPF_FUNC_map_delete_elem:
      return engine(Op::MDELETE, 1, 2, 0, 0, NPU_FEAT_MAPS);
    case BPF_FUNC_map_lookup_percpu_elem: {
      // One CPU's value exists (the map engine keeps one); any other CPU: NULL.
      const int32_t miss = m_.mc.new_label();
      emit(Op::LI, 0, 0, 0, 0);
      branch_to(Op::BNEWI, 3, 0, 0, miss);
      engine(Op::MLOOKUP, 1, 2, 0, 0, NPU_FEAT_MAPS);
      label(miss);
      return;
    }
    case BPF_FUNC_ktime_get_ns:
    case BPF_FUNC_ktime_get_boot_ns:
      return engine(Op::TIME, 0, 0, 0, 0, NPU_FEAT_TIME);
    case BPF_FUNC_get_prandom_u32:
      return engine(Op::RAND, 0, 0, 0, 0, NPU_FEAT_RAND);
    case BPF_FUNC_get_smp_processor_id:
      emit(Op::CSRR, 0, 0, 0, int64_t(npu::Csr::CID));
      return;
    case BPF_FUNC_tail_call:
      return firmware("tail_call", NPU_FEAT_TAIL_CALL);
    case BPF_FUNC_redirect:
      return firmware("redirect", NPU_FEAT_REDIRECT);
    case BPF_FUNC_redirect_map:
      return firmware("redirect_map", NPU_FEAT_REDIRECT | NPU_FEAT_MAPS);
    case BPF_FUNC_csum_diff:
      return firmware("csum_diff", NPU_FEAT_CSUM_DIFF | NPU_FEAT_CSUM);
    case BPF_FUNC_xdp_adjust_head:
      return firmware("xdp_adjust_head", NPU_FEAT_ADJUST_HEAD);
    case BPF_FUNC_xdp_adjust_meta:
      return firmware("xdp_adjust_meta", NPU_FEAT_ADJUST_META);
    case BPF_FUNC_xdp_adjust_tail:
      return firmware("xdp_adjust_tail", NPU_FEAT_ADJUST_TAIL);
    case BPF_FUNC_trace_printk:
    case BPF_FUNC_perf_event_output:
    case BPF_FUNC_ringbuf_output:
      fail(i, fmt::format("helper #{} sends events to the host; the device has no event channel "
                          "yet",
                          in.imm));
    default:
      fail(i, fmt::format("helper #{} is not offloaded", in.imm));
  }
}

// r0 <- &array[key] or 0: the map's value window, as the map engine lays
// array values out (abi.h: key k at k * round_up(value_size, 8)).
void Lowerer::lower_inline_array(uint32_t i) {
  const InsnMeta& mt = m_.meta[i];
  const int32_t map = mt.facts->call_map;
  const bpf::MapDef& def = m_.obj->maps.at(size_t(map));
  const uint32_t stride = (def.value_size + 7) / 8 * 8;
  const int32_t done = m_.mc.new_label();
  sized(Op::LD, 4, kT0, 2, 0);  // the key
  emit(Op::LI, 0, 0, 0, 0);
  branch_to(Op::BGEWI, kT0, 0, int32_t(def.max_entries), done);
  // The window's base has a zero low half: r0 is 0 already; lih sets the rest.
  MInsn& hi = emit(Op::LIH, 0);
  hi.reloc = {true, RK::kMapValueHi, uint32_t(map), "", 0};
  if (stride & (stride - 1)) {
    emit(Op::MULI, kT0, kT0, 0, stride);
  } else if (stride > 1) {
    unsigned sh = 0;
    while ((1u << sh) < stride) sh++;
    emit(Op::LSHI, kT0, kT0, 0, sh);
  }
  emit(Op::ADD, 0, 0, kT0);
  label(done);
  m_.features |= NPU_FEAT_MAPS;
}

void Lowerer::lower_exit() {
  if (func_ == 0) {
    emit(Op::EXITR, 0, 0);
    return;
  }
  int32_t slot = save_base_[func_];
  for (unsigned r = 0; r < 11; r++)
    if (saved_[func_] >> r & 1) {
      slot -= 8;
      sized(Op::LD, 8, r == 10 ? kLr : uint8_t(r), 10, slot).note = "restore";
    }
  emit(Op::JR, 0, kLr);
}

}  // namespace

void lower(Module& m) {
  Lowerer(m).run();
}

}  // namespace npucc
