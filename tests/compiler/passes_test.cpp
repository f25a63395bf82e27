// Each pass on programs written to trigger it: the pass must fire (its
// --stats count), and the compiled program on the ISS device must give what
// the reference interpreter gives on every packet, with the pass on and off.
// The examples and the random programs (npu_diff_test, progen_test) check
// the passes at scale against the kernel; these cases pin one idiom each.
#include "compiler/backend/compile.h"
#include "compiler/backend/passes.h"
#include "compiler/bpf/ubpf_asm.h"
#include "tests/support/engines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

struct Case {
  const char* name;
  const char* pass;  // the pass that must fire
  const char* stat;  // "<pass>.<what>" it counts
  const char* asm_text;
  std::vector<bpf::MapDef> maps = {};
};

bpf::MapDef array(uint32_t value_size, uint32_t entries) {
  bpf::MapDef m;
  m.name = "arr";
  m.type = BPF_MAP_TYPE_ARRAY;
  m.key_size = 4;
  m.value_size = value_size;
  m.max_entries = entries;
  return m;
}

bpf::Object object_of(const Case& c) {
  bpf::Object obj;
  obj.path = std::string(c.name) + ".o";
  obj.maps = c.maps;
  bpf::Program p;
  p.name = c.name;
  p.section = "xdp";
  p.type = BPF_PROG_TYPE_XDP;
  p.insns = bpf::assemble_ubpf(c.asm_text);
  // lddw of a map: imm is the map index (bpf::Object's convention).
  for (bpf::Insn& in : p.insns)
    if (in.is_lddw() && in.imm == 0x7fff0000) in.imm = 0, in.src = BPF_PSEUDO_MAP_FD;
  p.func_starts = {0};
  obj.programs.push_back(p);
  return obj;
}

std::vector<std::vector<uint8_t>> packets() {
  std::vector<std::vector<uint8_t>> out;
  for (size_t len : {14, 15, 20, 34, 60, 64, 128}) {
    for (int v = 0; v < 4; v++) {
      std::vector<uint8_t> p(len);
      for (size_t i = 0; i < len; i++) p[i] = uint8_t(i * 37 + v * 101 + len);
      if (v == 1 && len >= 14) p[12] = 0x08, p[13] = 0x00;
      if (v == 2 && len >= 14) p[12] = 0x86, p[13] = 0xdd;
      out.push_back(p);
    }
  }
  return out;
}

// Packet prologue shared by the cases: r2 = data, r3 = data_end, and a
// 34-byte bounds check that returns XDP_PASS when it fails.
#define PROLOGUE        \
  "ldxw %r2, [%r1+0]\n" \
  "ldxw %r3, [%r1+4]\n" \
  "mov %r4, %r2\n"      \
  "add %r4, 34\n"       \
  "jgt %r4, %r3, +1\n"  \
  "ja +2\n"             \
  "mov %r0, 2\n"        \
  "exit\n"

const Case kCases[] = {
    {"const_operand", "const-prop", "const-prop.operands",
     PROLOGUE "ldxb %r0, [%r2+14]\n"
              "mov %r5, 3\n"
              "jgt %r0, 100, +1\n"
              "mov %r5, 3\n"
              "add %r0, %r5\n"  // r5 is 3 on both paths: an immediate
              "and %r0, 3\n"
              "exit\n"},
    {"const_result_be64", "const-prop", "const-prop.results",
     // to_be64 sits in the 32-bit ALU class but writes all 64 bits.
     // lddw then be64 gives -128: a 64-bit move of a sign-extended immediate.
     PROLOGUE "lddw %r0, 0x80ffffffffffffff\n"
              "be64 %r0\n"
              "ldxb %r5, [%r2+14]\n"
              "lsh %r5, 56\n"
              "add %r0, %r5\n"
              "rsh %r0, 56\n"
              "and %r0, 3\n"
              "exit\n"},
    {"dead_branch", "dead-code", "dead-code.branches",
     PROLOGUE "mov %r0, 1\n"
              "jeq %r0, 1, +1\n"
              "mov %r0, 3\n"
              "exit\n"},
    {"zext_move", "zext", "zext.moves",
     PROLOGUE "ldxb %r0, [%r2+14]\n"
              "mov32 %r0, %r0\n"
              "and %r0, 3\n"
              "exit\n"},
    {"bit_test", "fuse-branch", "fuse-branch.bit_tests",
     PROLOGUE "ldxb %r5, [%r2+23]\n"
              "and32 %r5, 16\n"
              "jne %r5, 0, +2\n"
              "mov %r0, 1\n"
              "exit\n"
              "mov %r0, 2\n"
              "exit\n"},
    {"bytes_to_u16", "pkt-merge", "pkt-merge.loads",
     PROLOGUE "ldxb %r5, [%r2+12]\n"
              "ldxb %r0, [%r2+13]\n"
              "lsh32 %r5, 8\n"
              "or32 %r5, %r0\n"  // big-endian u16 at 12
              "mov %r0, 1\n"
              "jne %r5, 0x800, +1\n"
              "mov %r0, 2\n"
              "exit\n"},
    {"load_then_swap", "pkt-merge", "pkt-merge.loads",
     PROLOGUE "ldxw %r5, [%r2+26]\n"
              "be32 %r5\n"
              "mov %r0, %r5\n"
              "and %r0, 3\n"
              "exit\n"},
    {"recheck", "pkt-check", "pkt-check.redundant",
     // The second check is proven by the prologue's 34-byte one.
     PROLOGUE "mov %r4, %r2\n"
              "add %r4, 14\n"
              "jgt %r4, %r3, +3\n"
              "ldxb %r0, [%r2+13]\n"
              "and %r0, 3\n"
              "exit\n"
              "mov %r0, 0\n"
              "exit\n"},
    {"array_lookup",
     "array-inline",
     "array-inline.lookups",
     PROLOGUE "ldxb %r5, [%r2+14]\n"
              "and %r5, 7\n"  // keys 4..7 miss: max_entries is 4
              "stxw [%r10-4], %r5\n"
              "mov %r2, %r10\n"
              "add %r2, -4\n"
              "lddw %r1, 0x7fff0000\n"
              "call 1\n"
              "mov %r5, 1\n"
              "jeq %r0, 0, +3\n"
              "stdw [%r0+8], 5\n"
              "ldxdw %r5, [%r0+0]\n"
              "add %r5, 2\n"
              "mov %r0, %r5\n"
              "and %r0, 3\n"
              "exit\n",
     {array(16, 4)}},
    {"spill_slots", "regalloc", "regalloc.slots",
     PROLOGUE "ldxb %r5, [%r2+14]\n"
              "stxdw [%r10-16], %r5\n"
              "ldxb %r5, [%r2+15]\n"
              "stxdw [%r10-24], %r5\n"
              "ldxdw %r0, [%r10-16]\n"
              "ldxdw %r4, [%r10-24]\n"
              "add %r0, %r4\n"
              "and %r0, 3\n"
              "exit\n"},
    {"load_used_late", "schedule", "schedule.moved",
     PROLOGUE "ldxb %r5, [%r2+14]\n"
              "add %r5, 1\n"  // waits for the load: the second load goes in between
              "ldxb %r0, [%r2+20]\n"
              "add %r0, %r5\n"
              "and %r0, 3\n"
              "exit\n"},
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.name;
}

class Passes : public testing::TestWithParam<Case> {};

TEST_P(Passes, FiresAndKeepsTheProgramsBehaviour) {
  const Case& c = GetParam();
  bpf::Object obj = object_of(c);
  npucc::CompileResult r = npucc::compile(obj);
  EXPECT_GT(r.stats[0].passes[c.stat], 0u) << c.pass << " did not fire on " << c.name;
  for (bool off : {false, true}) {
    std::set<std::string> disabled;
    if (off) disabled.insert(c.pass);
    nlohmann::json init = {{"maps", nlohmann::json::object()}};
    auto ref = progen::ref_engine(obj, init);
    auto npu = progen::npu_engine(obj, init, NPU_FIRMWARE, disabled);
    progen::Comparison cmp = progen::compare({ref.get(), npu.get()}, packets());
    EXPECT_EQ(cmp.first_difference, "") << c.name << (off ? " with -fno-" : " with ") << c.pass;
    EXPECT_GE(cmp.verdicts.size(), c.pass == std::string("dead-code") ? 1u : 2u)
        << c.name << ": the packets reach one verdict only";
  }
}

INSTANTIATE_TEST_SUITE_P(Idioms, Passes, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<Case>& i) { return i.param.name; });

// Every pass has a case here.
TEST(Passes, EachPassHasACase) {
  for (const npucc::Pass& p : npucc::passes()) {
    bool found = false;
    for (const Case& c : kCases) found = found || p.name == std::string(c.pass);
    EXPECT_TRUE(found) << "no case for pass " << p.name;
  }
}

}  // namespace
