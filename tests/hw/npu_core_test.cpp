// The RTL core (hw/npu_core.sv) against the ISS, instruction by instruction
// and cycle by cycle: random programs over the whole ALU, memory, engines,
// queues, faults and traps, with several threads swapping on stalls, under
// lockstep. SystemC allows one simulation a process, so every test reloads
// the same Lockstep device.
#include "firmware/abi.h"
#include "sim/iss/trace.h"
#include "sim/rtl/lockstep.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace {

using npu::Op;
using npu::Unit;
using npu::rtl::Lockstep;
using npu::rtl::LockstepError;

constexpr unsigned kThreads = 4;

npu::iss::MachineConfig config() {
  npu::iss::MachineConfig c;
  c.cores = 1;
  c.threads = kThreads;
  c.pkt_size = 1 << 16;
  c.cls_size = 1 << 18;
  c.emem_size = 1 << 16;
  return c;
}

// The process's one device (SystemC: one simulation a process), made by the
// first caller with its config; ctest runs every case in a process of its own.
bool made = false;
Lockstep& device(const npu::iss::MachineConfig& cfg = config()) {
  static Lockstep d(cfg);
  made = true;
  return d;
}

uint64_t enc(Op op, unsigned width, unsigned a, unsigned b, unsigned c, int32_t imm,
             int16_t off = 0, unsigned d = 0, unsigned e = 0) {
  npu::Insn in;
  in.op = op;
  in.width = uint8_t(width);
  in.a = uint8_t(a), in.b = uint8_t(b), in.c = uint8_t(c), in.d = uint8_t(d), in.e = uint8_t(e);
  in.imm = imm;
  in.off = off;
  return npu::encode(in);
}

// Registers of a generated program: r1-r15 data, r20 this thread's local
// memory, r21 its shared SRAM words, r22 its packet window, r25 scratch of
// the trap handler, r27 the length of checksums and hashes.
constexpr unsigned kLm = 20, kCls = 21, kPkt = 22;
constexpr int32_t kHandler = 2;  // the trap handler's first instruction

int32_t rnd_imm(std::mt19937_64& g) {
  switch (g() % 4) {
    case 0:
      return int32_t(g() % 64);
    case 1:
      return -int32_t(g() % 64);
    default:
      return int32_t(uint32_t(g()));
  }
}

// A random program every thread runs: `body` random instructions between a
// prologue (registers, windows, the trap vector) and an epilogue (registers
// stored, halt). Faults trap to a handler that resumes after the culprit.
std::vector<uint64_t> random_program(std::mt19937_64& g, size_t body) {
  std::vector<uint64_t> w;
  auto reg = [&] { return unsigned(1 + g() % 15); };
  w.push_back(enc(Op::JMP, 0, 0, 0, 0, 6));  // 0: over the handler
  w.push_back(enc(Op::NOP, 0, 0, 0, 0, 0));
  // 2: handler: resume at epc + 1.
  w.push_back(enc(Op::CSRR, 0, 25, 0, 0, int32_t(npu::Csr::EPC)));
  w.push_back(enc(Op::ADDI, 0, 25, 25, 0, 1));
  w.push_back(enc(Op::JR, 0, 0, 25, 0, 0));
  w.push_back(enc(Op::NOP, 0, 0, 0, 0, 0));
  // 6: prologue.
  w.push_back(enc(Op::LI, 0, 25, 0, 0, kHandler));
  w.push_back(enc(Op::CSRW, 0, 0, 25, 0, int32_t(npu::Csr::FVEC)));
  w.push_back(enc(Op::CSRR, 0, 23, 0, 0, int32_t(npu::Csr::TID)));
  w.push_back(enc(Op::LSHI, 0, kLm, 23, 0, 8));
  w.push_back(enc(Op::LI, 0, kCls, 0, 0, 0x20000));
  w.push_back(enc(Op::LIH, 0, kCls, 0, 0, int32_t(NPU_CLS_BASE >> 32)));
  w.push_back(enc(Op::ADD, 0, kCls, kCls, kLm, 0));
  w.push_back(enc(Op::LI, 0, kPkt, 0, 0, 0x100));
  w.push_back(enc(Op::LIH, 0, kPkt, 0, 0, int32_t(NPU_PKT_BASE >> 32)));
  w.push_back(enc(Op::ADD, 0, kPkt, kPkt, kLm, 0));
  w.push_back(enc(Op::CSRW, 0, 0, kPkt, 0, int32_t(npu::Csr::PKT_LO)));
  w.push_back(enc(Op::ADDI, 0, 24, kPkt, 0, 64));
  w.push_back(enc(Op::CSRW, 0, 0, 24, 0, int32_t(npu::Csr::PKT_HI)));
  w.push_back(enc(Op::LI, 0, 27, 0, 0, 64));
  for (unsigned r = 1; r <= 15; ++r) {
    w.push_back(enc(Op::LI, 0, r, 0, 0, rnd_imm(g)));
    if (g() % 2) w.push_back(enc(Op::LIH, 0, r, 0, 0, rnd_imm(g)));
    w.push_back(enc(Op::ADD, 0, r, r, 23, 0));
  }
  // The instructions of the ALU, multiplier and divider, by format.
  std::vector<Op> alu;
  for (unsigned i = 0; i < npu::kNumOps; ++i) {
    const npu::OpInfo& o = npu::op_info(Op(i));
    if (o.unit == Unit::ALU || o.unit == Unit::MUL || o.unit == Unit::DIV) alu.push_back(Op(i));
  }
  std::vector<Op> branches;
  for (unsigned i = 0; i < npu::kNumOps; ++i)
    if (npu::op_info(Op(i)).format == npu::Format::BRR ||
        npu::op_info(Op(i)).format == npu::Format::BRI)
      branches.push_back(Op(i));
  const unsigned sizes[] = {1, 2, 4, 8};
  for (size_t k = 0; k < body; ++k) {
    unsigned kind = unsigned(g() % 20);
    if (kind < 8) {
      Op op = alu[g() % alu.size()];
      w.push_back(enc(op, 0, reg(), reg(), reg(), rnd_imm(g)));
      // Only the fields the format has: encode() ignores the others.
    } else if (kind < 10) {
      unsigned sz = sizes[g() % 4];
      int32_t off = int32_t(8 * (g() % 16));
      if (g() % 2)
        w.push_back(enc(Op::ST, sz, reg(), kLm, 0, off));
      else if (g() % 3)
        w.push_back(enc(Op::LD, sz, reg(), kLm, 0, off));
      else
        w.push_back(enc(Op::LDS, sz == 8 ? 4 : sz, reg(), kLm, 0, off));
    } else if (kind < 11) {
      // Packet access, now and then outside the window (a trap).
      unsigned sz = 1 + unsigned(g() % 8);
      int32_t off = int32_t(g() % 72);
      Op op = std::vector<Op>{Op::LDP, Op::LDPB, Op::STP, Op::STPB}[g() % 4];
      w.push_back(enc(op, sz, reg(), kPkt, 0, off));
    } else if (kind < 13) {
      Op op = branches[g() % branches.size()];
      w.push_back(enc(op, 0, 0, reg(), reg(), rnd_imm(g), int16_t(2 + g() % 3)));
    } else if (kind < 14) {
      // Atomics on this thread's shared words.
      Op op = std::vector<Op>{Op::AADD, Op::AFADD, Op::AXCHG, Op::ACMPXCHG, Op::AFXOR}[g() % 5];
      w.push_back(
          enc(op, g() % 2 ? 4 : 8, reg(), kCls, 0, int32_t(8 * (g() % 4)), 0, reg(), reg()));
    } else if (kind < 15) {
      Op op = std::vector<Op>{Op::HASH, Op::RAND, Op::TIME, Op::CSUM}[g() % 4];
      if (op == Op::HASH || op == Op::CSUM)
        w.push_back(enc(op, 0, reg(), kLm, 27, 0, 0, reg()));  // 64 bytes of local memory
      else
        w.push_back(enc(op, 0, reg(), 0, 0, 0));
    } else if (kind < 16) {
      npu::Csr c = std::vector<npu::Csr>{npu::Csr::CYCLE, npu::Csr::INSTRET, npu::Csr::TID,
                                         npu::Csr::SCRATCH1}[g() % 4];
      w.push_back(enc(Op::CSRR, 0, reg(), 0, 0, int32_t(c)));
    } else if (kind < 17) {
      w.push_back(enc(g() % 2 ? Op::YIELD : Op::WAIT, 0, 0, 0, 0, 0));
    } else if (kind < 18) {
      // Queue 5: put an entry, take one (perhaps another thread's).
      w.push_back(enc(Op::QPUT, 0, 0, reg(), 0, 5));
      w.push_back(enc(Op::QGET, 0, reg(), 0, 0, 1 << 5));
    } else if (kind < 19) {
      // Faults the handler steps over: an undefined word, a read-only CSR.
      if (g() % 2)
        w.push_back(0xffull);
      else
        w.push_back(enc(Op::CSRW, 0, 0, reg(), 0, int32_t(npu::Csr::CYCLE)));
    } else {
      w.push_back(enc(Op::JAL, 0, 26, 0, 0, 2));
      w.push_back(enc(Op::NOP, 0, 0, 0, 0, 0));
    }
  }
  w.push_back(enc(Op::WAIT, 0, 0, 0, 0, 0));
  for (unsigned r = 1; r <= 15; ++r) w.push_back(enc(Op::ST, 8, r, kLm, 0, int32_t(8 * r)));
  w.push_back(enc(Op::HALT, 0, 0, 0, 0, 0));
  return w;
}

void random_rounds(Lockstep& d, uint64_t seed, int rounds) {
  std::mt19937_64 g(seed);
  for (int round = 0; round < rounds; ++round) {
    std::vector<uint64_t> prog = random_program(g, 120);
    d.load(prog, {});
    d.boot(0);
    uint64_t before = d.compared();
    try {
      EXPECT_EQ(d.run(2'000'000), npu::iss::Backend::Stop::kIdle) << "round " << round;
    } catch (const LockstepError& e) {
      FAIL() << "round " << round << ": " << e.what();
    }
    EXPECT_GT(d.compared(), before + 100) << "round " << round;
    // Both wrote the same registers to memory and have the same counters.
    for (unsigned t = 0; t < kThreads; ++t) {
      std::vector<uint8_t> lm(8 * 16);
      d.read(256 * t, lm.data(), lm.size());
    }
    d.counters(0);
  }
}

TEST(NpuCore, RandomProgramsAgreeWithTheIssEveryCycle) {
  random_rounds(device(), 20261123, 40);
}

// Another timing table: slower multiplier, dearer branches and swaps, a
// divider at its minimum; and three threads.
TEST(NpuCore, RandomProgramsAgreeUnderAnotherTimingTable) {
  if (made) GTEST_SKIP() << "the process already has a device: run this case alone (ctest does)";
  static npu::iss::MachineConfig cfg = config();
  cfg.threads = 3;
  cfg.timing.swap_cycles = 3;
  cfg.timing.branch_taken_cycles = 2;
  for (Op op : {Op::MUL, Op::MULI, Op::MULW, Op::MULWI}) cfg.timing.cycles[unsigned(op)] = 5;
  for (unsigned i = 0; i < npu::kNumOps; ++i)
    if (npu::op_info(Op(i)).unit == Unit::DIV) cfg.timing.cycles[i] = 10;
  cfg.timing.mem_latency[size_t(npu::iss::Region::LM)] = 3;
  random_rounds(device(cfg), 7, 15);
}

// A boot while an instruction still holds execute (a run stopped at its
// limit, as Device::reboot after a hang): the instruction's cycles pass, the
// restarted thread pays a swap, and a divide in flight writes nothing.
TEST(NpuCore, ABootWhileAnInstructionHoldsExecuteAgrees) {
  Lockstep& d = device();
  for (Op op : {Op::DIV, Op::MUL}) {
    d.load({enc(Op::LI, 0, 1, 0, 0, 100), enc(Op::LI, 0, 2, 0, 0, 7), enc(op, 0, 3, 1, 2, 0),
            enc(Op::JMP, 0, 0, 0, 0, -1), enc(Op::MOV, 0, 6, 3, 0, 0),
            enc(Op::ST, 8, 6, 0, 0, 0x40), enc(Op::HALT, 0, 0, 0, 0, 0)},
           {});
    d.boot(0);
    EXPECT_EQ(d.run(op == Op::DIV ? 30 : 20), npu::iss::Backend::Stop::kLimit);
    d.boot(4);
    try {
      EXPECT_EQ(d.run(10'000), npu::iss::Backend::Stop::kIdle);
    } catch (const LockstepError& e) {
      FAIL() << npu::op_info(op).mnemonic << ": " << e.what();
    }
    uint64_t r6 = 1;
    d.read(0x40, &r6, 8);  // compared on both sides
    EXPECT_EQ(r6, 0u) << "the restarted thread's r6 is its own";
  }
}

// A qget that finds its queues empty in the last cycle of a quantum: the
// thread sleeps in that cycle on both.
TEST(NpuCore, AQgetSleepingAtTheEndOfAQuantumIsIdleOnBoth) {
  Lockstep& d = device();
  for (int nops : {61, 62, 63}) {
    std::vector<uint64_t> prog(size_t(nops), enc(Op::NOP, 0, 0, 0, 0, 0));
    prog.push_back(enc(Op::QGET, 0, 1, 0, 0, 1 << 6));
    prog.push_back(enc(Op::HALT, 0, 0, 0, 0, 0));
    d.load(prog, {});
    d.boot(0);
    for (unsigned t = 1; t < kThreads; ++t) d.set_csr(0, t, npu::Csr::SCRATCH0, 0);
    try {
      EXPECT_EQ(d.run(10'000), npu::iss::Backend::Stop::kIdle) << nops;
    } catch (const LockstepError& e) {
      FAIL() << nops << " nops: " << e.what();
    }
  }
}

// Words that do not decode, all ones among them, fault on both.
TEST(NpuCore, UndefinedWordsFaultOnBoth) {
  Lockstep& d = device();
  d.load({~0ull, enc(Op::LI, 0, 1, 0, 0, 5), 0xffull, enc(Op::HALT, 0, 0, 0, 0, 0)}, {});
  d.boot(0);
  try {
    EXPECT_EQ(d.run(10'000), npu::iss::Backend::Stop::kIdle);
  } catch (const LockstepError& e) {
    FAIL() << e.what();
  }
  EXPECT_EQ(d.csr(0, 0, npu::Csr::CAUSE), 3u);  // ILLEGAL, with fvec 0: the thread stopped
  EXPECT_EQ(d.csr(0, 0, npu::Csr::CYCLE), d.cycle());
}

// The debug port reads what the thread would: zero after a start, and the
// value still in write-back.
TEST(NpuCore, DebugReadsSeeTheThreadsRegisters) {
  Lockstep& d = device();
  d.load({enc(Op::LI, 0, 7, 0, 0, 0x1234), enc(Op::HALT, 0, 0, 0, 0, 0)}, {});
  d.boot(0);
  d.run(10'000);
  d.load({enc(Op::NOP, 0, 0, 0, 0, 0), enc(Op::NOP, 0, 0, 0, 0, 0), enc(Op::LI, 0, 8, 0, 0, 0x77),
          enc(Op::HALT, 0, 0, 0, 0, 0)},
         {});
  d.boot(0);
  d.run(4);  // the first thread's li issues in the last of these cycles
  const unsigned t = d.iss().core(0).current();
  std::vector<uint64_t> r = d.rtl().registers(0, t);
  EXPECT_EQ(r[7], 0u) << "cleared by the start";
  EXPECT_EQ(r[8], d.iss().core(0).thread(t).r[8]);
  EXPECT_EQ(r[8], 0x77u);
}

TEST(NpuCore, LockstepComparesOneCoreAndTimingsTheRtlCannotRunAreRefused) {
  npu::iss::MachineConfig two = config();
  two.cores = 2;
  try {
    Lockstep l(two);
    FAIL() << "two cores accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("lockstep compares one core"), std::string::npos);
  }
  npu::iss::Timing t;
  t.swap_cycles = 300;
  EXPECT_EQ(npu::rtl::unsupported_timing(t),
            "swap_cycles 300, branch_taken_cycles 1: the RTL core takes at most 255");
  t = npu::iss::Timing{};
  t.cycles[unsigned(Op::SDIVW)] = 9;
  EXPECT_EQ(npu::rtl::unsupported_timing(t), "sdivw: 9 cycles, the RTL divider needs at least 10");
  EXPECT_EQ(npu::rtl::unsupported_timing(npu::iss::Timing{}), "");
}

TEST(NpuCore, ADifferenceInMemoryStopsTheRunAtTheFirstDivergentInstruction) {
  Lockstep& d = device();
  std::vector<uint64_t> prog = {
      enc(Op::LI, 0, 1, 0, 0, 0x100),  // 0
      enc(Op::LD, 8, 2, 1, 0, 0),      // 1: differs
      enc(Op::ADDI, 0, 3, 2, 0, 1),    // 2
      enc(Op::HALT, 0, 0, 0, 0, 0),    // 3
  };
  d.load(prog, {});
  uint64_t a = 7, b = 9;
  d.iss().write(0x100, &a, 8);
  d.rtl().write(0x100, &b, 8);
  d.boot(0);
  try {
    d.run(100'000);
    FAIL() << "no divergence found";
  } catch (const LockstepError& e) {
    std::string s = e.what();
    EXPECT_NE(s.find("core 0 thread 0"), std::string::npos) << s;
    EXPECT_NE(s.find("ld.8 r2, [r1]"), std::string::npos) << s;
    EXPECT_NE(s.find("r2=0x7"), std::string::npos) << s;
    EXPECT_NE(s.find("r2=0x9"), std::string::npos) << s;
    EXPECT_NE(s.find("RTL registers"), std::string::npos) << s;
  }
  // The device is usable again after a reload.
  d.load({enc(Op::HALT, 0, 0, 0, 0, 0)}, {});
  uint64_t z = 0;
  d.iss().write(0x100, &z, 8);
  d.rtl().write(0x100, &z, 8);
  d.boot(0);
  EXPECT_EQ(d.run(10'000), npu::iss::Backend::Stop::kIdle);
}

// --trace-rtl: FST waveforms of the core (GTKWave reads them).
TEST(NpuCore, WritesFstWaveformsOnRequest) {
  Lockstep& d = device();
  const std::string path = testing::TempDir() + "npu_core_test.fst";
  d.rtl().trace_to(path);
  d.load({enc(Op::LI, 0, 1, 0, 0, 5), enc(Op::MUL, 0, 2, 1, 1, 0), enc(Op::HALT, 0, 0, 0, 0, 0)},
         {});
  d.boot(0);
  EXPECT_EQ(d.run(10'000), npu::iss::Backend::Stop::kIdle);
  d.rtl().close_trace();
  std::FILE* f = std::fopen(path.c_str(), "rb");
  ASSERT_NE(f, nullptr) << path;
  uint8_t head[8] = {0xff};
  size_t n = std::fread(head, 1, sizeof head, f);
  std::fseek(f, 0, SEEK_END);
  long size = std::ftell(f);
  std::fclose(f);
  EXPECT_EQ(n, sizeof head);
  EXPECT_EQ(head[0], 0) << "an FST file starts with its header block (type 0)";
  EXPECT_GT(size, 1000);
  std::remove(path.c_str());
}

}  // namespace
