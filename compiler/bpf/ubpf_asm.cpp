// Assembler for the uBPF-style BPF assembly of the bpf_conformance suite:
//   mov %r0, 1 / add32 %r1, %r2 / ldxw %r0, [%r1+4] / stxdw [%r10-8], %r1
//   jeq %r1, 5, label / ja32 label / call 5 / call local f / call %r2 / exit
//   lock [fetch] add[32] [%r10-8], %r1 / lddw %r0, 0x1122334455667788
// Labels end with ':' on their own line; '#' starts a comment.
#include "compiler/bpf/ubpf_asm.h"

#include <fmt/format.h>

#include <cctype>
#include <map>
#include <optional>
#include <sstream>

namespace bpf {
namespace {

struct Line {
  int number;
  std::string mnemonic;
  std::vector<std::string> ops;
};

[[noreturn]] void fail(int line, const std::string& why) {
  throw AsmError(fmt::format("line {}: {}", line, why));
}

std::string trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

const std::map<std::string, uint8_t> kAlu = {
    {"add", BPF_ADD}, {"sub", BPF_SUB},   {"mul", BPF_MUL},  {"div", BPF_DIV}, {"or", BPF_OR},
    {"and", BPF_AND}, {"lsh", BPF_LSH},   {"rsh", BPF_RSH},  {"mod", BPF_MOD}, {"xor", BPF_XOR},
    {"mov", BPF_MOV}, {"arsh", BPF_ARSH}, {"sdiv", BPF_DIV}, {"smod", BPF_MOD}};

const std::map<std::string, uint8_t> kJmp = {
    {"jeq", BPF_JEQ},   {"jgt", BPF_JGT},   {"jge", BPF_JGE},  {"jlt", BPF_JLT},
    {"jle", BPF_JLE},   {"jset", BPF_JSET}, {"jne", BPF_JNE},  {"jsgt", BPF_JSGT},
    {"jsge", BPF_JSGE}, {"jslt", BPF_JSLT}, {"jsle", BPF_JSLE}};

const std::map<std::string, uint8_t> kSize = {
    {"b", BPF_B}, {"h", BPF_H}, {"w", BPF_W}, {"dw", BPF_DW}};

const std::map<std::string, int> kAtomic = {{"add", BPF_ADD},   {"or", BPF_OR},
                                            {"and", BPF_AND},   {"xor", BPF_XOR},
                                            {"xchg", BPF_XCHG}, {"cmpxchg", BPF_CMPXCHG}};

std::optional<int> reg(const std::string& s) {
  if (s.size() < 3 || s[0] != '%' || s[1] != 'r') return std::nullopt;
  int v = 0;
  for (size_t i = 2; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  if (v > 10) return std::nullopt;
  return v;
}

std::optional<int64_t> number(const std::string& s) {
  if (s.empty()) return std::nullopt;
  size_t i = 0;
  bool negative = false;
  if (s[0] == '-' || s[0] == '+') {
    negative = s[0] == '-';
    i = 1;
  }
  int base = 10;
  if (s.size() > i + 1 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X')) {
    base = 16;
    i += 2;
  }
  if (i >= s.size()) return std::nullopt;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    int d = std::isdigit(static_cast<unsigned char>(s[i])) ? s[i] - '0'
            : std::isxdigit(static_cast<unsigned char>(s[i])) && base == 16
                ? std::tolower(s[i]) - 'a' + 10
                : -1;
    if (d < 0 || d >= base) return std::nullopt;
    if (v > (UINT64_MAX - uint64_t(d)) / uint64_t(base)) return std::nullopt;  // overflows 64 bits
    v = v * base + d;
  }
  return negative ? int64_t(0 - v) : int64_t(v);
}

int need_reg(const Line& l, size_t i) {
  if (i >= l.ops.size()) fail(l.number, fmt::format("'{}' needs operand {}", l.mnemonic, i + 1));
  auto r = reg(l.ops[i]);
  if (!r) fail(l.number, fmt::format("'{}' is not a register", l.ops[i]));
  return *r;
}

int32_t need_imm32(const Line& l, size_t i) {
  if (i >= l.ops.size()) fail(l.number, fmt::format("'{}' needs operand {}", l.mnemonic, i + 1));
  auto v = number(l.ops[i]);
  if (!v) fail(l.number, fmt::format("'{}' is not a number", l.ops[i]));
  if (*v < INT32_MIN || *v > int64_t(UINT32_MAX))
    fail(l.number, fmt::format("{} does not fit in 32 bits", l.ops[i]));
  return int32_t(uint32_t(*v));
}

// "[%r1+4]" / "[%r10-8]" / "[%r1]" -> register and offset.
std::pair<int, int16_t> need_mem(const Line& l, size_t i) {
  if (i >= l.ops.size()) fail(l.number, fmt::format("'{}' needs operand {}", l.mnemonic, i + 1));
  const std::string& s = l.ops[i];
  if (s.size() < 4 || s.front() != '[' || s.back() != ']')
    fail(l.number, fmt::format("'{}' is not a memory operand", s));
  std::string in = s.substr(1, s.size() - 2);
  size_t sign = in.find_first_of("+-", 1);
  auto r = reg(trim(in.substr(0, sign)));
  if (!r) fail(l.number, fmt::format("'{}' has no base register", s));
  int64_t off = 0;
  if (sign != std::string::npos) {
    auto v = number(trim(in.substr(sign)));
    if (!v || *v < INT16_MIN || *v > INT16_MAX)
      fail(l.number, fmt::format("bad offset in '{}'", s));
    off = *v;
  }
  return {*r, int16_t(off)};
}

std::vector<std::string> split_ops(const std::string& rest) {
  std::vector<std::string> ops;
  std::string cur;
  int depth = 0;
  for (char c : rest) {
    if (c == '[') ++depth;
    if (c == ']') --depth;
    if (c == ',' && depth == 0) {
      ops.push_back(trim(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!trim(cur).empty()) ops.push_back(trim(cur));
  return ops;
}

}  // namespace

std::vector<Insn> assemble_ubpf(const std::string& text) {
  std::vector<Line> lines;
  std::map<std::string, size_t> labels;  // label -> insn index
  std::istringstream in(text);
  std::string raw;
  size_t pc = 0;
  for (int n = 1; std::getline(in, raw); ++n) {
    std::string s = trim(raw.substr(0, raw.find('#')));
    if (s.empty()) continue;
    if (s.back() == ':') {
      std::string name = trim(s.substr(0, s.size() - 1));
      if (!labels.emplace(name, pc).second) fail(n, fmt::format("label '{}' defined twice", name));
      continue;
    }
    Line l{n, "", {}};
    std::istringstream ls(s);
    ls >> l.mnemonic;
    std::string rest;
    std::getline(ls, rest);
    if (l.mnemonic == "lock") {  // "lock [fetch] op[32] [mem], reg"
      std::istringstream rs(rest);
      std::string w, op;
      rs >> w;
      if (w == "fetch") {
        op = "fetch ";
        rs >> w;
      }
      l.mnemonic = "lock " + op + w;
      std::getline(rs, rest);
    }
    l.ops = split_ops(rest);
    pc += l.mnemonic == "lddw" ? 2 : 1;
    lines.push_back(std::move(l));
  }

  std::vector<Insn> out;
  auto target = [&](const Line& l, size_t i) -> int64_t {
    if (i >= l.ops.size()) fail(l.number, fmt::format("'{}' needs a jump target", l.mnemonic));
    const std::string& t = l.ops[i];
    if (auto v = number(t)) return *v;
    auto it = labels.find(t);
    // The suite's convention: an undefined "exit" label is the program's last instruction.
    if (it == labels.end() && t == "exit") return int64_t(pc) - 1 - int64_t(out.size()) - 1;
    if (it == labels.end()) fail(l.number, fmt::format("unknown label '{}'", t));
    return int64_t(it->second) - int64_t(out.size()) - 1;
  };
  for (const Line& l : lines) {
    std::string m = l.mnemonic;
    bool is32 = m.size() > 2 && m.compare(m.size() - 2, 2, "32") == 0 && m.rfind("movsx", 0) != 0;
    std::string base = is32 ? m.substr(0, m.size() - 2) : m;
    uint8_t alu_cls = is32 ? BPF_ALU : BPF_ALU64;
    uint8_t jmp_cls = is32 ? BPF_JMP32 : BPF_JMP;
    if (m == "exit") {
      out.emplace_back(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    } else if (m == "lddw") {
      int d = need_reg(l, 0);
      if (l.ops.size() < 2) fail(l.number, "lddw needs an immediate");
      auto v = number(l.ops[1]);
      if (!v) fail(l.number, fmt::format("'{}' is not a number", l.ops[1]));
      out.emplace_back(BPF_LD | BPF_IMM | BPF_DW, d, 0, 0, int32_t(uint32_t(uint64_t(*v))));
      out.emplace_back(0, 0, 0, 0, int32_t(uint32_t(uint64_t(*v) >> 32)));
    } else if (m == "call") {
      if (l.ops.size() == 1 && l.ops[0].rfind("local ", 0) == 0) {
        Line t = l;
        t.ops[0] = trim(l.ops[0].substr(6));
        out.emplace_back(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, int32_t(target(t, 0)));
      } else if (!l.ops.empty() && reg(l.ops[0])) {
        out.emplace_back(BPF_JMP | BPF_CALL | BPF_X, need_reg(l, 0), 0, 0, 0);
      } else {
        out.emplace_back(BPF_JMP | BPF_CALL, 0, 0, 0, need_imm32(l, 0));
      }
    } else if (base == "ja") {
      int64_t off = target(l, 0);
      if (is32) {
        out.emplace_back(BPF_JMP32 | BPF_JA, 0, 0, 0, int32_t(off));
      } else {
        if (off < INT16_MIN || off > INT16_MAX) fail(l.number, "jump is too far for ja (use ja32)");
        out.emplace_back(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0);
      }
    } else if (kJmp.count(base)) {
      int d = need_reg(l, 0);
      if (l.ops.size() < 3) fail(l.number, fmt::format("'{}' needs 3 operands", m));
      int64_t off = target(l, 2);
      if (off < INT16_MIN || off > INT16_MAX) fail(l.number, "jump is too far");
      if (auto s = reg(l.ops[1]))
        out.emplace_back(jmp_cls | kJmp.at(base) | BPF_X, d, *s, int16_t(off), 0);
      else
        out.emplace_back(jmp_cls | kJmp.at(base) | BPF_K, d, 0, int16_t(off), need_imm32(l, 1));
    } else if (base == "neg") {
      out.emplace_back(alu_cls | BPF_NEG, need_reg(l, 0), 0, 0, 0);
    } else if (kAlu.count(base)) {
      int d = need_reg(l, 0);
      int16_t off = (base == "sdiv" || base == "smod") ? 1 : 0;
      if (l.ops.size() < 2) fail(l.number, fmt::format("'{}' needs 2 operands", m));
      if (auto s = reg(l.ops[1]))
        out.emplace_back(alu_cls | kAlu.at(base) | BPF_X, d, *s, off, 0);
      else
        out.emplace_back(alu_cls | kAlu.at(base) | BPF_K, d, 0, off, need_imm32(l, 1));
    } else if (m.rfind("movsx", 0) == 0) {  // movsx<from><to>: 832 864 1632 1664 3264
      static const std::map<std::string, std::pair<int, uint8_t>> kMovsx = {
          {"movsx832", {8, BPF_ALU}},
          {"movsx864", {8, BPF_ALU64}},
          {"movsx1632", {16, BPF_ALU}},
          {"movsx1664", {16, BPF_ALU64}},
          {"movsx3264", {32, BPF_ALU64}}};
      auto it = kMovsx.find(m);
      if (it == kMovsx.end()) fail(l.number, fmt::format("unknown instruction '{}'", m));
      out.emplace_back(it->second.second | BPF_MOV | BPF_X, need_reg(l, 0), need_reg(l, 1),
                       int16_t(it->second.first), 0);
    } else if (m.size() > 2 && (m.rfind("be", 0) == 0 || m.rfind("le", 0) == 0) &&
               number(m.substr(2))) {
      out.emplace_back(BPF_ALU | BPF_END | (m[0] == 'b' ? BPF_TO_BE : BPF_TO_LE), need_reg(l, 0), 0,
                       0, int32_t(*number(m.substr(2))));
    } else if ((m.rfind("bswap", 0) == 0 && number(m.substr(5))) ||
               (m.rfind("swap", 0) == 0 && number(m.substr(4)))) {
      out.emplace_back(BPF_ALU64 | BPF_END, need_reg(l, 0), 0, 0,
                       int32_t(*number(m.substr(m[0] == 'b' ? 5 : 4))));
    } else if (m.rfind("ldxs", 0) == 0 && kSize.count(m.substr(4))) {
      auto [r, off] = need_mem(l, 1);
      out.emplace_back(BPF_LDX | BPF_MEMSX | kSize.at(m.substr(4)), need_reg(l, 0), r, off, 0);
    } else if (m.rfind("ldx", 0) == 0 && kSize.count(m.substr(3))) {
      auto [r, off] = need_mem(l, 1);
      out.emplace_back(BPF_LDX | BPF_MEM | kSize.at(m.substr(3)), need_reg(l, 0), r, off, 0);
    } else if (m.rfind("stx", 0) == 0 && kSize.count(m.substr(3))) {
      auto [r, off] = need_mem(l, 0);
      out.emplace_back(BPF_STX | BPF_MEM | kSize.at(m.substr(3)), r, need_reg(l, 1), off, 0);
    } else if (m.rfind("st", 0) == 0 && kSize.count(m.substr(2))) {
      auto [r, off] = need_mem(l, 0);
      out.emplace_back(BPF_ST | BPF_MEM | kSize.at(m.substr(2)), r, 0, off, need_imm32(l, 1));
    } else if (m.rfind("lock ", 0) == 0) {
      std::string op = m.substr(5);
      bool fetch = op.rfind("fetch ", 0) == 0;
      if (fetch) op = op.substr(6);
      bool w = op.size() > 2 && op.compare(op.size() - 2, 2, "32") == 0;
      if (w) op = op.substr(0, op.size() - 2);
      auto it = kAtomic.find(op);
      if (it == kAtomic.end()) fail(l.number, fmt::format("unknown atomic operation '{}'", op));
      auto [r, off] = need_mem(l, 0);
      out.emplace_back(BPF_STX | BPF_ATOMIC | (w ? BPF_W : BPF_DW), r, need_reg(l, 1), off,
                       it->second | (fetch ? BPF_FETCH : 0));
    } else {
      fail(l.number, fmt::format("unknown instruction '{}'", m));
    }
  }
  return out;
}

}  // namespace bpf
