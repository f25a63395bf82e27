// BPF disassembly in the syntax of the kernel verifier log and llvm-objdump.
#include "compiler/bpf/program.h"
#include "compiler/bpf/helpers.h"

#include <fmt/format.h>

namespace bpf {
namespace {

#define NPU_HELPER_NAME(x) #x
const char* const kHelperNames[] = {__BPF_FUNC_MAPPER(NPU_HELPER_NAME)};
#undef NPU_HELPER_NAME

const char* jmp_sym(uint8_t op) {
  switch (op) {
    case BPF_JEQ:
      return "==";
    case BPF_JGT:
      return ">";
    case BPF_JGE:
      return ">=";
    case BPF_JSET:
      return "&";
    case BPF_JNE:
      return "!=";
    case BPF_JSGT:
      return "s>";
    case BPF_JSGE:
      return "s>=";
    case BPF_JLT:
      return "<";
    case BPF_JLE:
      return "<=";
    case BPF_JSLT:
      return "s<";
    case BPF_JSLE:
      return "s<=";
    default:
      return nullptr;
  }
}

const char* size_name(uint8_t size, bool sign = false) {
  switch (size) {
    case BPF_B:
      return sign ? "s8" : "u8";
    case BPF_H:
      return sign ? "s16" : "u16";
    case BPF_W:
      return sign ? "s32" : "u32";
    default:
      return sign ? "s64" : "u64";
  }
}

std::string mem(const Insn& in, unsigned reg) {
  return in.off < 0 ? fmt::format("r{} - {}", reg, -int(in.off))
                    : fmt::format("r{} + {}", reg, in.off);
}

std::string reloff(int64_t off) {
  return off < 0 ? fmt::format("{}", off) : fmt::format("+{}", off);
}

std::string alu(const Insn& in) {
  bool is64 = in.cls() == BPF_ALU64;
  char r = is64 ? 'r' : 'w';
  uint8_t op = in.op();
  if (op == BPF_NEG) return fmt::format("{}{} = -{}{}", r, in.dst, r, in.dst);
  if (op == BPF_END) {
    if (is64) return fmt::format("r{} = bswap{} r{}", in.dst, in.imm, in.dst);
    return fmt::format("r{} = {}{} r{}", in.dst, in.srcbit() ? "be" : "le", in.imm, in.dst);
  }
  if (op == BPF_MOV && in.srcbit() && in.off != 0)
    return fmt::format("{}{} = ({}){}{}", r, in.dst,
                       size_name(in.off == 8    ? BPF_B
                                 : in.off == 16 ? BPF_H
                                                : BPF_W,
                                 true),
                       r, in.src);
  const char* sym = alu_op_symbol(op);
  if (!sym) return fmt::format("invalid alu opcode 0x{:02x}", in.code);
  std::string s = (in.off == 1 && (op == BPF_DIV || op == BPF_MOD)) ? std::string("s") + sym : sym;
  if (in.srcbit()) return fmt::format("{}{} {} {}{}", r, in.dst, s, r, in.src);
  return fmt::format("{}{} {} {}", r, in.dst, s, in.imm);
}

std::string atomic(const Insn& in) {
  bool dw = in.size() == BPF_DW;
  const char* sz = dw ? "u64" : "u32";
  char r = dw ? 'r' : 'w';
  int op = in.imm;
  std::string addr = fmt::format("*({} *)({})", sz, mem(in, in.dst));
  if (op == BPF_XCHG)
    return fmt::format("{}{} = xchg_{}({}, {}{})", r, in.src, dw ? 64 : 32, mem(in, in.dst), r,
                       in.src);
  if (op == BPF_CMPXCHG)
    return fmt::format("{}0 = cmpxchg_{}({}, {}0, {}{})", r, dw ? 64 : 32, mem(in, in.dst), r, r,
                       in.src);
  const char* name = nullptr;
  switch (op & ~BPF_FETCH) {
    case BPF_ADD:
      name = "add";
      break;
    case BPF_OR:
      name = "or";
      break;
    case BPF_AND:
      name = "and";
      break;
    case BPF_XOR:
      name = "xor";
      break;
  }
  if (!name) return fmt::format("invalid atomic op 0x{:x}", op);
  if (op & BPF_FETCH)
    return fmt::format("{}{} = atomic_fetch_{}(({} *)({}), {}{})", r, in.src, name, sz,
                       mem(in, in.dst), r, in.src);
  return fmt::format("lock {} {} {}{}", addr, alu_op_symbol(op & ~BPF_FETCH), r, in.src);
}

}  // namespace

const char* alu_op_symbol(uint8_t op) {
  switch (op) {
    case BPF_ADD:
      return "+=";
    case BPF_SUB:
      return "-=";
    case BPF_MUL:
      return "*=";
    case BPF_DIV:
      return "/=";
    case BPF_OR:
      return "|=";
    case BPF_AND:
      return "&=";
    case BPF_LSH:
      return "<<=";
    case BPF_RSH:
      return ">>=";
    case BPF_MOD:
      return "%=";
    case BPF_XOR:
      return "^=";
    case BPF_MOV:
      return "=";
    case BPF_ARSH:
      return "s>>=";
    default:
      return nullptr;
  }
}

const char* helper_name(int32_t id) {
  constexpr int n = sizeof(kHelperNames) / sizeof(kHelperNames[0]);
  return id >= 0 && id < n ? kHelperNames[id] : nullptr;
}

std::string disasm(const std::vector<Insn>& insns, size_t i, const Object* obj) {
  const Insn& in = insns.at(i);
  switch (in.cls()) {
    case BPF_ALU:
    case BPF_ALU64:
      return alu(in);
    case BPF_LDX:
      if (in.mode() == BPF_MEM || in.mode() == BPF_MEMSX)
        return fmt::format("r{} = *({} *)({})", in.dst,
                           size_name(in.size(), in.mode() == BPF_MEMSX), mem(in, in.src));
      break;
    case BPF_ST:
      if (in.mode() == BPF_MEM)
        return fmt::format("*({} *)({}) = {}", size_name(in.size()), mem(in, in.dst), in.imm);
      break;
    case BPF_STX:
      if (in.mode() == BPF_MEM)
        return fmt::format("*({} *)({}) = r{}", size_name(in.size()), mem(in, in.dst), in.src);
      if (in.mode() == BPF_ATOMIC) return atomic(in);
      break;
    case BPF_LD:
      if (in.is_lddw()) {
        if (i + 1 >= insns.size()) return "lddw (truncated)";
        const Insn& hi = insns[i + 1];
        auto map_name = [&](int idx) {
          if (obj && idx >= 0 && size_t(idx) < obj->maps.size()) return obj->maps[idx].name;
          return fmt::format("#{}", idx);
        };
        if (in.src == BPF_PSEUDO_MAP_FD)
          return fmt::format("r{} = map[{}] ll", in.dst, map_name(in.imm));
        if (in.src == BPF_PSEUDO_MAP_VALUE)
          return fmt::format("r{} = map[{}] + {} ll", in.dst, map_name(in.imm), hi.imm);
        if (in.src == BPF_PSEUDO_FUNC)
          return fmt::format("r{} = func pc{} ll", in.dst, reloff(in.imm));
        uint64_t v = uint32_t(in.imm) | uint64_t(uint32_t(hi.imm)) << 32;
        return fmt::format("r{} = 0x{:x} ll", in.dst, v);
      }
      if (in.mode() == BPF_ABS)
        return fmt::format("r0 = *({} *)skb[{}]", size_name(in.size()), in.imm);
      if (in.mode() == BPF_IND)
        return fmt::format("r0 = *({} *)skb[r{} + {}]", size_name(in.size()), in.src, in.imm);
      break;
    case BPF_JMP:
    case BPF_JMP32: {
      if (in.is_exit()) return "exit";
      if (in.is_call()) {
        if (in.src == BPF_PSEUDO_CALL) return fmt::format("call pc{}", reloff(in.imm));
        if (in.src == BPF_PSEUDO_KFUNC_CALL) return fmt::format("call kfunc#{}", in.imm);
        if (const char* n = helper_name(in.imm)) return fmt::format("call bpf_{}#{}", n, in.imm);
        return fmt::format("call #{}", in.imm);
      }
      if (in.op() == BPF_JA) {
        if (in.cls() == BPF_JMP32) return fmt::format("gotol pc{}", reloff(in.imm));
        return fmt::format("goto pc{}", reloff(in.off));
      }
      const char* sym = jmp_sym(in.op());
      if (!sym) break;
      char r = in.cls() == BPF_JMP32 ? 'w' : 'r';
      if (in.srcbit())
        return fmt::format("if {}{} {} {}{} goto pc{}", r, in.dst, sym, r, in.src, reloff(in.off));
      return fmt::format("if {}{} {} {} goto pc{}", r, in.dst, sym, in.imm, reloff(in.off));
    }
  }
  return fmt::format("invalid opcode 0x{:02x}", in.code);
}

}  // namespace bpf
