// The reference interpreter on its own: faults end a run with a located
// message and never crash, limits hold, and helper output is captured.
#include "compiler/bpf/program.h"
#include "compiler/bpf/ubpf_asm.h"
#include "sim/ref/vm.h"

#include <gtest/gtest.h>

#include <cstring>

namespace {

ref::RawResult run(const std::string& text, std::vector<uint8_t> mem = {}) {
  return ref::Interpreter::run_raw(bpf::assemble_ubpf(text), mem, 100000);
}

TEST(Ref, OutOfBoundsLoadIsALocatedError) {
  ref::RawResult r = run("mov %r0, 0\nldxw %r0, [%r1+6]\nexit\n", {1, 2, 3, 4, 5, 6, 7, 8});
  EXPECT_NE(r.error.find("insn 1: load of 4 bytes"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("r0 = *(u32 *)(r1 + 6)"), std::string::npos) << r.error;
}

TEST(Ref, StackBelowTheFramesFaults) {
  ref::RawResult r = run("stdw [%r10-4104], 1\nexit\n");
  EXPECT_NE(r.error.find("store of 8 bytes"), std::string::npos) << r.error;
}

TEST(Ref, RunawayLoopIsStopped) {
  ref::RawResult r = run("L:\nja L\n");
  EXPECT_NE(r.error.find("more than 100000 instructions"), std::string::npos) << r.error;
}

TEST(Ref, CallDepthIsLimitedToEightFrames) {
  ref::RawResult r = run("call local f\nexit\nf:\ncall local f\nexit\n");
  EXPECT_NE(r.error.find("call depth exceeds 8 frames"), std::string::npos) << r.error;
}

TEST(Ref, FallingOffTheEndFaults) {
  EXPECT_NE(run("mov %r0, 1\n").error.find("fell off the end"), std::string::npos);
}

TEST(Ref, FramePointerIsReadOnly) {
  EXPECT_NE(run("mov %r10, 1\nexit\n").error.find("frame pointer"), std::string::npos);
  EXPECT_NE(run("lddw %r10, 5\nexit\n").error.find("frame pointer"), std::string::npos);
  EXPECT_NE(
      run("stxdw [%r10-8], %r1\nlock fetch add [%r10-8], %r10\nexit\n").error.find("frame pointer"),
      std::string::npos);
}

TEST(Ref, AssemblerRefusesNumbersBeyond64Bits) {
  EXPECT_THROW(bpf::assemble_ubpf("lddw %r0, 99999999999999999999999\nexit\n"), bpf::AsmError);
}

// Random instruction words: every run ends, with a result or an error, and never crashes.
TEST(Ref, RandomProgramsNeverCrash) {
  uint64_t s = 0x1234567;
  auto next = [&s] {
    s ^= s << 13, s ^= s >> 7, s ^= s << 17;
    return s;
  };
  int errors = 0;
  for (int p = 0; p < 3000; ++p) {
    std::vector<bpf::Insn> insns(1 + next() % 24);
    for (bpf::Insn& in : insns) {
      uint64_t w = next();
      in = bpf::insn_from_u64(w);
      in.off = int16_t(int(in.off) % 8);  // mostly short jumps, so programs do run for a while
    }
    insns.back() = bpf::Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
    std::vector<uint8_t> mem(64, 0x5a);
    ref::RawResult r = ref::Interpreter::run_raw(insns, mem, 10000);
    errors += !r.error.empty();
  }
  EXPECT_GT(errors, 1000);  // most random words are invalid or stray: they must be reported
}

TEST(Ref, XdpPacketSizeLimits) {
  bpf::Object obj = bpf::load_object(std::string(DATA_DIR) + "/events.o");
  ref::Interpreter ip(obj);
  EXPECT_NE(ip.run_xdp(0, std::vector<uint8_t>(13)).error.find("13 bytes"), std::string::npos);
  EXPECT_EQ(ip.run_xdp(0, std::vector<uint8_t>(14)).error, "");
  EXPECT_EQ(ip.run_xdp(0, std::vector<uint8_t>(ref::kXdpFrameSize - ref::kXdpHeadroom -
                                               ref::kXdpTailroom))
                .error,
            "");
}

TEST(Ref, HelperOutputIsCaptured) {
  bpf::Object obj = bpf::load_object(std::string(DATA_DIR) + "/events.o");
  ref::Interpreter ip(obj);
  // An empty perf event array slot has no event to write to: -ENOENT, as in the kernel.
  ref::XdpResult r = ip.run_xdp(0, std::vector<uint8_t>(60, 0xee));
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.verdict, uint32_t(XDP_DROP));
  uint32_t cpu = 0, fd = 3;
  ASSERT_EQ(ip.map(obj.find_map("perf")).sys_update(&cpu, &fd, BPF_ANY), 0);
  r = ip.run_xdp(0, std::vector<uint8_t>(60, 0xee));
  EXPECT_EQ(r.verdict, uint32_t(XDP_PASS));
  std::vector<ref::Event>& ev = ip.events();
  ASSERT_EQ(ev.size(), 5u);  // printk, ringbuf (run 1); printk, ringbuf, perf (run 2)
  EXPECT_EQ(ev[0].kind, ref::Event::kTracePrintk);
  EXPECT_EQ(ev[0].text, "len 60 limit 7");
  EXPECT_EQ(ev[1].kind, ref::Event::kRingbuf);
  EXPECT_EQ(ev[1].data.size(), 8u);
  EXPECT_EQ(ev[4].kind, ref::Event::kPerfEvent);
  ASSERT_EQ(ev[4].data.size(), 12u);  // the record, then 4 packet bytes (BPF_F_CTXLEN)
  EXPECT_EQ(ev[4].data[8], 0xee);
}

TEST(Ref, RingbufFillsWithoutAConsumer) {
  bpf::Object obj = bpf::load_object(std::string(DATA_DIR) + "/events.o");
  ref::Interpreter ip(obj);
  // 4096 bytes would hold 256 records of 8 bytes plus an 8-byte header each, but the kernel
  // keeps the producer at most size - 1 ahead of the consumer: 255 fit.
  int accepted = 0;
  for (int i = 0; i < 300; ++i) {
    ip.run_xdp(0, std::vector<uint8_t>(60));
    accepted = 0;
    for (const ref::Event& e : ip.events()) accepted += e.kind == ref::Event::kRingbuf;
  }
  EXPECT_EQ(accepted, 255);
}

}  // namespace
