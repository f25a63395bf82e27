// The schedule pass on machine code built by hand: each kind of dependency
// holds (registers, memory, engines, r10, fences and labels), long-latency
// instructions move up over independent work, notes and BPF indices travel
// with their instruction, the result is deterministic, and random blocks
// compute the same registers and memory before and after.
#include "compiler/backend/passes.h"
#include "compiler/npu/asm.h"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace {

using npu::Op;
using npucc::MInsn;
using npucc::Module;

// Machine code from assembler lines: "Ln:" is the marker of label n, and "Ln"
// as a branch, jmp or jal operand targets it. Each instruction's note is its
// text and its BPF index is its line number, so both can be followed.
std::vector<MInsn> code_of(const std::string& text, int32_t* next_label) {
  static const std::regex label_line(R"(^\s*L(\d+):\s*$)"), label_ref(R"(\bL(\d+)\b)");
  std::vector<MInsn> out;
  std::istringstream in(text);
  uint32_t n = 0;
  for (std::string line; std::getline(in, line); n++) {
    line = std::regex_replace(line, std::regex(R"(^\s+|\s+$)"), "");
    if (line.empty()) continue;
    MInsn x;
    std::smatch sm;
    if (std::regex_match(line, sm, label_line)) {
      x.is_label = true;
      x.label = std::stoi(sm[1]);
    } else {
      std::string src = line;
      if (std::regex_search(line, sm, label_ref)) {
        x.label = std::stoi(sm[1]);
        src = std::regex_replace(line, label_ref, "0");
      }
      const npu::Object o = npu::assemble(src + "\n", "schedule_test");
      EXPECT_EQ(o.sections[0].words.size(), 1u) << src;
      EXPECT_TRUE(npu::decode(o.sections[0].words[0], &x.in)) << src;
      x.note = line;
    }
    x.bpf = n;
    *next_label = std::max(*next_label, x.label + 1);
    out.push_back(x);
  }
  return out;
}

Module module_of(const std::string& text) {
  Module m;
  m.mc.code = code_of(text, &m.mc.next_label);
  return m;
}

// The code as lines again: notes, and "Ln:" for labels.
std::vector<std::string> lines(const Module& m) {
  std::vector<std::string> out;
  for (const MInsn& x : m.mc.code)
    out.push_back(x.is_label ? "L" + std::to_string(x.label) + ":" : x.note);
  return out;
}

std::vector<std::string> scheduled(const std::string& text, Module* out = nullptr) {
  Module m = module_of(text);
  npucc::pass_schedule(m);
  std::vector<std::string> l = lines(m);
  if (out) *out = std::move(m);
  return l;
}

size_t at(const std::vector<std::string>& l, const std::string& line) {
  for (size_t i = 0; i < l.size(); i++)
    if (l[i] == line) return i;
  ADD_FAILURE() << "no line " << line;
  return l.size();
}

std::string show(const std::vector<std::string>& l) {
  std::string s;
  for (const std::string& x : l) s += "  " + x + "\n";
  return s;
}

TEST(Schedule, PacketLoadMovesAboveIndependentWork) {
  Module m;
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r2, r2, 1
    add r3, r3, 1
    ldp.1 r5, [r24+14]
    add r6, r5, 1
    exit r6
  )",
                           &m);
  EXPECT_EQ(at(l, "ldp.1 r5, [r24+14]"), 0u) << show(l);
  EXPECT_EQ(at(l, "exit r6"), l.size() - 1) << show(l);
  EXPECT_GT(m.stats["schedule.moved"], 0u);
  EXPECT_EQ(m.stats["schedule.blocks"], 1u);
}

TEST(Schedule, NotesAndBpfIndicesTravelWithTheirInstruction) {
  Module m;
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r2, r2, 1
    ld.8 r5, [r7+8]
    add r6, r5, 1
    exit r6
  )",
                           &m);
  ASSERT_EQ(at(l, "ld.8 r5, [r7+8]"), 0u) << show(l);
  const MInsn& x = m.mc.code[0];
  EXPECT_EQ(x.in.op, Op::LD);
  EXPECT_EQ(x.in.a, 5);
  EXPECT_EQ(x.bpf, 3u);  // its line in the text above
  // Every instruction still decodes to what its note says.
  for (const MInsn& y : m.mc.code) {
    const npu::Object o = npu::assemble(y.note + "\n", "schedule_test");
    EXPECT_EQ(o.sections[0].words[0], npu::encode(y.in)) << y.note;
  }
}

TEST(Schedule, MapLookupStartsEarlyAndWorkFillsItsLatency) {
  const auto l = scheduled(R"(
    st.4 [r10-4], r5
    mov r2, r10
    add r2, r2, -4
    li r1, 3
    add r6, r7, 1
    add r8, r8, r9
    xor r9, r9, r6
    mlookup r0, r1, r2
    beq r0, 0, L1
  )");
  const size_t look = at(l, "mlookup r0, r1, r2");
  EXPECT_LT(at(l, "st.4 [r10-4], r5"), look) << show(l);  // the key is in memory first
  EXPECT_LT(at(l, "add r2, r2, -4"), look) << show(l);
  EXPECT_LT(at(l, "li r1, 3"), look) << show(l);
  EXPECT_GT(at(l, "xor r9, r9, r6"), look) << show(l);  // work fills the latency
  EXPECT_EQ(at(l, "beq r0, 0, L1"), l.size() - 1) << show(l);
}

// In each case the load would gain by moving up; one dependency forbids it.
TEST(Schedule, ReadAfterWriteKeepsTheProducerFirst) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r7, r3, 16
    add r2, r2, 1
    ld.8 r4, [r7+0]
    add r5, r4, 1
    exit r5
  )");
  EXPECT_LT(at(l, "add r7, r3, 16"), at(l, "ld.8 r4, [r7+0]")) << show(l);
  EXPECT_LT(at(l, "ld.8 r4, [r7+0]"), at(l, "add r5, r4, 1")) << show(l);
}

TEST(Schedule, WriteAfterReadKeepsTheReaderFirst) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r6, r2, 1
    add r3, r3, 1
    ldp.2 r2, [r24+12]
    add r5, r2, r6
    exit r5
  )");
  EXPECT_LT(at(l, "add r6, r2, 1"), at(l, "ldp.2 r2, [r24+12]")) << show(l);
}

TEST(Schedule, WriteAfterWriteKeepsTheOrderOfWrites) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    li r2, 5
    add r3, r3, 1
    ldp.2 r2, [r24+12]
    add r5, r2, r1
    exit r5
  )");
  EXPECT_LT(at(l, "li r2, 5"), at(l, "ldp.2 r2, [r24+12]")) << show(l);
}

TEST(Schedule, LoadsStayAfterStoresThatMayAlias) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    st.8 [r3+0], r4
    add r2, r2, 1
    ld.8 r5, [r6+0]
    add r5, r5, r1
    exit r5
  )");
  EXPECT_LT(at(l, "st.8 [r3+0], r4"), at(l, "ld.8 r5, [r6+0]")) << show(l);
}

TEST(Schedule, StoresStayAfterLoadsThatMayAlias) {
  // The store has nothing to gain, but the loads around it do.
  const auto l = scheduled(R"(
    ld.8 r5, [r6+0]
    st.8 [r3+0], r4
    add r1, r1, 1
    add r2, r2, 1
    ld.8 r7, [r8+0]
    add r5, r5, r7
    exit r5
  )");
  EXPECT_LT(at(l, "ld.8 r5, [r6+0]"), at(l, "st.8 [r3+0], r4")) << show(l);
  EXPECT_LT(at(l, "st.8 [r3+0], r4"), at(l, "ld.8 r7, [r8+0]")) << show(l);
}

TEST(Schedule, TwoLoadsMaySwap) {
  const auto l = scheduled(R"(
    ldp.1 r1, [r24+0]
    add r2, r1, 1
    ld.8 r5, [r6+0]
    add r5, r5, r2
    exit r5
  )");
  EXPECT_LT(at(l, "ld.8 r5, [r6+0]"), at(l, "ldp.1 r1, [r24+0]")) << show(l);
}

TEST(Schedule, PacketLoadsPassStackStoresButNotOtherStores) {
  const auto stack = scheduled(R"(
    add r1, r1, 1
    st.8 [r10-8], r4
    ldp.4 r5, [r24+0]
    add r5, r5, r1
    exit r5
  )");
  EXPECT_LT(at(stack, "ldp.4 r5, [r24+0]"), at(stack, "st.8 [r10-8], r4")) << show(stack);
  const auto any = scheduled(R"(
    add r1, r1, 1
    st.8 [r3-8], r4
    ldp.4 r5, [r24+0]
    add r5, r5, r1
    exit r5
  )");
  EXPECT_LT(at(any, "st.8 [r3-8], r4"), at(any, "ldp.4 r5, [r24+0]")) << show(any);
}

TEST(Schedule, EngineCommandsStayInOrderWithStoresAndEachOther) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    st.8 [r10-8], r4
    add r2, r2, 1
    mupdate r0, r1, r2, r3, r4
    add r6, r6, 1
    mlookup r7, r8, r9
    rand r11
    time r12
    add r5, r7, r0
    exit r5
  )");
  EXPECT_LT(at(l, "st.8 [r10-8], r4"), at(l, "mupdate r0, r1, r2, r3, r4")) << show(l);
  EXPECT_LT(at(l, "mupdate r0, r1, r2, r3, r4"), at(l, "mlookup r7, r8, r9")) << show(l);
  EXPECT_LT(at(l, "mlookup r7, r8, r9"), at(l, "rand r11")) << show(l);
  EXPECT_LT(at(l, "rand r11"), at(l, "time r12")) << show(l);
}

TEST(Schedule, RandomNumbersAndTimesComeInOrder) {
  // The last rand would gain by going first, and would take the first number.
  const auto l = scheduled(R"(
    rand r1
    time r2
    rand r3
    mul r4, r3, r3
    mul r4, r4, r4
    add r4, r4, r1
    add r4, r4, r2
    exit r4
  )");
  EXPECT_LT(at(l, "rand r1"), at(l, "time r2")) << show(l);
  EXPECT_LT(at(l, "time r2"), at(l, "rand r3")) << show(l);
}

TEST(Schedule, AtomicsStayInOrderWithLoads) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    aadd.8 [r3+0], r4
    add r2, r2, 1
    ld.8 r5, [r6+0]
    add r5, r5, r1
    exit r5
  )");
  EXPECT_LT(at(l, "aadd.8 [r3+0], r4"), at(l, "ld.8 r5, [r6+0]")) << show(l);
}

TEST(Schedule, EngineOperandsInDAndEAreReads) {
  // mupdate reads r3 and r4 (fields D and E): their producers stay first.
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r4, r9, 2
    add r3, r9, 1
    mupdate r0, r5, r6, r3, r4
    add r5, r0, r1
    exit r5
  )");
  EXPECT_LT(at(l, "add r4, r9, 2"), at(l, "mupdate r0, r5, r6, r3, r4")) << show(l);
  EXPECT_LT(at(l, "add r3, r9, 1"), at(l, "mupdate r0, r5, r6, r3, r4")) << show(l);
}

TEST(Schedule, StackPointerMovesStayInPlaceAroundMemory) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r10, r10, -16
    ld.8 r5, [r6+0]
    add r5, r5, r1
    exit r5
  )");
  EXPECT_LT(at(l, "add r10, r10, -16"), at(l, "ld.8 r5, [r6+0]")) << show(l);
}

TEST(Schedule, BranchesAndJumpsStayLastAndNothingCrossesThem) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r2, r2, 1
    ld.8 r3, [r9+0]
    bne r9, 0, L1
    add r4, r4, 1
    ldp.1 r5, [r24+1]
    add r6, r5, 1
    jmp L2
    add r7, r7, 1
    ld.8 r8, [r6+0]
    add r8, r8, 1
    jr r30
  )");
  // Blocks: [0, 3], [4, 7], [8, 11]; the ends stay, and stay ends.
  EXPECT_EQ(at(l, "bne r9, 0, L1"), 3u) << show(l);
  EXPECT_EQ(at(l, "jmp L2"), 7u) << show(l);
  EXPECT_EQ(at(l, "jr r30"), 11u) << show(l);
  EXPECT_EQ(at(l, "ld.8 r3, [r9+0]"), 0u) << show(l);
  EXPECT_EQ(at(l, "ldp.1 r5, [r24+1]"), 4u) << show(l);
  EXPECT_EQ(at(l, "ld.8 r8, [r6+0]"), 8u) << show(l);
}

TEST(Schedule, ReferencedLabelsAreNeverCrossed) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    add r2, r2, 1
    L1:
    ldp.1 r5, [r24+14]
    add r6, r5, r1
    bne r6, 0, L1
  )");
  EXPECT_EQ(at(l, "L1:"), 2u) << show(l);
  EXPECT_EQ(at(l, "ldp.1 r5, [r24+14]"), 3u) << show(l);
}

TEST(Schedule, LabelsNothingRefersToAreNotBoundaries) {
  // The lowering puts a label before each BPF instruction's code.
  const auto l = scheduled(R"(
    L1:
    add r1, r1, 1
    L2:
    add r2, r2, 1
    L3:
    ldp.1 r5, [r24+14]
    L4:
    add r6, r5, r1
    exit r6
  )");
  EXPECT_EQ(at(l, "ldp.1 r5, [r24+14]"), 1u) << show(l);
  // The markers keep their slots.
  EXPECT_EQ(at(l, "L1:"), 0u);
  EXPECT_EQ(at(l, "L2:"), 2u);
  EXPECT_EQ(at(l, "L3:"), 4u);
  EXPECT_EQ(at(l, "L4:"), 6u);
}

TEST(Schedule, FencesStayInPlace) {
  const auto l = scheduled(R"(
    add r1, r1, 1
    csrw scratch0, r1
    add r2, r2, 1
    csrr r3, cycle
    ldp.1 r5, [r24+14]
    add r6, r5, r1
    jal r30, L7
  )");
  EXPECT_EQ(at(l, "csrw scratch0, r1"), 1u) << show(l);
  EXPECT_EQ(at(l, "csrr r3, cycle"), 3u) << show(l);
  EXPECT_EQ(at(l, "jal r30, L7"), 6u) << show(l);
}

TEST(Schedule, NoGainNoChange) {
  // The heights put the multiply's operand first, which saves nothing.
  Module m;
  const std::string text = R"(
    add r1, r1, 1
    add r2, r3, 4
    mul r5, r2, r2
    exit r5
  )";
  const auto l = scheduled(text, &m);
  EXPECT_EQ(l, lines(module_of(text)));
  EXPECT_EQ(m.stats.count("schedule.moved"), 0u);
}

// ---------------------------------------------------------------- random blocks

// Straight-line code over r1-r6 and one memory, with base registers that make
// accesses alias often: r10 (stack) and r24 (packet) point at two areas and
// r7 at one or the other. Unless `straight`, branches and referenced labels
// cut it into blocks.
std::vector<MInsn> random_code(std::mt19937_64& rng, int32_t* next_label, int n = 0,
                               bool straight = false) {
  auto pick = [&](int n) { return int(rng() % unsigned(n)); };
  auto reg = [&] { return uint8_t(1 + pick(6)); };
  auto base = [&] { return uint8_t(std::array<int, 3>{7, 10, 24}[size_t(pick(3))]); };
  std::vector<MInsn> code;
  if (n == 0) n = 8 + pick(40);
  for (int i = 0; i < n; i++) {
    MInsn x;
    x.bpf = uint32_t(i);
    npu::Insn& in = x.in;
    switch (pick(straight ? 9 : 12)) {
      case 0:
        in.op = Op::LI, in.a = reg(), in.imm = pick(100);
        break;
      case 1:
        in.op = Op::ADD, in.a = reg(), in.b = reg(), in.c = reg();
        break;
      case 2:
        in.op = Op::ADDI, in.a = reg(), in.b = reg(), in.imm = pick(9) - 4;
        break;
      case 3:
        in.op = Op::MULI, in.a = reg(), in.b = reg(), in.imm = 3 + pick(5);
        break;
      case 4:
        in.op = Op::XOR, in.a = reg(), in.b = reg(), in.c = reg();
        break;
      case 5:
      case 6: {
        const uint8_t b = base();
        in.op = b == 24 ? Op::LDP : Op::LD, in.width = 8, in.a = reg(), in.b = b;
        in.imm = 8 * pick(3);
        break;
      }
      case 7:
      case 8: {
        const uint8_t b = base();
        in.op = b == 24 ? Op::STP : Op::ST, in.width = 8, in.a = reg(), in.b = b;
        in.imm = 8 * pick(3);
        break;
      }
      case 9:
        in.op = Op::BEQI, in.b = reg(), in.imm = 0;
        x.label = *next_label;
        break;
      case 10: {
        MInsn l;
        l.is_label = true;
        l.label = (*next_label)++;
        l.bpf = x.bpf;
        code.push_back(l);
        in.op = Op::MOV, in.a = reg(), in.b = reg();
        break;
      }
      default:
        in.op = Op::ADD, in.a = reg(), in.b = reg(), in.c = reg();
        break;
    }
    x.note = npu::format_insn(in, 0);
    code.push_back(x);
  }
  (*next_label)++;
  return code;
}

// Runs the code straight through (branches are not taken) and records the
// registers and memory at every branch and at the end.
std::vector<std::string> run(const std::vector<MInsn>& code, uint64_t r7) {
  std::array<uint64_t, 32> r{};
  for (unsigned i = 1; i <= 6; i++) r[i] = i * 0x1111;
  r[7] = r7, r[10] = 0x1000, r[24] = 0x2000;
  std::map<uint64_t, uint64_t> mem;
  std::vector<std::string> seen;
  auto snapshot = [&] {
    std::ostringstream s;
    for (unsigned i = 1; i <= 6; i++) s << r[i] << ' ';
    for (auto [a, v] : mem) s << a << '=' << v << ' ';
    seen.push_back(s.str());
  };
  for (const MInsn& x : code) {
    if (x.is_label) continue;
    const npu::Insn& in = x.in;
    switch (in.op) {
      case Op::LI:
        r[in.a] = uint64_t(int64_t(in.imm));
        break;
      case Op::ADD:
        r[in.a] = r[in.b] + r[in.c];
        break;
      case Op::ADDI:
        r[in.a] = r[in.b] + uint64_t(int64_t(in.imm));
        break;
      case Op::MULI:
        r[in.a] = r[in.b] * uint64_t(int64_t(in.imm));
        break;
      case Op::XOR:
        r[in.a] = r[in.b] ^ r[in.c];
        break;
      case Op::MOV:
        r[in.a] = r[in.b];
        break;
      case Op::LD:
      case Op::LDP:
        r[in.a] = mem[r[in.b] + uint64_t(int64_t(in.imm))];
        break;
      case Op::ST:
      case Op::STP:
        mem[r[in.b] + uint64_t(int64_t(in.imm))] = r[in.a];
        break;
      case Op::BEQI:
        snapshot();
        break;
      default:
        ADD_FAILURE() << "unexpected " << x.note;
    }
  }
  snapshot();
  return seen;
}

TEST(Schedule, RandomBlocksComputeTheSameRegistersAndMemory) {
  std::mt19937_64 rng(20261123);
  uint64_t moved = 0;
  for (int round = 0; round < 500; round++) {
    Module m;
    m.mc.code = random_code(rng, &m.mc.next_label);
    const std::vector<MInsn> before = m.mc.code;
    npucc::pass_schedule(m);
    moved += m.stats["schedule.moved"];
    ASSERT_EQ(m.mc.code.size(), before.size());
    for (size_t k = 0; k < before.size(); k++) {  // labels and branches keep their places
      ASSERT_EQ(m.mc.code[k].is_label, before[k].is_label) << "round " << round;
      if (before[k].is_label || before[k].in.op == Op::BEQI) {
        ASSERT_EQ(m.mc.code[k].label, before[k].label) << "round " << round;
        ASSERT_EQ(m.mc.code[k].note, before[k].note) << "round " << round;
      }
    }
    // r7 aliases the stack, then the packet: stack and packet never alias each other.
    for (uint64_t r7 : {0x1000u, 0x2000u}) {
      ASSERT_EQ(run(m.mc.code, r7), run(before, r7)) << "round " << round << ", r7 = " << r7;
    }
  }
  EXPECT_GT(moved, 100u);  // the test exercised the scheduler
}

TEST(Schedule, LongBlocksGoInWindows) {
  // Straight-line code longer than the code store's share of one program.
  std::mt19937_64 rng(11);
  Module m;
  m.mc.code = random_code(rng, &m.mc.next_label, 20000, true);
  const std::vector<MInsn> before = m.mc.code;
  npucc::pass_schedule(m);
  EXPECT_GT(m.stats["schedule.blocks"], 1u);
  for (uint64_t r7 : {0x1000u, 0x2000u}) EXPECT_EQ(run(m.mc.code, r7), run(before, r7));
}

TEST(Schedule, IsDeterministic) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 50; round++) {
    Module a;
    a.mc.code = random_code(rng, &a.mc.next_label);
    Module b = a;
    npucc::pass_schedule(a);
    npucc::pass_schedule(b);
    ASSERT_EQ(lines(a), lines(b)) << "round " << round;
    EXPECT_EQ(a.stats, b.stats);
  }
}

// The pass relies on regs_read/regs_written naming every register operand.
TEST(Schedule, RegisterMasksCoverEveryRegisterField) {
  for (unsigned i = 0; i < npu::kNumOps; i++) {
    const npu::OpInfo& o = npu::op_info(Op(i));
    npu::Insn in;
    in.op = Op(i);
    in.a = 1, in.b = 2, in.c = 3, in.d = 4, in.e = 5;
    const uint32_t all = npu::regs_read(in) | npu::regs_written(in);
    const npu::Field fields[] = {npu::Field::A, npu::Field::B, npu::Field::C, npu::Field::D,
                                 npu::Field::E};
    for (unsigned f = 0; f < 5; f++) {
      if (o.fields & (1u << unsigned(fields[f]))) {
        EXPECT_TRUE(all & (1u << (f + 1))) << o.mnemonic << " field " << f;
      }
    }
  }
}

}  // namespace
