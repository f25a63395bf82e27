// The compiler driver and lowering (compiler/backend): every example compiles
// with every pass on and with each one off, the code decodes, listings carry
// the BPF and C source, and what the device cannot do is refused with one
// line. Behaviour on the ISS is checked by the differential tests.
#include "compiler/backend/compile.h"
#include "compiler/backend/passes.h"
#include "compiler/bpf/program.h"
#include "compiler/bpf/ubpf_asm.h"
#include "firmware/abi.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kExamples = std::string(NPU_BINARY_DIR) + "/examples/xdp";

std::vector<std::string> examples() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(kExamples))
    if (e.path().extension() == ".o") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

bpf::Object object_of(std::vector<bpf::Insn> insns) {
  bpf::Object obj;
  obj.path = "test.o";
  bpf::Program p;
  p.name = "prog";
  p.section = "xdp";
  p.insns = std::move(insns);
  p.func_starts = {0};
  obj.programs.push_back(p);
  return obj;
}

void expect_decodes(const npu::Image& img, const std::string& what) {
  ASSERT_FALSE(img.sections.empty());
  const auto& text = img.sections[0];
  EXPECT_EQ(text.base, uint64_t(NPU_PROG_TEXT_BASE));
  for (size_t k = 0; k < text.words.size(); k++) {
    npu::Insn in;
    std::string why;
    EXPECT_TRUE(npu::decode(text.words[k], &in, &why))
        << what << ": word " << k << " does not decode: " << why;
  }
}

TEST(Compile, EveryExampleWithEveryPassOnAndEachOff) {
  const auto files = examples();
  ASSERT_GE(files.size(), 10u);
  for (const std::string& f : files) {
    bpf::Object obj = bpf::load_object(f);
    npucc::CompileResult all = npucc::compile(obj);
    expect_decodes(all.image, f);
    ASSERT_EQ(all.image.programs.size(), obj.programs.size());
    for (size_t p = 0; p < obj.programs.size(); p++) {
      EXPECT_EQ(all.image.programs[p].name, obj.programs[p].name);
      EXPECT_EQ(all.image.programs[p].bpf_insns, obj.programs[p].insns.size());
      EXPECT_GT(all.image.programs[p].npu_insns, 0u);
    }
    EXPECT_EQ(all.image.maps.size(), obj.maps.size());
    for (const npucc::Pass& pass : npucc::passes()) {
      npucc::CompileOptions o;
      o.disabled.insert(pass.name);
      npucc::CompileResult r = npucc::compile(obj, o);
      expect_decodes(r.image, f + " -fno-" + pass.name);
      for (const auto& st : r.stats)
        for (const auto& [k, v] : st.passes)
          EXPECT_NE(k.rfind(std::string(pass.name) + ".", 0), 0u)
              << pass.name << " is off but counted " << k;
    }
  }
}

TEST(Compile, ListingInterleavesSourceBpfAndNpuCode) {
  bpf::Object obj = bpf::load_object(kExamples + "/firewall.o");
  npucc::CompileOptions o;
  o.listing = true;
  npucc::CompileResult r = npucc::compile(obj, o);
  EXPECT_NE(r.listing.find("; program xdp_firewall (section xdp)"), std::string::npos);
  EXPECT_NE(r.listing.find("firewall.c:"), std::string::npos);       // C source lines
  EXPECT_NE(r.listing.find("*(u32 *)(r1 + 4)"), std::string::npos);  // BPF instructions
  EXPECT_NE(r.listing.find("exit r0"), std::string::npos);           // NPU code
}

TEST(Compile, UnknownPassIsRefused) {
  bpf::Object obj = bpf::load_object(kExamples + "/firewall.o");
  npucc::CompileOptions o;
  o.disabled.insert("no-such-pass");
  EXPECT_THROW(npucc::compile(obj, o), npucc::CompileError);
}

TEST(Compile, HelpersWithoutADeviceEquivalentAreRefusedByName) {
  // bpf_trace_printk(fmt on the stack, 4): the device has no event channel.
  bpf::Object obj = object_of(bpf::assemble_ubpf(R"(
    stw [%r10-8], 0
    mov %r1, %r10
    add %r1, -8
    mov %r2, 4
    call 6
    mov %r0, 2
    exit
  )"));
  try {
    npucc::compile(obj);
    FAIL() << "compiled a program calling bpf_trace_printk";
  } catch (const npucc::CompileError& e) {
    EXPECT_EQ(std::string(e.what()),
              "test.o: prog: insn 4: helper #6 sends events to the host; the device has no event "
              "channel yet");
  }
}

TEST(Compile, CodeStoreLimitIsNamed) {
  // More straight-line code than the code store holds above NPU_PROG_TEXT_BASE.
  std::vector<bpf::Insn> insns;
  insns.emplace_back(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0);
  for (int i = 0; i < NPU_CODE_STORE_SIZE; i++)
    insns.emplace_back(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1);
  insns.emplace_back(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  npucc::CompileOptions o;
  o.disabled = {"const-prop", "dead-code"};  // keep every add
  try {
    npucc::compile(object_of(insns), o);
    FAIL() << "compiled past the code store";
  } catch (const npucc::CompileError& e) {
    EXPECT_NE(std::string(e.what()).find("do not fit the code store"), std::string::npos)
        << e.what();
  }
}

TEST(Compile, FarBranchesAreRelaxed) {
  // A conditional branch over more than the 14-bit displacement reaches.
  std::vector<bpf::Insn> insns;
  insns.emplace_back(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 16, 0);  // r0 = rx_queue_index
  insns.emplace_back(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 10000, 7);
  for (int i = 0; i < 10000; i++) insns.emplace_back(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1);
  insns.emplace_back(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  npucc::CompileOptions o;
  o.disabled = {"const-prop", "dead-code"};
  npucc::CompileResult r = npucc::compile(object_of(insns), o);
  expect_decodes(r.image, "far branch");
  // The branch became its inverse over a jmp.
  npu::Insn b, j;
  ASSERT_TRUE(npu::decode(r.image.sections[0].words[1], &b));
  ASSERT_TRUE(npu::decode(r.image.sections[0].words[2], &j));
  EXPECT_EQ(b.op, npu::Op::BNEI);
  EXPECT_EQ(b.off, 2);
  EXPECT_EQ(j.op, npu::Op::JMP);
  EXPECT_EQ(int64_t(2 + j.imm), int64_t(r.image.sections[0].words.size() - 1));
}

}  // namespace
