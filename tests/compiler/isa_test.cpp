// The ISA tables expanded from isa.def: consistency of the opcode map, the
// fields, the registers each instruction reads and writes, the CSR table, and
// the SystemVerilog package npu-isagen derives from the same table.
#include "compiler/npu/isa.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

using namespace npu;

namespace {

TEST(Isa, EveryOpcodeDecodesToItsInstruction) {
  unsigned sized = 0;
  for (unsigned code = 0; code < 256; ++code) {
    const OpcodeEntry& e = opcode_map()[code];
    Insn in;
    std::string why;
    if (!e.valid) {
      EXPECT_FALSE(decode(code, &in, &why)) << code;
      EXPECT_NE(why.find("undefined opcode"), std::string::npos);
      continue;
    }
    ASSERT_TRUE(decode(code, &in, &why)) << why;
    EXPECT_EQ(in.op, e.op);
    EXPECT_EQ(in.width, e.width);
    EXPECT_EQ(opcode_of(e.op, e.width), int(code));
    EXPECT_EQ(encode(in), uint64_t(code));
    sized += e.width != 0;
  }
  EXPECT_GT(sized, 40u);
}

TEST(Isa, InstructionFieldsBelongToTheirFormat) {
  for (unsigned i = 0; i < kNumOps; ++i) {
    const OpInfo& o = op_info(Op(i));
    EXPECT_EQ(o.fields & ~format_info(o.format).fields, 0u) << o.mnemonic;
    EXPECT_EQ(o.mask & 0xff, 0xffu);
    // A word with any bit outside the instruction's fields set is undefined.
    for (unsigned bit = 8; bit < 64; ++bit) {
      uint64_t w = uint64_t(o.opcode) | (uint64_t(1) << bit);
      Insn in;
      EXPECT_EQ(decode(w, &in), bool(o.mask >> bit & 1)) << o.mnemonic << " bit " << bit;
    }
  }
}

TEST(Isa, EncodeRefusesWhatDoesNotFit) {
  Insn in;
  in.op = Op::ADD;
  in.a = 32;
  EXPECT_THROW(encode(in), std::invalid_argument);
  in = Insn{};
  in.op = Op::BEQ;
  in.off = 8192;  // 14-bit signed
  EXPECT_THROW(encode(in), std::invalid_argument);
  in.off = -8192;
  EXPECT_NO_THROW(encode(in));
  in = Insn{};
  in.op = Op::LDP;
  in.width = 9;
  EXPECT_THROW(encode(in), std::invalid_argument);
  in.op = Op::LD;
  in.width = 3;  // generic loads have no 3-byte size
  EXPECT_THROW(encode(in), std::invalid_argument);
  in.op = Op::ADD;
  in.width = 4;
  EXPECT_THROW(encode(in), std::invalid_argument);
}

TEST(Isa, RegistersReadAndWritten) {
  Insn st;
  st.op = Op::ST;
  st.width = 8;
  st.a = 3;
  st.b = 4;
  EXPECT_EQ(regs_read(st), (1u << 3) | (1u << 4));
  EXPECT_EQ(regs_written(st), 0u);
  Insn lih;
  lih.op = Op::LIH;
  lih.a = 5;
  EXPECT_EQ(regs_read(lih), 1u << 5);  // keeps the low half
  EXPECT_EQ(regs_written(lih), 1u << 5);
  Insn rnd;
  rnd.op = Op::RAND;
  rnd.a = 7;
  EXPECT_EQ(regs_read(rnd), 0u);
  EXPECT_EQ(regs_written(rnd), 1u << 7);
  Insn cas;
  cas.op = Op::ACMPXCHG;
  cas.width = 8;
  cas.a = 1, cas.b = 2, cas.d = 3, cas.e = 4;
  EXPECT_EQ(regs_read(cas), 0b11100u);
  EXPECT_EQ(regs_written(cas), 0b10u);
}

TEST(Isa, CsrTable) {
  std::set<unsigned> numbers;
  std::set<std::string> names;
  for (const CsrInfo& c : csrs()) {
    EXPECT_TRUE(numbers.insert(c.number).second) << c.name;
    EXPECT_TRUE(names.insert(c.name).second) << c.name;
    EXPECT_EQ(csr_by_name(c.name), &c);
    EXPECT_EQ(csr_info(c.number), &c);
  }
  EXPECT_EQ(csr_by_name("nonesuch"), nullptr);
  EXPECT_FALSE(csr_by_name("tid")->writable);
  EXPECT_TRUE(csr_by_name("fvec")->writable);
}

TEST(Isa, FormatAndTargets) {
  Insn b;
  b.op = Op::BNEI;
  b.b = 2;
  b.imm = -1;
  b.off = -5;
  EXPECT_EQ(format_insn(b, 3), "bne r2, -1, -2");  // a target below 0 prints signed
  Insn l;
  l.op = Op::LDPB;
  l.width = 6;
  l.a = 1;
  l.b = 24;
  l.imm = 6;
  EXPECT_EQ(format_insn(l, 0), "ldpb.6 r1, [r24+6]");
  Insn c;
  c.op = Op::CSRW;
  c.b = 9;
  c.imm = int32_t(Csr::PKT_HI);
  EXPECT_EQ(format_insn(c, 0), "csrw pkt_hi, r9");
}

// The generated SystemVerilog package names every instruction and opcode.
TEST(Isa, SystemVerilogPackageCoversTheTable) {
  std::ifstream f(NPU_BINARY_DIR "/hw/generated/npu_isa_pkg.sv");
  ASSERT_TRUE(f) << "build the npu_isa_pkg target first";
  std::stringstream ss;
  ss << f.rdbuf();
  std::string sv = ss.str();
  EXPECT_NE(sv.find("`default_nettype none"), std::string::npos);
  for (unsigned i = 0; i < kNumOps; ++i)
    EXPECT_NE(sv.find(std::string("OP_") + op_info(Op(i)).id + " ="), std::string::npos)
        << op_info(Op(i)).id;
  unsigned cases = 0;
  for (size_t p = 0; (p = sv.find("8'h", p)) != std::string::npos; ++p) ++cases;
  unsigned valid = 0;
  for (const OpcodeEntry& e : opcode_map()) valid += e.valid;
  EXPECT_EQ(cases, valid);
}

}  // namespace
