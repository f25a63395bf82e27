// The NPU assembler, image writer/reader and listing: every instruction form
// through encode -> format -> assemble, a strict decoder, golden listings
// (NPU_UPDATE_GOLDEN=1 rewrites them), one-line errors at the right place,
// and images that survive corruption without crashing the reader.
#include "compiler/npu/asm.h"
#include "compiler/npu/image.h"
#include "compiler/npu/isa.h"
#include "compiler/npu/listing.h"
#include "firmware/abi.h"

#include <fmt/format.h>
#include <elf.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

namespace {

namespace fs = std::filesystem;
using npu::Insn;
using npu::Object;
using npu::Op;

const std::string kData = NPU_SOURCE_DIR "/tests/compiler/data/asm";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void write_text(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

std::string temp_path(const std::string& name) {
  return testing::TempDir() + name;
}

bool same(const Insn& a, const Insn& b) {
  return a.op == b.op && a.width == b.width && a.a == b.a && a.b == b.b && a.c == b.c &&
         a.d == b.d && a.e == b.e && a.imm == b.imm && a.off == b.off;
}

std::string describe(const Insn& i) {
  return fmt::format("{} w{} a{} b{} c{} d{} e{} imm {} off {}", npu::op_info(i.op).id, i.width,
                     i.a, i.b, i.c, i.d, i.e, i.imm, i.off);
}

// The one word a single instruction assembles to, at instruction address pc.
uint64_t assemble_at(const std::string& text, uint64_t pc, const std::string& prelude = "") {
  Object o = npu::assemble(fmt::format("{}\t.org {}\n\t{}\n", prelude, pc, text), "rt.s");
  EXPECT_EQ(o.sections.at(0).words.size(), 1u) << text;
  return o.sections.at(0).words.empty() ? 0 : o.sections[0].words[0];
}

std::string asm_error(const std::string& text, const std::string& file = "t.s") {
  try {
    npu::assemble(text, file);
  } catch (const npu::AsmError& e) {
    return e.what();
  }
  return "(no error)";
}

bool in_format(Op op, npu::Field f) {
  return npu::format_info(npu::op_info(op).format).fields & (1u << unsigned(f));
}

// Whether op's operand syntax shows field f (a format may hold fields that
// some of its instructions do not use).
bool uses(Op op, npu::Field f) {
  for (const char* p = npu::op_info(op).syntax; *p; ++p) {
    if (*p != '%') continue;
    char k = *++p;
    switch (f) {
      case npu::Field::A:
        if (k == 'a') return true;
        break;
      case npu::Field::B:
        if (k == 'b') return true;
        break;
      case npu::Field::C:
        if (k == 'c') return true;
        break;
      case npu::Field::D:
        if (k == 'd') return true;
        break;
      case npu::Field::E:
        if (k == 'e') return true;
        break;
      case npu::Field::OFF:
        if (k == 'o' || k == 'n') return true;
        break;
      case npu::Field::IMM:
        if (std::strchr("ijmsq", k)) return true;
        break;
      default:
        break;
    }
  }
  return false;
}

const npu::Disassembler& plain_disassembler() {
  static const npu::Image empty;
  static const npu::Disassembler d(empty);
  return d;
}

std::vector<unsigned> widths_of(Op op) {
  const npu::OpInfo& o = npu::op_info(op);
  if (!o.nwidths) return {0};
  return std::vector<unsigned>(o.widths.begin(), o.widths.begin() + o.nwidths);
}

// Labels for format_insn: "T_<n>" for every target, remembered so that the
// test can define them.
std::string name_target(uint64_t addr, void* ctx) {
  auto* names = static_cast<std::map<uint64_t, std::string>*>(ctx);
  return (*names)[addr] = fmt::format("T_{}", addr);
}

// ---- the table ----

TEST(AsmTable, SharedMnemonicsDifferInOperandKinds) {
  std::map<std::string, std::set<std::string>> kinds;
  for (unsigned i = 0; i < npu::kNumOps; ++i) {
    const npu::OpInfo& o = npu::op_info(Op(i));
    std::string k;
    for (const char* p = o.syntax; *p; ++p)
      if (*p == '%') k += std::strchr("abcde", *++p) ? 'r' : 'x';
    EXPECT_TRUE(kinds[o.mnemonic].insert(k).second)
        << o.id << ": another '" << o.mnemonic << "' has the same operand kinds";
  }
}

// ---- round trips ----

TEST(AsmRoundTrip, EveryFormEveryWidth) {
  std::mt19937_64 rng(1);
  const int32_t imms[] = {0, INT32_MAX, INT32_MIN, -1, 0};
  const int16_t offs[] = {0, 8191, -8192, -1, 0};
  const uint8_t regs[] = {0, 31, 17, 1, 0};
  const uint64_t pcs[] = {0, 1000, (uint64_t(1) << 33) + 5};
  unsigned checked = 0;
  for (unsigned i = 0; i < npu::kNumOps; ++i) {
    Op op = Op(i);
    for (unsigned w : widths_of(op)) {
      for (unsigned v = 0; v < 5; ++v) {
        Insn in;
        in.op = op;
        in.width = uint8_t(w);
        uint8_t r = v == 4 ? uint8_t(rng() % 32) : regs[v];
        int32_t imm = v == 4 ? int32_t(uint32_t(rng())) : imms[v];
        int16_t off = v == 4 ? int16_t(int(rng() % 16384) - 8192) : offs[v];
        if (uses(op, npu::Field::A)) in.a = r;
        if (uses(op, npu::Field::B)) in.b = uint8_t((r + 3) % 32);
        if (uses(op, npu::Field::C)) in.c = uint8_t((r + 7) % 32);
        if (uses(op, npu::Field::D)) in.d = uint8_t((r + 11) % 32);
        if (uses(op, npu::Field::E)) in.e = uint8_t((r + 13) % 32);
        if (uses(op, npu::Field::IMM)) in.imm = imm;
        if (uses(op, npu::Field::OFF)) in.off = off;
        uint64_t word = npu::encode(in);
        Insn back;
        std::string why;
        ASSERT_TRUE(npu::decode(word, &back, &why)) << describe(in) << ": " << why;
        ASSERT_TRUE(same(in, back)) << describe(in) << " -> " << describe(back);
        for (uint64_t pc : pcs) {
          std::string text = npu::format_insn(in, pc);
          ASSERT_EQ(assemble_at(text, pc), word) << text << " at " << pc;
          // Targets through labels, defined with .equ.
          std::map<uint64_t, std::string> names;
          std::string labelled = npu::format_insn(in, pc, name_target, &names);
          std::string defs;
          for (const auto& [addr, name] : names) defs += fmt::format("\t.equ {}, {}\n", name, addr);
          ASSERT_EQ(assemble_at(labelled, pc, defs), word) << labelled << " at " << pc;
          ++checked;
        }
      }
    }
  }
  EXPECT_GT(checked, 2000u);
}

// Fields a format has but the syntax does not show: the word is undefined (so
// every word has one meaning), and the listing keeps it as .insn.
TEST(AsmRoundTrip, FieldsOutsideTheSyntaxAreListedAsInsn) {
  unsigned seen = 0;
  for (unsigned i = 0; i < npu::kNumOps; ++i) {
    Op op = Op(i);
    for (unsigned f = 0; f < unsigned(npu::Field::kCount); ++f) {
      npu::Field field = npu::Field(f);
      if (!in_format(op, field) || uses(op, field)) continue;
      Insn in;
      in.op = op;
      in.width = uint8_t(widths_of(op)[0]);
      uint64_t word = npu::encode(in) | uint64_t(1) << npu::field_info(field).lo;
      Insn back;
      EXPECT_FALSE(npu::decode(word, &back)) << npu::op_info(op).mnemonic;
      std::string text = plain_disassembler().text(word, 0);
      EXPECT_EQ(text.rfind(".insn ", 0), 0u) << text;
      EXPECT_EQ(assemble_at(text, 0), word) << text;
      ++seen;
    }
  }
  EXPECT_GT(seen, 0u);
}

TEST(AsmRoundTrip, RandomWordsDecodeStrictly) {
  std::mt19937_64 rng(7);
  std::vector<uint8_t> valid;
  for (unsigned c = 0; c < 256; ++c)
    if (npu::opcode_map()[c].valid) valid.push_back(uint8_t(c));
  unsigned decoded = 0, assembled = 0;
  for (unsigned n = 0; n < 400000; ++n) {
    uint64_t word = rng();
    if (n % 2) {
      // A valid opcode with random bits inside its format: decodes most of the time.
      uint8_t code = valid[rng() % valid.size()];
      const npu::OpInfo& o = npu::op_info(npu::opcode_map()[code].op);
      word = (word & o.mask & ~uint64_t(0xff)) | code;
      if (n % 6 == 1) word |= uint64_t(1) << (rng() % 64);  // maybe a stray bit
    }
    // Whatever the word, its listing text assembles back to it.
    if (n % 16 == 1) {
      uint64_t pc = rng() % 100000;
      std::string text = plain_disassembler().text(word, pc);
      ASSERT_EQ(assemble_at(text, pc), word) << text;
      ++assembled;
    }
    Insn in;
    if (!npu::decode(word, &in)) continue;
    ++decoded;
    ASSERT_EQ(npu::encode(in), word) << fmt::format("{:016x}", word);
  }
  EXPECT_GT(decoded, 100000u);
  EXPECT_GT(assembled, 5000u);
}

// ---- goldens ----

std::string hex_dump(const Object& o) {
  std::string s;
  for (const Object::Section& sec : o.sections) {
    s += fmt::format("{} {} base 0x{:x} size {}\n", sec.name, sec.code ? "code" : "data", sec.base,
                     sec.size());
    for (uint64_t w : sec.words) s += fmt::format("{:016x}\n", w);
    for (size_t i = 0; i < sec.bytes.size(); ++i)
      s += fmt::format("{:02x}{}", sec.bytes[i],
                       i + 1 == sec.bytes.size() || i % 16 == 15 ? "\n" : " ");
  }
  for (const Object::Symbol& y : o.symbols)
    s += fmt::format("symbol {} = 0x{:x} {} {}\n", y.name, y.value,
                     y.section < 0 ? "abs" : o.sections[size_t(y.section)].name,
                     y.global ? "global" : "local");
  s += fmt::format("entry {}\n", o.entry);
  return s;
}

void check_golden(const std::string& path, const std::string& actual) {
  if (std::getenv("NPU_UPDATE_GOLDEN")) {
    write_text(path, actual);
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " is missing: run with NPU_UPDATE_GOLDEN=1";
  EXPECT_EQ(read_text(path), actual) << path << " differs (NPU_UPDATE_GOLDEN=1 rewrites it)";
}

TEST(AsmGolden, ListingsAndWords) {
  std::vector<fs::path> sources;
  for (const auto& e : fs::directory_iterator(kData))
    if (e.path().extension() == ".s" || e.path().extension() == ".S") sources.push_back(e.path());
  std::sort(sources.begin(), sources.end());
  ASSERT_GE(sources.size(), 4u);
  for (const fs::path& src : sources) {
    SCOPED_TRACE(src.string());
    Object o = npu::assemble_files({src.string()});
    fs::path stem = src;
    stem.replace_extension();
    check_golden(stem.string() + ".lst", npu::listing(o));
    check_golden(stem.string() + ".hex", hex_dump(o));
    // The listing's text assembles back to the same object, and so does the image.
    std::string raw = npu::listing(o, {false});
    EXPECT_EQ(npu::assemble(raw, "raw.s"), o) << raw;
    EXPECT_EQ(npu::parse_image(npu::image_bytes(o), "mem"), o);
  }
}

// ---- language details ----

const Object::Symbol& sym(const Object& o, const std::string& name) {
  const Object::Symbol* s = o.find_symbol(name);
  if (!s) throw std::runtime_error("no symbol " + name);
  return *s;
}

TEST(AsmLanguage, Expressions) {
  Object o = npu::assemble(R"(
    .equ a, 1 + 2 * 3 << 1          ; (1 + 6) << 1
    .equ b, -8 >> 1
    .equ c, ~0
    .equ d, 0x10 | 0b11 ^ 010 & 7   ; | < ^ < &: 0x10 | (3 ^ (8 & 7))
    .equ e, 'a' + '\n' + '\''
    .equ f, 1ull << 63
    .equ g, (f >> 63) * 100 / 7 % 5
    .equ h, -7 / 2
    .equ i, -7 % 2
    .equ j, 1 << 64
    .equ k, 0xffffffffffffffff + 2
    .equ l, +(-(3))
  )",
                           "e.s");
  EXPECT_EQ(sym(o, "a").value, 14u);
  EXPECT_EQ(sym(o, "b").value, ~uint64_t(0) >> 1 & ~uint64_t(3));  // logical
  EXPECT_EQ(sym(o, "c").value, ~uint64_t(0));
  EXPECT_EQ(sym(o, "d").value, 0x13u);
  EXPECT_EQ(sym(o, "e").value, uint64_t('a' + '\n' + '\''));
  EXPECT_EQ(sym(o, "f").value, uint64_t(1) << 63);
  EXPECT_EQ(sym(o, "g").value, 14u % 5);  // 1 * 100 / 7 % 5
  EXPECT_EQ(int64_t(sym(o, "h").value), -3);
  EXPECT_EQ(int64_t(sym(o, "i").value), -1);
  EXPECT_EQ(sym(o, "j").value, 0u);
  EXPECT_EQ(sym(o, "k").value, 1u);
  EXPECT_EQ(int64_t(sym(o, "l").value), -3);
  EXPECT_EQ(sym(o, "a").section, -1);
}

TEST(AsmLanguage, LabelsAndLocalLabels) {
  Object o = npu::assemble(R"(
a: b:   nop                 // two labels, one address
1:      jmp 1f
        jmp 1b
1:      jmp 1b
c:
)",
                           "l.s");
  EXPECT_EQ(sym(o, "a").value, 0u);
  EXPECT_EQ(sym(o, "b").value, 0u);
  EXPECT_EQ(sym(o, "c").value, 4u);
  EXPECT_EQ(o.symbols.size(), 3u);  // local numeric labels are not symbols
  const auto& w = o.sections[0].words;
  Insn in;
  ASSERT_TRUE(npu::decode(w[1], &in));
  EXPECT_EQ(in.imm, 2);  // 1f from 1: the next "1:"
  ASSERT_TRUE(npu::decode(w[2], &in));
  EXPECT_EQ(in.imm, -1);
  ASSERT_TRUE(npu::decode(w[3], &in));
  EXPECT_EQ(in.imm, 0);
}

TEST(AsmLanguage, SetFollowsTheSource) {
  Object o = npu::assemble(R"(
        li r1, X        ; before the first .set: the last value
        .set X, 1
        li r2, X
        X = X + 10
        li r3, X
)",
                           "s.s");
  std::vector<int32_t> imms;
  for (uint64_t w : o.sections[0].words) {
    Insn in;
    ASSERT_TRUE(npu::decode(w, &in));
    imms.push_back(in.imm);
  }
  EXPECT_EQ(imms, (std::vector<int32_t>{11, 1, 11}));
}

TEST(AsmLanguage, AliasesCaseAndComments) {
  EXPECT_EQ(assemble_at("MOV FP, LR", 0), assemble_at("mov r10, r30", 0));
  EXPECT_EQ(assemble_at("Ld.4 R1, [R2 + 4]   /* c */ ; c", 0), assemble_at("ld.4 r1, [r2+4]", 0));
  EXPECT_EQ(assemble_at("csrr r1, TID", 0), assemble_at("csrr r1, 0", 0));
  EXPECT_EQ(assemble_at("st.4 [r1 - 8 + 2], 3", 0), assemble_at("st.4 [r1-6], 3", 0));
  EXPECT_EQ(assemble_at("ld.4 r1, [r2 + -4]", 0), assemble_at("ld.4 r1, [r2-4]", 0));
  Object o = npu::assemble("nop /* a comment\n over lines */ nop\n", "c.s");
  EXPECT_EQ(o.sections[0].words.size(), 2u);
}

TEST(AsmLanguage, SectionsAndOptions) {
  const char* src = R"(
        .data
d:      .byte 1
        .rodata
r:      .byte 2
        .section .bss
b:      .zero 16
        .text
        .org 100
t:      nop
        .section .text.more
m:      nop
)";
  Object o = npu::assemble(src, "sec.s");
  uint64_t data = NPU_CLS_BASE + NPU_CLS_FW_DATA;
  EXPECT_EQ(sym(o, "d").value, data);
  EXPECT_EQ(sym(o, "r").value, data + 8);  // .rodata after .data, 8-byte aligned
  EXPECT_EQ(sym(o, "b").value, data + 16);
  EXPECT_EQ(sym(o, "t").value, 100u);
  EXPECT_EQ(sym(o, "m").value, 101u);  // code sections follow .text
  EXPECT_TRUE(o.find_section(".text.more")->code);
  npu::AsmOptions opt;
  opt.section_base[".data"] = 0x1000;
  opt.section_base[".rodata"] = 0x2000;
  opt.section_base[".text"] = 7;  // the .org in the source wins
  Object p = npu::assemble(src, "sec.s", opt);
  EXPECT_EQ(sym(p, "d").value, 0x1000u);
  EXPECT_EQ(sym(p, "r").value, 0x2000u);
  EXPECT_EQ(sym(p, "b").value, 0x1008u);
  EXPECT_EQ(sym(p, "t").value, 100u);
}

TEST(AsmLanguage, SeveralFilesOneUnit) {
  Object o = npu::assemble({{"\t.global main\nmain: jmp helper\n\t.data\nx: .byte 1\n", "a.s"},
                            {"helper: jmp main   ; back in .text\n\t.data\ny: .byte 2\n", "b.s"}});
  EXPECT_EQ(o.sections[0].words.size(), 2u);
  EXPECT_EQ(sym(o, "helper").value, 1u);
  EXPECT_EQ(sym(o, "y").value, sym(o, "x").value + 1);
  EXPECT_EQ(asm_error(""), "(no error)");
  try {  // local labels stay in their file
    npu::assemble({{"1: nop\n", "a.s"}, {"  jmp 1b\n", "b.s"}});
    FAIL();
  } catch (const npu::AsmError& e) {
    EXPECT_STREQ(e.what(), "b.s:1:7: error: no local label '1' before '1b' (expected jmp target)");
  }
  try {
    npu::assemble({{"nop\n", "a.s"}, {"\n  bogus\n", "b.s"}});
    FAIL();
  } catch (const npu::AsmError& e) {
    EXPECT_STREQ(e.what(), "b.s:2:3: error: unknown instruction 'bogus'");
  }
}

TEST(AsmLanguage, EntryIsStart) {
  EXPECT_EQ(npu::assemble("nop\n_start: nop\n", "e.s").entry, 1u);
  EXPECT_EQ(npu::assemble("nop\n", "e.s").entry, 0u);
}

// ---- errors: one line, at the right place ----

TEST(AsmErrors, PositionsAndReasons) {
  struct Case {
    const char* src;
    const char* error;
  };
  const Case cases[] = {
      {"  foo r1\n", "t.s:1:3: error: unknown instruction 'foo'"},
      {"nop\n.bogus 1\n", "t.s:2:1: error: unknown directive '.bogus'"},
      {"  jmp nowhere\n", "t.s:1:7: error: undefined symbol 'nowhere'"},
      {"a:\n  a: nop\n", "t.s:2:3: error: 'a' is already defined at t.s:1:1"},
      {".equ a, 1\na:\n", "t.s:2:1: error: 'a' is already defined at t.s:1:6"},
      {"  li r1, 0x100000000\n", "t.s:1:10: error: value 4294967296 does not fit in 32 bits"},
      {"  li r1, -0x80000001\n", "t.s:1:10: error: value -2147483649 does not fit in 32 bits"},
      {"  beq r1, r2, 9000\n",
       "t.s:1:15: error: branch target 9000 is out of reach from 0: offset 9000 does not fit in 14 "
       "bits"},
      {"  st.4 [r1+8192], 1\n",
       "t.s:1:11: error: displacement 8192 does not fit in 14 bits (signed)"},
      {"  ld.4 r1, [r1+0x80000000]\n",
       "t.s:1:15: error: displacement 2147483648 does not fit in 32 bits (signed)"},
      {"  add r1, 5, r2\n",
       "t.s:1:11: error: expected a register, got '5' (expected add rA, rB, rC | add rA, rB, imm)"},
      {"  add r1, r2\n",
       "t.s:1:13: error: too few operands (expected add rA, rB, rC | add rA, rB, imm)"},
      {"  add r1, r2, r3, r4\n",
       "t.s:1:17: error: too many operands (expected add rA, rB, rC | add rA, rB, imm)"},
      {"  exit r1, 2\n", "t.s:1:10: error: too many operands (expected exit imm | exit rB)"},
      {"  ld r1, [r2]\n", "t.s:1:3: error: 'ld' needs a size suffix (.1, .2, .4, .8)"},
      {"  ld.3 r1, [r2]\n", "t.s:1:3: error: 'ld' has no size 3 (sizes: .1, .2, .4, .8)"},
      {"  stp.3 [r1], 5\n",
       "t.s:1:3: error: 'stp' has no size 3 with these operands (sizes: .1, .2, .4, .8)"},
      {"  add.4 r1, r2, r3\n", "t.s:1:3: error: 'add' takes no size suffix"},
      {"  ld.w r1, [r2]\n", "t.s:1:3: error: bad size suffix '.w' on 'ld' (sizes: .1, .2, .4, .8)"},
      {"  ld.4 r1, r2\n", "t.s:1:12: error: expected '[', got 'r2' (expected ld.N rA, [rB+disp])"},
      {"  ld.4 r1, [r2*4]\n",
       "t.s:1:15: error: expected '+', '-' or ']', got '*' (expected ld.N rA, [rB+disp])"},
      {"  ld.4 r1, [r2+4\n", "t.s:1:17: error: expected ']' (expected ld.N rA, [rB+disp])"},
      {"  mov r32, r1\n", "t.s:1:7: error: no register 'r32' (r0..r31) (expected mov rA, rB)"},
      {"  li r1, r2 + 1\n",
       "t.s:1:10: error: expected an immediate, got register 'r2' (expected li rA, imm)"},
      {"  li r1, 1 +\n", "t.s:1:13: error: expected an expression (expected li rA, imm)"},
      {"  li r1, (1\n", "t.s:1:12: error: expected ')', got 'end of line' (expected li rA, imm)"},
      {"  csrr r1, bogus\n", "t.s:1:12: error: unknown CSR 'bogus'"},
      {".equ x, 1 / (2 - 2)\n", "t.s:1:11: error: division by zero"},
      {".equ a, b\n.equ b, a\n", "t.s:1:9: error: 'b' is defined in terms of itself"},
      {".data\n.byte 1\n.org 0\n",
       "t.s:3:6: error: '.org 0x0' is below the current address 0x200010001 of section '.data'"},
      {"  .byte 1\n",
       "t.s:1:3: error: '.byte' belongs in a data section, not in code section '.text' (.insn "
       "writes raw instruction words)"},
      {".data\n  nop\n", "t.s:2:3: error: instruction 'nop' in data section '.data'"},
      {".data\n.insn 0\n", "t.s:2:1: error: '.insn' belongs in a code section, not in '.data'"},
      {".data\n.byte 1, 256\n", "t.s:2:10: error: value 256 does not fit in 1 byte"},
      {".data\n.half -32769\n", "t.s:2:7: error: value -32769 does not fit in 2 bytes"},
      {".data\n.ascii \"abc\n", "t.s:2:8: error: missing \" at the end of the string"},
      {".data\n.ascii \"a\\qb\"\n", "t.s:2:10: error: unknown escape sequence '\\q'"},
      {"  li r1, @\n", "t.s:1:10: error: unexpected character '@'"},
      {".global foo\n", "t.s:1:9: error: global symbol 'foo' is never defined"},
      {"  li r1, 0x\n", "t.s:1:10: error: bad number '0x'"},
      {"  li r1, 08\n", "t.s:1:10: error: bad number '08'"},
      {"  li r1, 0x10000000000000000\n",
       "t.s:1:10: error: number '0x10000000000000000' does not fit in 64 bits"},
      {"nop\n# 10 \"fw.S\" 2\n\n  foo\n", "fw.S:11:3: error: unknown instruction 'foo'"},
      {"#include <x.h>\n",
       "t.s:1:1: error: unexpected '#' (preprocessor directives need a file named *.S)"},
      {"  jmp 1f\n", "t.s:1:7: error: undefined local label '1f'"},
      {"  jmp 1b\n", "t.s:1:7: error: no local label '1' before '1b' (expected jmp target)"},
      {".data\n.zero n\n.equ n, 4\n",
       "t.s:2:7: error: the size of '.zero' must be known here, but the value of 'n' is not (it is "
       "defined later, or its section has no address yet)"},
      {".data\n.org 0x1000\n.byte 1, 2\n.section .x\n.org 0x1001\n.byte 3\n",
       "t.s:4:10: error: section '.x' [0x1001, 0x1002) overlaps section '.data' [0x1000, 0x1002)"},
      {"nop\n/* open\n\n", "t.s:2:1: error: unterminated /* comment"},
      {"r1: nop\n", "t.s:1:1: error: 'r1' is a register name, not a symbol"},
      {".align 3\n", "t.s:1:8: error: alignment 3 is not a power of two up to 65536"},
      {".equ x\n", "t.s:1:7: error: expected ',' after the symbol name, got 'end of line'"},
      {"  nop nop\n", "t.s:1:7: error: unexpected 'nop' (expected nop)"},
      {"  5\n", "t.s:1:3: error: expected a label, instruction or directive, got '5'"},
      {"  jal r1, 0x100000000\n",
       "t.s:1:11: error: branch target 4294967296 is out of reach from 0: offset 4294967296 does "
       "not fit in 32 bits"},
  };
  for (const Case& c : cases) {
    std::string e = asm_error(c.src);
    EXPECT_EQ(e, c.error) << "source: " << c.src;
    EXPECT_EQ(e.find('\n'), std::string::npos);
  }
}

TEST(AsmErrors, PreprocessedFilesNameTheirLines) {
  std::string dir = temp_path("cpp");
  fs::create_directories(dir);
  write_text(dir + "/inc.h", "#define VALUE 5\n");
  write_text(dir + "/p.S",
             "#include \"inc.h\"\n#include \"firmware/abi.h\"\n"
             "  li r1, VALUE + NPU_Q_CTRL\n  /* comment */ bogus r1\n");
  npu::AsmOptions opt;
  opt.include_dirs.push_back(dir);
  try {
    npu::assemble_files({dir + "/p.S"}, opt);
    FAIL();
  } catch (const npu::AsmError& e) {
    EXPECT_EQ(std::string(e.what()), dir + "/p.S:4:17: error: unknown instruction 'bogus'");
  }
  write_text(dir + "/q.S", "\n#include \"missing.h\"\n");
  try {
    npu::assemble_files({dir + "/q.S"}, opt);
    FAIL();
  } catch (const npu::AsmError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("q.S:2:10: fatal error: 'missing.h' file not found"), std::string::npos)
        << what;
    EXPECT_EQ(what.find('\n'), std::string::npos);
  }
  try {
    npu::assemble_files({dir + "/none.s"});
    FAIL();
  } catch (const npu::AsmError& e) {
    EXPECT_NE(std::string(e.what()).find("none.s: cannot open"), std::string::npos);
  }
}

// ---- images ----

Object sample() {
  return npu::assemble(R"(
        .equ K, 0x200000000
        .global _start, tbl
        nop
_start: li r1, 5
loop:   bne r1, 0, loop
        .insn 0xff              ; undefined: listed as .insn
        .data
tbl:    .dword K, tbl
local:  .byte 1
        .rodata
        .asciz "ro"
)",
                       "img.s");
}

TEST(AsmImage, WriteReadSame) {
  Object o = sample();
  std::string path = temp_path("sample.npu");
  npu::write_image(o, path);
  npu::Image img = npu::read_image(path);
  EXPECT_EQ(img, o);
  EXPECT_EQ(img.entry, 1u);
  EXPECT_EQ(npu::image_bytes(o), npu::image_bytes(img));
  std::string text = npu::listing(img, {false});
  EXPECT_NE(text.find(".insn 0x00000000000000ff  ; undefined opcode 0xff"), std::string::npos);
  EXPECT_EQ(npu::assemble(text, "l.s"), o) << text;
  if (std::system("readelf --version > /dev/null 2>&1") == 0) {
    std::string cmd = "readelf -h -S -s " + path + " > " + path + ".txt 2>&1";
    EXPECT_EQ(std::system(cmd.c_str()), 0);
    std::string out = read_text(path + ".txt");
    EXPECT_EQ(out.find("Warning"), std::string::npos) << out;
    EXPECT_EQ(out.find("Error"), std::string::npos) << out;
    EXPECT_NE(out.find("0x4e50"), std::string::npos) << out;
    EXPECT_NE(out.find("FUNC    GLOBAL DEFAULT    1 _start"), std::string::npos) << out;
    EXPECT_NE(out.find("OBJECT  GLOBAL DEFAULT    2 tbl"), std::string::npos) << out;
    EXPECT_NE(out.find("NOTYPE  LOCAL  DEFAULT  ABS K"), std::string::npos) << out;
  }
}

std::string image_error(const std::vector<uint8_t>& b) {
  try {
    npu::parse_image(b, "x.npu");
  } catch (const npu::ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

template <typename T>
void poke(std::vector<uint8_t>* b, size_t at, T v) {
  std::memcpy(b->data() + at, &v, sizeof v);
}

TEST(AsmImage, MalformedImagesAreErrors) {
  std::vector<uint8_t> good = npu::image_bytes(sample());
  Elf64_Ehdr eh;
  std::memcpy(&eh, good.data(), sizeof eh);
  EXPECT_EQ(image_error({'h', 'i'}), "x.npu: not an ELF file");
  std::vector<uint8_t> b = good;
  poke<uint16_t>(&b, offsetof(Elf64_Ehdr, e_machine), 247);
  EXPECT_EQ(image_error(b), "x.npu: e_machine 0xf7 is not EM_NPU (0x4e50)");
  b = good;
  b[EI_CLASS] = ELFCLASS32;
  EXPECT_EQ(image_error(b), "x.npu: not a 64-bit ELF file");
  b = good;
  b[EI_DATA] = ELFDATA2MSB;
  EXPECT_EQ(image_error(b), "x.npu: not a little-endian ELF file");
  b = good;  // .text (section 1) of 12 bytes
  poke<uint64_t>(&b, eh.e_shoff + eh.e_shentsize + offsetof(Elf64_Shdr, sh_size), 12);
  EXPECT_EQ(image_error(b), "x.npu: section .text: size 12 is not a multiple of 8");
  b = good;
  poke<uint64_t>(&b, eh.e_shoff + eh.e_shentsize + offsetof(Elf64_Shdr, sh_offset), 1u << 30);
  EXPECT_EQ(image_error(b), "x.npu: section 1 extends past the end of the file");
  b = good;
  b.resize(good.size() - 1);  // the section headers are at the end
  EXPECT_EQ(image_error(b).rfind("x.npu: ", 0), 0u);
  EXPECT_EQ(image_error(std::vector<uint8_t>(good.begin(), good.begin() + 40)),
            "x.npu: truncated ELF header");

  // Every truncation, and random corruption: an ImageError or a valid image, never a crash.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> t(good.begin(), good.begin() + n);
    EXPECT_NE(image_error(t), "(no error)") << "truncated to " << n;
  }
  std::mt19937 rng(3);
  for (int k = 0; k < 20000; ++k) {
    b = good;
    for (int f = 1 + int(rng() % 4); f > 0; --f) b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
    try {
      npu::Image img = npu::parse_image(b, "x.npu");
      (void)npu::listing(img);
    } catch (const npu::ImageError&) {
    }
  }
  EXPECT_NE(image_error(std::vector<uint8_t>(good.begin(), good.begin() + 64)), "(no error)");
  std::string missing = temp_path("missing.npu");
  fs::remove(missing);
  EXPECT_THROW(npu::read_image(missing), npu::ImageError);
}

TEST(AsmImage, ListingOfTheSample) {
  std::string l = npu::listing(sample());
  EXPECT_NE(l.find("         2: 0000000000002071  bne r1, 0, loop\n"), std::string::npos) << l;
  EXPECT_NE(l.find(" 200010000: 0000000002000000  .byte 0x00, 0x00, 0x00, 0x00, 0x02"),
            std::string::npos)
      << l;
  EXPECT_NE(l.find(".equ K, 0x200000000"), std::string::npos) << l;
}

}  // namespace
