// Tables expanded from isa.def, and the generic encoder/decoder/formatter that
// walk them: nothing here knows a particular instruction.
#include "compiler/npu/isa.h"

#include <fmt/format.h>

#include <stdexcept>

namespace npu {
namespace {

constexpr bool kREG = false, kSIMM = true;

constexpr FieldInfo kFields[] = {
#define NPU_FIELD(name, lo, bits, kind) {#name, lo, bits, k##kind},
#include "compiler/npu/isa.def"
};

constexpr uint64_t field_mask(Field f) {
  const FieldInfo& i = kFields[unsigned(f)];
  return ((i.bits == 64 ? ~0ull : (1ull << i.bits) - 1)) << i.lo;
}

constexpr FormatInfo make_format(const char* name, std::initializer_list<Field> fs) {
  FormatInfo f{name, 0, 0xff};
  for (Field x : fs) {
    f.fields |= 1u << unsigned(x);
    f.mask |= field_mask(x);
  }
  return f;
}

constexpr FormatInfo kFormats[] = {
#define F(x) Field::x,
#define NPU_FORMAT(name, fields) make_format(#name, {fields}),
#include "compiler/npu/isa.def"
#undef F
};

#define W(...) \
  { __VA_ARGS__ }
// The field an operand placeholder of a syntax string stands for.
constexpr int placeholder_field(char c) {
  switch (c) {
    case 'a':
      return int(Field::A);
    case 'b':
      return int(Field::B);
    case 'c':
      return int(Field::C);
    case 'd':
      return int(Field::D);
    case 'e':
      return int(Field::E);
    case 'o':
    case 'n':
      return int(Field::OFF);
    case 'i':
    case 'j':
    case 'm':
    case 's':
    case 'q':
      return int(Field::IMM);
    default:
      return -1;
  }
}

constexpr OpInfo make_op(const char* id, const char* mn, uint8_t opcode, Format fmt,
                         const char* syntax, Unit unit, uint8_t cycles, uint8_t flags,
                         std::initializer_list<int> widths, const char* summary) {
  OpInfo o{id, mn, opcode, fmt, syntax, unit, cycles, flags, 0, {}, summary, 0, 0xff};
  for (int w : widths) o.widths[o.nwidths++] = uint8_t(w);
  // The instruction's fields are those its syntax shows; each must be in its format.
  for (const char* p = syntax; *p; ++p) {
    if (*p != '%') continue;
    int f = placeholder_field(*++p);
    if (f < 0) throw "isa.def: unknown placeholder in a syntax string";
    o.fields |= 1u << f;
    o.mask |= field_mask(Field(f));
  }
  if (o.fields & ~kFormats[unsigned(fmt)].fields)
    throw "isa.def: syntax uses a field its format lacks";
  return o;
}

constexpr OpInfo kOps[] = {
#define NPU_INSN(id, mnemonic, opcode, format, syntax, unit, cycles, flags, widths, summary) \
  make_op(#id, mnemonic, opcode, Format::format, syntax, Unit::unit, cycles, flags, widths,  \
          summary),
#include "compiler/npu/isa.def"
};
#undef W

std::vector<CsrInfo> make_csrs() {
  return {
#define NPU_CSR(id, name, number, writable, summary) {#id, name, number, writable != 0, summary},
#include "compiler/npu/isa.def"
  };
}

std::vector<FaultInfo> make_faults() {
  return {
#define NPU_FAULT(id, number, summary) {#id, number, summary},
#include "compiler/npu/isa.def"
  };
}

constexpr std::array<OpcodeEntry, 256> make_opcode_map() {
  std::array<OpcodeEntry, 256> m{};
  for (unsigned i = 0; i < kNumOps; ++i) {
    const OpInfo& o = kOps[i];
    unsigned n = o.nwidths ? o.nwidths : 1;
    for (unsigned k = 0; k < n; ++k) {
      unsigned code = o.opcode + k;
      // Two instructions on one opcode: a compile error, through a throw in constexpr.
      if (code > 255 || m[code].valid) throw "isa.def: opcode used twice";
      m[code] = {Op(i), o.nwidths ? o.widths[k] : uint8_t(0), true};
    }
  }
  return m;
}

constexpr std::array<OpcodeEntry, 256> kOpcodeMap = make_opcode_map();

constexpr const char* kUnitNames[] = {"ctrl", "branch", "csr",    "queue", "alu",
                                      "mul",  "div",    "atomic", "mem",   "pkt",
                                      "map",  "csum",   "hash",   "rand",  "time"};
static_assert(sizeof(kUnitNames) / sizeof(kUnitNames[0]) == unsigned(Unit::kCount));

bool uses(const OpInfo& o, Field x) {
  return o.fields & (1u << unsigned(x));
}

uint64_t put(Field f, int64_t v) {
  const FieldInfo& i = kFields[unsigned(f)];
  uint64_t m = (i.bits == 64 ? ~0ull : (1ull << i.bits) - 1);
  return (uint64_t(v) & m) << i.lo;
}

int64_t get(Field f, uint64_t word) {
  const FieldInfo& i = kFields[unsigned(f)];
  uint64_t v = (word >> i.lo) & ((1ull << i.bits) - 1);
  if (i.is_signed && (v >> (i.bits - 1))) v |= ~0ull << i.bits;
  return int64_t(v);
}

void check_range(Field f, int64_t v) {
  const FieldInfo& i = kFields[unsigned(f)];
  bool ok = i.is_signed ? v >= -(int64_t(1) << (i.bits - 1)) && v < (int64_t(1) << (i.bits - 1))
                        : v >= 0 && v < (int64_t(1) << i.bits);
  if (!ok)
    throw std::invalid_argument(fmt::format("{} {} does not fit in field {} ({}{} bits)",
                                            i.is_signed ? "value" : "register", v, i.name,
                                            i.is_signed ? "signed " : "", i.bits));
}

}  // namespace

const FieldInfo& field_info(Field f) {
  return kFields[unsigned(f)];
}
const FormatInfo& format_info(Format f) {
  return kFormats[unsigned(f)];
}
const OpInfo& op_info(Op op) {
  return kOps[unsigned(op)];
}
const char* unit_name(Unit u) {
  return kUnitNames[unsigned(u)];
}
const std::array<OpcodeEntry, 256>& opcode_map() {
  return kOpcodeMap;
}

const std::vector<CsrInfo>& csrs() {
  static const std::vector<CsrInfo> v = make_csrs();
  return v;
}
const CsrInfo* csr_info(uint32_t number) {
  for (const CsrInfo& c : csrs())
    if (c.number == number) return &c;
  return nullptr;
}
const CsrInfo* csr_by_name(std::string_view name) {
  for (const CsrInfo& c : csrs())
    if (name == c.name) return &c;
  return nullptr;
}
const std::vector<RegAlias>& reg_aliases() {
  static const std::vector<RegAlias> v = {
#define NPU_REG_ALIAS(name, reg, summary) {name, reg, summary},
#include "compiler/npu/isa.def"
  };
  return v;
}

int reg_alias(std::string_view name) {
  for (const RegAlias& a : reg_aliases())
    if (name == a.name) return a.reg;
  return -1;
}

const std::vector<FaultInfo>& faults() {
  static const std::vector<FaultInfo> v = make_faults();
  return v;
}

int opcode_of(Op op, unsigned width) {
  const OpInfo& o = op_info(op);
  if (!o.nwidths) return width == 0 ? o.opcode : -1;
  for (unsigned k = 0; k < o.nwidths; ++k)
    if (o.widths[k] == width) return o.opcode + k;
  return -1;
}

uint64_t encode(const Insn& in) {
  const OpInfo& o = op_info(in.op);
  int code = opcode_of(in.op, in.width);
  if (code < 0)
    throw std::invalid_argument(o.nwidths ? fmt::format("{} has no size {}", o.mnemonic, in.width)
                                          : fmt::format("{} takes no size suffix", o.mnemonic));
  uint64_t w = uint64_t(code);
  auto field = [&](Field x, int64_t v) {
    if (!uses(o, x)) return;
    check_range(x, v);
    w |= put(x, v);
  };
  field(Field::A, in.a);
  field(Field::B, in.b);
  field(Field::C, in.c);
  field(Field::D, in.d);
  field(Field::E, in.e);
  field(Field::OFF, in.off);
  field(Field::IMM, in.imm);
  return w;
}

bool decode(uint64_t word, Insn* out, std::string* why) {
  const OpcodeEntry& e = kOpcodeMap[word & 0xff];
  if (!e.valid) {
    if (why) *why = fmt::format("undefined opcode 0x{:02x}", word & 0xff);
    return false;
  }
  const OpInfo& o = op_info(e.op);
  if (word & ~o.mask) {
    if (why)
      *why = fmt::format("{}: bits 0x{:016x} set outside the instruction's fields", o.mnemonic,
                         word & ~o.mask);
    return false;
  }
  Insn in;
  in.op = e.op;
  in.width = e.width;
  if (uses(o, Field::A)) in.a = uint8_t(get(Field::A, word));
  if (uses(o, Field::B)) in.b = uint8_t(get(Field::B, word));
  if (uses(o, Field::C)) in.c = uint8_t(get(Field::C, word));
  if (uses(o, Field::D)) in.d = uint8_t(get(Field::D, word));
  if (uses(o, Field::E)) in.e = uint8_t(get(Field::E, word));
  if (uses(o, Field::OFF)) in.off = int16_t(get(Field::OFF, word));
  if (uses(o, Field::IMM)) in.imm = int32_t(get(Field::IMM, word));
  *out = in;
  return true;
}

std::string operand_usage(const OpInfo& o) {
  std::string s;
  for (const char* p = o.syntax; *p; ++p) {
    if (*p != '%') {
      s += *p;
      continue;
    }
    char k = *++p;
    if (k >= 'a' && k <= 'e')
      s += std::string("r") + char(k - 'a' + 'A');
    else if (k == 'j' || k == 'o')
      s += "target";
    else if (k == 'm' || k == 'n')
      s += "+disp";
    else if (k == 's')
      s += "csr";
    else if (k == 'q')
      s += "queue";
    else
      s += "imm";
  }
  return s;
}

std::string full_mnemonic(const Insn& in) {
  const OpInfo& o = op_info(in.op);
  return o.nwidths ? fmt::format("{}.{}", o.mnemonic, in.width) : std::string(o.mnemonic);
}

std::string format_insn(const Insn& in, uint64_t pc, LabelFn label, void* ctx) {
  const OpInfo& o = op_info(in.op);
  std::string s = full_mnemonic(in);
  if (*o.syntax) s += ' ';
  auto target = [&](int64_t rel) {
    uint64_t t = pc + uint64_t(rel);
    std::string name = label ? label(t, ctx) : std::string();
    // Signed: a target below 0 is never valid but encodable, and reads better as -n.
    return name.empty() ? fmt::format("{}", int64_t(t)) : name;
  };
  auto disp = [](int64_t v) {
    return v == 0 ? std::string() : fmt::format("{}{}", v < 0 ? '-' : '+', v < 0 ? -v : v);
  };
  for (const char* p = o.syntax; *p; ++p) {
    if (*p != '%') {
      s += *p;
      continue;
    }
    switch (*++p) {
      case 'a':
        s += fmt::format("r{}", in.a);
        break;
      case 'b':
        s += fmt::format("r{}", in.b);
        break;
      case 'c':
        s += fmt::format("r{}", in.c);
        break;
      case 'd':
        s += fmt::format("r{}", in.d);
        break;
      case 'e':
        s += fmt::format("r{}", in.e);
        break;
      case 'i':
        s += fmt::format("{}", in.imm);
        break;
      case 'j':
        s += target(in.imm);
        break;
      case 'o':
        s += target(in.off);
        break;
      case 'm':
        s += disp(in.imm);
        break;
      case 'n':
        s += disp(in.off);
        break;
      case 's': {
        const CsrInfo* c = csr_info(uint32_t(in.imm));
        s += c ? std::string(c->name) : fmt::format("{}", in.imm);
        break;
      }
      case 'q':
        s += fmt::format("0x{:x}", uint32_t(in.imm));
        break;
      default:
        s += '?';
    }
  }
  return s;
}

uint32_t regs_read(const Insn& in) {
  const OpInfo& o = op_info(in.op);
  uint32_t m = 0;
  if (uses(o, Field::A) && (o.flags & RA)) m |= 1u << in.a;
  if (uses(o, Field::B)) m |= 1u << in.b;
  if (uses(o, Field::C)) m |= 1u << in.c;
  if (uses(o, Field::D)) m |= 1u << in.d;
  if (uses(o, Field::E)) m |= 1u << in.e;
  if (in.op == Op::LIH) m |= 1u << in.a;  // keeps the low half
  return m;
}

uint32_t regs_written(const Insn& in) {
  const OpInfo& o = op_info(in.op);
  return (o.flags & WA) ? 1u << in.a : 0;
}

}  // namespace npu
