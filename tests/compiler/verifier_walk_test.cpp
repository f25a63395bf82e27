// The verifier's walk (compiler/verifier/verifier.cpp): every example is
// accepted, the facts it hands the back end are right on small programs, and
// errors name the file, the instruction, the source line and the reason. The
// corpora (verifier_corpus_test) check the verdicts against the kernel.
#include "compiler/bpf/program.h"
#include "compiler/bpf/ubpf_asm.h"
#include "compiler/verifier/verifier.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

using namespace verifier;
namespace fs = std::filesystem;

namespace {

const std::string kExamples = std::string(NPU_BINARY_DIR) + "/examples/xdp";

// An object with one XDP program and, optionally, one map per entry of maps.
bpf::Object object_of(const std::string& text, std::vector<bpf::MapDef> maps = {}) {
  bpf::Object obj;
  obj.path = "test.o";
  obj.maps = std::move(maps);
  bpf::Program p;
  p.name = "prog";
  p.section = "xdp";
  p.type = BPF_PROG_TYPE_XDP;
  p.insns = bpf::assemble_ubpf(text);
  p.func_starts = {0};
  obj.programs.push_back(p);
  return obj;
}

bpf::MapDef array_map(uint32_t value_size, uint32_t max_entries) {
  bpf::MapDef m;
  m.name = "arr";
  m.type = BPF_MAP_TYPE_ARRAY;
  m.key_size = 4;
  m.value_size = value_size;
  m.max_entries = max_entries;
  return m;
}

std::string rejection(const bpf::Object& obj, Options opt = {}) {
  try {
    verify(obj, 0, opt);
  } catch (const VerifyError& e) {
    return e.what();
  }
  return "";
}

TEST(VerifierWalk, AcceptsEveryExample) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(kExamples)) {
    if (e.path().extension() != ".o") continue;
    bpf::Object obj = bpf::load_object(e.path().string());
    for (size_t p = 0; p < obj.programs.size(); p++) {
      Result r;
      ASSERT_NO_THROW(r = verify(obj, p)) << e.path();
      EXPECT_GT(r.insns_processed, 0u);
      EXPECT_EQ(r.facts.size(), obj.programs[p].insns.size());
      // The entry reads the context, and every reachable path starts at insn 0.
      EXPECT_TRUE(r.facts[0].reached);
      EXPECT_EQ(r.facts[0].type[1], RegType::CTX);
      n++;
    }
  }
  EXPECT_GE(n, 10u) << "examples not built in " << kExamples;
}

TEST(VerifierWalk, FactsForPacketAccess) {
  // data/data_end from ctx, a 14-byte check, then a 2-byte load at offset 12.
  bpf::Object obj = object_of(R"(
    ldxw %r2, [%r1+0]
    ldxw %r3, [%r1+4]
    mov %r4, %r2
    add %r4, 14
    jgt %r4, %r3, +2
    ldxh %r0, [%r2+12]
    exit
    mov %r0, 2
    exit
  )");
  Result r = verify(obj, 0);
  EXPECT_EQ(r.facts[0].mem, Mem::CTX);
  EXPECT_EQ(r.facts[5].mem, Mem::PACKET);
  EXPECT_EQ(r.facts[5].pkt_slack, 0);  // bytes 12..13 of 14 proven: none to spare
  EXPECT_EQ(r.facts[2].type[2], RegType::PACKET);
  EXPECT_EQ(r.facts[4].type[3], RegType::PACKET_END);
  EXPECT_TRUE(r.facts[4].taken && r.facts[4].fallthrough);
  EXPECT_TRUE(r.facts[3].is_const[4] == false);
}

TEST(VerifierWalk, FactsForConstantsAndDeadBranches) {
  bpf::Object obj = object_of(R"(
    mov %r0, 7
    jeq %r0, 7, +1
    mov %r0, 1
    exit
  )");
  Result r = verify(obj, 0);
  EXPECT_TRUE(r.facts[1].is_const[0]);
  EXPECT_EQ(r.facts[1].value[0], 7u);
  EXPECT_TRUE(r.facts[1].taken);
  EXPECT_FALSE(r.facts[1].fallthrough);
  EXPECT_FALSE(r.facts[2].reached);  // dead: the back end may drop it
  EXPECT_TRUE(r.facts[3].reached);
}

TEST(VerifierWalk, ArrayLookupWithZeroKeyCannotMiss) {
  bpf::Object obj = object_of(R"(
    stw [%r10-8], 0
    mov %r2, %r10
    add %r2, -8
    lddw %r1, 0
    call 1
    ldxdw %r0, [%r0+0]
    exit
  )",
                              {array_map(8, 4)});
  obj.programs[0].insns[3].src = BPF_PSEUDO_MAP_FD;  // map index 0
  Result r = verify(obj, 0);
  EXPECT_TRUE(r.facts[5].lookup_never_null);
  EXPECT_EQ(r.facts[5].call_map, 0);
  EXPECT_EQ(r.facts[6].mem, Mem::MAP_VALUE);
  EXPECT_EQ(r.facts[6].map, 0);
  EXPECT_EQ(r.facts[1].mem, Mem::NONE);
  EXPECT_EQ(r.facts[0].mem, Mem::STACK);
  EXPECT_EQ(r.facts[0].stack_off, -8);
}

TEST(VerifierWalk, PrivilegeDecidesPointerLeaks) {
  bpf::Object obj = object_of(R"(
    mov %r0, %r10
    exit
  )");
  EXPECT_EQ(rejection(obj), "");
  Options unpriv;
  unpriv.perfmon = false;
  EXPECT_EQ(rejection(obj, unpriv), "test.o: prog: insn 1: R0 leaks addr as return value");
}

TEST(VerifierWalk, ErrorsNameTheInstruction) {
  EXPECT_EQ(rejection(object_of("mov %r0, %r2\nexit\n")), "test.o: prog: insn 0: R2 !read_ok");
  EXPECT_EQ(rejection(object_of("ldxdw %r0, [%r1+0]\nexit\n")),
            "test.o: prog: insn 0: invalid bpf_context access off=0 size=8");
  EXPECT_EQ(rejection(object_of("mov %r0, 0\ndiv %r0, 0\nexit\n")),
            "test.o: prog: insn 1: div by zero");
  EXPECT_EQ(rejection(object_of("mov %r0, 0\n")),
            "test.o: prog: insn 0: last insn is not an exit or jmp");
  EXPECT_EQ(rejection(object_of("ja +0\nmov %r0, 0\nexit\n")).find("infinite"), std::string::npos);
  EXPECT_NE(rejection(object_of("ja -1\n")).find("infinite loop detected"), std::string::npos);
}

TEST(VerifierWalk, ErrorsCarryTheSourceLine) {
  bpf::Object obj = object_of("mov %r0, %r3\nexit\n");
  bpf::LineInfo li;
  li.insn = 0;
  li.file = "/src/prog.c";
  li.line = 42;
  obj.programs[0].lines.push_back(li);
  EXPECT_EQ(rejection(obj), "test.o: prog: insn 0 (prog.c:42): R3 !read_ok");
}

TEST(VerifierWalk, InstructionLimitIsReported) {
  // A loop counting down from a value read from the packet never repeats a
  // state exactly, so only the limit stops it.
  bpf::Object obj = object_of(R"(
    ldxw %r0, [%r1+16]
    jeq %r0, 0, +2
    sub %r0, 1
    ja -3
    exit
  )");
  Options o;
  o.insn_limit = 1000;
  EXPECT_NE(rejection(obj, o).find("BPF program is too large. Processed 1001 insn"),
            std::string::npos);
}

}  // namespace
