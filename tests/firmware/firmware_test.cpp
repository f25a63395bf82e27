// The firmware on the ISS: packets through hand-written programs (every verdict,
// faults, every helper, maps from programs, tail calls) and host control
// messages (every type, checked against the reference interpreter's maps, and
// malformed ones, which must get an error and change nothing).
#include "compiler/npu/asm.h"
#include "driver/cmsg.h"
#include "firmware/abi.h"
#include "sim/iss/image_load.h"
#include "sim/iss/machine.h"
#include "sim/ref/csum.h"
#include "sim/ref/maps.h"

#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <random>
#include <set>

using namespace npu;
using namespace npu::iss;
using npu::driver::CmsgReply;

namespace {

const Image& firmware_image() {
  static const Image img = assemble_files(
      {NPU_SOURCE_DIR "/firmware/firmware.S", NPU_SOURCE_DIR "/tests/firmware/data/progs.s"});
  return img;
}

uint64_t cls(uint64_t off) {
  return NPU_CLS_BASE + off;
}
uint64_t frame(unsigned i) {
  return NPU_PKT_BASE + uint64_t(i) * NPU_FRAME_SIZE;
}

struct Out {
  uint32_t verdict = 0, target = 0;
  std::vector<uint8_t> pkt, meta;
  uint64_t addr = 0;
};

class FirmwareTest : public ::testing::Test {
 protected:
  void SetUp() override { make(4); }

  void make(unsigned threads, unsigned cores = 1, const Timing& timing = Timing()) {
    MachineConfig cfg;
    cfg.threads = threads;
    cfg.cores = cores;
    cfg.timing = timing;
    m_ = std::make_unique<Machine>(cfg);
    load_image(*m_, firmware_image());
    m_->boot(symbol_value(firmware_image(), "_start"));
    slots_.clear();
  }

  // The program slot of a program label, filled in the program table on first use.
  uint32_t slot(const std::string& prog) {
    auto it = slots_.find(prog);
    if (it != slots_.end()) return it->second;
    uint32_t s = uint32_t(slots_.size()) + 1;  // slot 0 stays empty
    uint64_t pc = symbol_value(firmware_image(), prog);
    m_->write(cls(NPU_CLS_PROGS) + 8 * s, &pc, 8);
    slots_[prog] = s;
    return s;
  }

  void inject(unsigned i, uint32_t prog_slot, const std::vector<uint8_t>& pkt) {
    std::vector<uint8_t> zero(NPU_FRAME_SIZE, 0);
    m_->write(frame(i), zero.data(), zero.size());
    npu_pkt_desc d{};
    d.data = frame(i) + NPU_HEADROOM;
    d.data_end = d.data + pkt.size();
    d.data_meta = d.data;
    d.ifindex = 1;
    d.prog = prog_slot;
    d.target = 0xdeadbeef;  // the firmware must not leave this for a verdict to pick up
    m_->write(frame(i), &d, sizeof d);
    m_->write(d.data, pkt.data(), pkt.size());
    m_->queues().push(NPU_Q_RX, (uint64_t(NPU_QE_PKT) << NPU_QE_KIND_SHIFT) | frame(i));
  }

  Out collect(uint64_t e) {
    Out o;
    o.addr = e;
    npu_pkt_desc d;
    m_->read(e, &d, sizeof d);
    o.verdict = d.prog;
    o.target = d.target;
    EXPECT_LE(d.data_meta, d.data);
    EXPECT_LE(d.data, d.data_end);
    o.meta = m_->read(d.data_meta, d.data - d.data_meta);
    o.pkt = m_->read(d.data, d.data_end - d.data);
    return o;
  }

  void run() {
    ASSERT_EQ(m_->run(50'000'000), Machine::Stop::kIdle) << "the firmware did not settle";
  }

  Out packet(const std::string& prog, const std::vector<uint8_t>& pkt) {
    inject(0, slot(prog), pkt);
    run();
    uint64_t e;
    EXPECT_TRUE(m_->queues().pop(1u << NPU_Q_TX, &e)) << "no descriptor on TX";
    EXPECT_EQ(m_->queues().size(NPU_Q_TX), 0u);
    return collect(e);
  }

  CmsgReply ctrl(const std::vector<uint8_t>& msg, unsigned buf = 0) {
    uint64_t addr = cls(NPU_CLS_CTRL_BUFS) + uint64_t(buf) * NPU_CTRL_BUF_SIZE;
    m_->write(addr, msg.data(), msg.size());
    m_->queues().push(NPU_Q_CTRL, (uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT) | addr);
    run();
    uint64_t e = 0;
    EXPECT_TRUE(m_->queues().pop(1u << NPU_Q_REPLY, &e)) << "no reply";
    EXPECT_EQ(e, addr);
    std::vector<uint8_t> buf_bytes = m_->read(addr, NPU_CTRL_BUF_SIZE);
    CmsgReply r;
    std::string why;
    uint16_t seq;
    std::memcpy(&seq, msg.data() + NPU_CMSG_SEQ, 2);
    EXPECT_TRUE(npu::driver::parse_reply(buf_bytes.data(), buf_bytes.size(), msg[0], seq, &r, &why))
        << why;
    return r;
  }

  uint32_t alloc(uint32_t type, uint32_t key, uint32_t value, uint32_t max, uint32_t flags = 0) {
    npu_map_def d{type, key, value, max, flags, 0};
    CmsgReply r = ctrl(npu::driver::cmsg_map_alloc(seq_++, d));
    EXPECT_EQ(r.err, 0);
    return r.result;
  }

  int update(uint32_t id, std::vector<uint8_t> key, std::vector<uint8_t> value,
             uint64_t flags = 0) {
    return ctrl(npu::driver::cmsg_map_update(seq_++, id, flags, key, value)).err;
  }

  uint64_t counter(unsigned i) { return m_->read64(cls(NPU_CLS_COUNTERS) + 8 * i); }

  // Everything a host could see of the maps, and the firmware's table.
  std::vector<uint8_t> map_state() {
    std::vector<uint8_t> s = m_->read(cls(NPU_CLS_MAPS), NPU_MAX_MAPS * NPU_MAPDEF_SIZE);
    for (uint32_t id : m_->engines().map_ids())
      for (const ref::MapEntry& e : ref::dump(*m_->engines().map(id))) {
        s.insert(s.end(), e.key.begin(), e.key.end());
        s.insert(s.end(), e.value.begin(), e.value.end());
      }
    return s;
  }

  std::unique_ptr<Machine> m_;
  std::map<std::string, uint32_t> slots_;
  uint16_t seq_ = 1;
};

std::vector<uint8_t> bytes(size_t n, uint8_t first = 0) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = uint8_t(first + i);
  return v;
}

template <typename T>
std::vector<uint8_t> le(T v) {
  std::vector<uint8_t> b(sizeof v);
  std::memcpy(b.data(), &v, sizeof v);
  return b;
}

// ---- packets ----

TEST_F(FirmwareTest, VerdictsAndCounters) {
  std::vector<uint8_t> p = bytes(64);
  EXPECT_EQ(packet("prog_drop", p).verdict, uint32_t(XDP_DROP));
  Out o = packet("prog_pass", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(o.pkt, p);
  EXPECT_EQ(packet("prog_wide_verdict", p).verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(packet("prog_bad_verdict", p).verdict, uint32_t(NPU_VERDICT_BAD));
  EXPECT_EQ(counter(NPU_CNT_DROP), 1u);
  EXPECT_EQ(counter(NPU_CNT_PASS), 2u);
  EXPECT_EQ(counter(NPU_CNT_ABORTED), 1u);
  EXPECT_EQ(counter(NPU_CNT_BAD_VERDICT), 1u);
}

TEST_F(FirmwareTest, SwapMacTransmits) {
  std::vector<uint8_t> p = bytes(60);
  Out o = packet("prog_swap_mac", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_TX));
  std::vector<uint8_t> want = p;
  std::swap_ranges(want.begin(), want.begin() + 6, want.begin() + 6);
  EXPECT_EQ(o.pkt, want);
}

TEST_F(FirmwareTest, FaultsAbortThePacketAndTheLoopGoesOn) {
  std::vector<uint8_t> p = bytes(64);
  Out o = packet("prog_oob", p);
  EXPECT_EQ(o.verdict, uint32_t(NPU_VERDICT_FAULT | uint32_t(Fault::PKT_BOUNDS)));
  EXPECT_EQ(o.pkt, p);
  o = packet("prog_oob_store", p);
  EXPECT_EQ(o.verdict, uint32_t(NPU_VERDICT_FAULT | uint32_t(Fault::PKT_BOUNDS)));
  std::vector<uint8_t> before = m_->read(frame(0) + NPU_HEADROOM - 1, 1);
  EXPECT_EQ(before[0], 0);  // nothing written before data
  o = packet("prog_mem_fault", p);
  EXPECT_EQ(o.verdict, uint32_t(NPU_VERDICT_FAULT | uint32_t(Fault::MEM)));
  EXPECT_EQ(counter(NPU_CNT_FAULT), 3u);
  EXPECT_EQ(counter(NPU_CNT_ABORTED), 3u);
  EXPECT_EQ(packet("prog_pass", p).verdict, uint32_t(XDP_PASS));
}

TEST_F(FirmwareTest, MissingProgramIsCounted) {
  inject(0, 60, bytes(64));    // an empty slot
  inject(1, 1000, bytes(64));  // no such slot
  run();
  for (int i = 0; i < 2; ++i) {
    uint64_t e;
    ASSERT_TRUE(m_->queues().pop(1u << NPU_Q_TX, &e));
    EXPECT_EQ(collect(e).verdict, uint32_t(NPU_VERDICT_NOPROG));
  }
  EXPECT_EQ(counter(NPU_CNT_NOPROG), 2u);
}

TEST_F(FirmwareTest, AdjustHead) {
  std::vector<uint8_t> p = bytes(64);
  Out o = packet("prog_push4", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  std::vector<uint8_t> want = {0xde, 0xad, 0xbe, 0xef};
  want.insert(want.end(), p.begin(), p.end());
  EXPECT_EQ(o.pkt, want);
  o = packet("prog_pull14", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(o.pkt, std::vector<uint8_t>(p.begin() + 14, p.end()));
  o = packet("prog_head_einval", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  EXPECT_EQ(o.pkt.size(), p.size());
  EXPECT_EQ(std::vector<uint8_t>(o.pkt.begin(), o.pkt.begin() + 4), le<int32_t>(-EINVAL));
  // At least 14 bytes must remain (ETH_HLEN); fewer: -EINVAL, nothing moves.
  o = packet("prog_pull14", bytes(28));
  EXPECT_EQ(o.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(o.pkt.size(), 14u);
  o = packet("prog_pull14", bytes(27));
  EXPECT_EQ(o.verdict, uint32_t(XDP_DROP));
  EXPECT_EQ(o.pkt, bytes(27));
}

TEST_F(FirmwareTest, AdjustMetaAndHeadMovesMetadata) {
  std::vector<uint8_t> p = bytes(64);
  Out o = packet("prog_meta8", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(o.meta, (std::vector<uint8_t>{8, 7, 6, 5, 4, 3, 2, 1}));
  EXPECT_EQ(o.pkt, p);
  o = packet("prog_meta_eacces", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  EXPECT_EQ(std::vector<uint8_t>(o.pkt.begin(), o.pkt.begin() + 4), le<int32_t>(-EACCES));
  EXPECT_TRUE(o.meta.empty());
}

TEST_F(FirmwareTest, AdjustTail) {
  std::vector<uint8_t> p = bytes(64, 1);
  // Dirty the bytes after the packet: growing must read them as zero.
  inject(0, slot("prog_grow10"), p);
  std::vector<uint8_t> junk(32, 0xaa);
  m_->write(frame(0) + NPU_HEADROOM + p.size(), junk.data(), junk.size());
  run();
  uint64_t e;
  ASSERT_TRUE(m_->queues().pop(1u << NPU_Q_TX, &e));
  Out o = collect(e);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  std::vector<uint8_t> want = p;
  want.resize(p.size() + 10, 0);
  EXPECT_EQ(o.pkt, want);
  o = packet("prog_trim20", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  EXPECT_EQ(o.pkt, std::vector<uint8_t>(p.begin(), p.begin() + 20));
  // Growing past the tailroom: the largest packet that fits is frame - headroom - tailroom.
  o = packet("prog_grow10", bytes(NPU_FRAME_SIZE - NPU_HEADROOM - NPU_TAILROOM - 5));
  EXPECT_EQ(o.verdict, uint32_t(XDP_DROP));
}

TEST_F(FirmwareTest, Redirect) {
  Out o = packet("prog_redirect7", bytes(64));
  EXPECT_EQ(o.verdict, uint32_t(XDP_REDIRECT));
  EXPECT_EQ(o.target, 7u);
  EXPECT_EQ(packet("prog_redirect_flags", bytes(64)).verdict, uint32_t(XDP_ABORTED));
  EXPECT_EQ(counter(NPU_CNT_REDIRECT), 1u);
}

TEST_F(FirmwareTest, RedirectMap) {
  for (uint32_t id = 1; id <= 3; ++id) alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  uint32_t ports = alloc(BPF_MAP_TYPE_DEVMAP, 4, 4, 8);
  ASSERT_EQ(ports, 4u);
  ASSERT_EQ(update(ports, le<uint32_t>(2), le<uint32_t>(42)), 0);
  std::vector<uint8_t> p = bytes(64);
  p[0] = 2;
  Out o = packet("prog_redirect_map", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_REDIRECT));
  EXPECT_EQ(o.target, 42u);
  p[0] = 3;  // no port: the flags' action, XDP_PASS
  o = packet("prog_redirect_map", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(o.target, 0u);
}

TEST_F(FirmwareTest, CsumDiffAsLinux) {
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::vector<uint8_t> p(64);
    for (uint8_t& b : p) b = uint8_t(rng());
    Out o = packet("prog_csum", p);
    ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
    uint32_t seed;
    std::memcpy(&seed, p.data() + 12, 4);
    // bpf_csum_diff of Linux 6.13+, from the reference interpreter's primitives.
    uint32_t r =
        ref::csum_add(ref::csum_partial(p.data() + 4, 8, seed), ~ref::csum_partial(p.data(), 4, 0));
    r = (r & 0xffff) + (r >> 16);
    r = (r & 0xffff) + (r >> 16);
    uint32_t got;
    std::memcpy(&got, o.pkt.data() + 16, 4);
    EXPECT_EQ(got, r) << "round " << round;
  }
}

TEST_F(FirmwareTest, ProgramsUseMaps) {
  uint32_t counters = alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  uint32_t flows = alloc(BPF_MAP_TYPE_HASH, 4, 8, 16);
  ASSERT_EQ(counters, 1u);
  ASSERT_EQ(flows, 2u);
  // 64 packets over four threads at once.
  for (unsigned i = 0; i < 64; ++i) {
    std::vector<uint8_t> p = bytes(64);
    p[0] = uint8_t(i % 5);  // index 4 is out of range: dropped
    inject(i, slot("prog_count"), p);
  }
  run();
  unsigned pass = 0, drop = 0;
  for (uint64_t e; m_->queues().pop(1u << NPU_Q_TX, &e);) {
    uint32_t v = collect(e).verdict;
    pass += v == XDP_PASS;
    drop += v == XDP_DROP;
  }
  EXPECT_EQ(pass + drop, 64u);
  EXPECT_EQ(drop, 12u);
  for (uint32_t k = 0; k < 4; ++k) {
    CmsgReply r = ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, seq_++, counters, 0, le(k)));
    ASSERT_EQ(r.err, 0);
    EXPECT_EQ(r.payload, le<uint64_t>(13)) << "key " << k;
  }
  // A hash update from the program, BPF_ANY, then read back from the host.
  std::vector<uint8_t> p = bytes(100);
  Out o = packet("prog_flow", p);
  ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
  EXPECT_EQ(std::vector<uint8_t>(o.pkt.begin() + 4, o.pkt.begin() + 8), le<int32_t>(0));
  CmsgReply r = ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, seq_++, flows, 0,
                                              std::vector<uint8_t>(p.begin(), p.begin() + 4)));
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(r.payload, le<uint64_t>(100));
}

TEST_F(FirmwareTest, TailCalls) {
  for (int i = 0; i < 2; ++i) alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  uint32_t jumps = alloc(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  ASSERT_EQ(jumps, 3u);
  ASSERT_EQ(update(jumps, le<uint32_t>(1), le<uint32_t>(slot("prog_swap_mac"))), 0);
  std::vector<uint8_t> p = bytes(64);
  p[0] = 1;
  Out o = packet("prog_tail", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_TX));  // swap_mac ran
  p[0] = 2;                                // empty slot: the caller goes on
  EXPECT_EQ(packet("prog_tail", p).verdict, uint32_t(XDP_DROP));
  p[0] = 9;  // out of range
  EXPECT_EQ(packet("prog_tail", p).verdict, uint32_t(XDP_DROP));
  // 33 tail calls succeed, the 34th does not: the body ran 34 times.
  ASSERT_EQ(update(jumps, le<uint32_t>(0), le<uint32_t>(slot("prog_tail_loop"))), 0);
  p.assign(64, 0);
  o = packet("prog_tail_loop", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_DROP));
  EXPECT_EQ(o.pkt[1], 34);
}

TEST_F(FirmwareTest, DeterministicAcrossRuns) {
  auto once = [&] {
    make(4);
    for (unsigned i = 0; i < 16; ++i)
      inject(i, slot(i % 2 ? "prog_swap_mac" : "prog_push4"), bytes(80, uint8_t(i)));
    run();
    return std::make_pair(m_->core(0).cycle(), m_->core(0).instret());
  };
  auto a = once(), b = once();
  EXPECT_EQ(a, b);
  EXPECT_GT(a.second, 16u * 8);
}

TEST_F(FirmwareTest, BadDescriptorIsDroppedAndCounted) {
  // An RX entry naming memory that does not exist, then one in read-only map memory.
  m_->queues().push(NPU_Q_RX, (uint64_t(NPU_QE_PKT) << NPU_QE_KIND_SHIFT) | 0x700000000000ull);
  run();
  EXPECT_EQ(m_->queues().size(NPU_Q_TX), 0u);
  EXPECT_EQ(counter(NPU_CNT_BAD_DESC), 1u);
  EXPECT_EQ(counter(NPU_CNT_FAULT), 0u);
  EXPECT_EQ(packet("prog_pass", bytes(64)).verdict, uint32_t(XDP_PASS));  // still serving
}

TEST_F(FirmwareTest, RedirectMapEdges) {
  for (uint32_t id = 1; id <= 3; ++id) alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  uint32_t ports = alloc(BPF_MAP_TYPE_DEVMAP, 4, 4, 8);
  ASSERT_EQ(update(ports, le<uint32_t>(1), le<uint32_t>(42)), 0);
  // A miss keeps the target of an earlier bpf_redirect (the kernel's tgt_index).
  std::vector<uint8_t> p = bytes(64);
  p[0] = 6;
  Out o = packet("prog_redirect_then_map", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_REDIRECT));
  EXPECT_EQ(o.target, 5u);
  p[0] = 1;  // a hit replaces it
  o = packet("prog_redirect_then_map", p);
  EXPECT_EQ(o.target, 42u);
  // Flags outside the action bits and broadcast/exclude-ingress abort; a map
  // that does not exist misses.
  p = bytes(64);
  p[0] = 1, p[1] = 0x20, p[2] = uint8_t(ports);
  EXPECT_EQ(packet("prog_redirect_map_any", p).verdict, uint32_t(XDP_ABORTED));
  p[1] = XDP_TX, p[2] = 9;
  o = packet("prog_redirect_map_any", p);
  EXPECT_EQ(o.verdict, uint32_t(XDP_TX));
  EXPECT_EQ(o.target, 0u);
}

TEST_F(FirmwareTest, CsumDiffEveryShape) {
  std::mt19937 rng(11);
  const std::pair<uint8_t, uint8_t> sizes[] = {{4, 8}, {0, 8},  {8, 0}, {0, 0},
                                               {3, 5}, {16, 1}, {7, 16}};
  for (auto [from, to] : sizes)
    for (int round = 0; round < 4; ++round) {
      std::vector<uint8_t> p(80);
      for (uint8_t& b : p) b = uint8_t(rng());
      p[60] = from, p[61] = to;
      Out o = packet("prog_csum_any", p);
      ASSERT_EQ(o.verdict, uint32_t(XDP_TX));
      uint32_t ret;
      std::memcpy(&ret, p.data() + 56, 4);
      // bpf_csum_diff of Linux 6.13+.
      if (from && to)
        ret = ref::csum_add(ref::csum_partial(p.data() + 16, to, ret),
                            ~ref::csum_partial(p.data(), from, 0));
      else if (to)
        ret = ref::csum_partial(p.data() + 16, to, ret);
      else if (from)
        ret = ~ref::csum_partial(p.data(), from, ~ret);
      ret = (ret & 0xffff) + (ret >> 16);
      ret = (ret & 0xffff) + (ret >> 16);
      uint32_t got;
      std::memcpy(&got, o.pkt.data() + 64, 4);
      EXPECT_EQ(got, ret) << "from " << int(from) << " to " << int(to);
    }
}

TEST_F(FirmwareTest, AdjustMetaAndTailLimits) {
  auto meta = [&](int16_t delta) {
    std::vector<uint8_t> p = bytes(64);
    std::memcpy(p.data(), &delta, 2);
    Out o = packet("prog_meta_any", p);
    EXPECT_EQ(o.verdict, uint32_t(XDP_TX));
    int32_t r;
    std::memcpy(&r, o.pkt.data() + 4, 4);
    return r;
  };
  // The headroom bounds it before the 255-byte rule can: up to the descriptor's end.
  EXPECT_EQ(meta(-(NPU_HEADROOM - NPU_DESC_SIZE)), 0);
  EXPECT_EQ(meta(-(NPU_HEADROOM - NPU_DESC_SIZE) - 4), -EINVAL);  // into the descriptor
  EXPECT_EQ(meta(-6), -EACCES);                                   // not a multiple of 4
  EXPECT_EQ(meta(4), -EINVAL);                                    // past data
  EXPECT_EQ(packet("prog_trim10", bytes(64)).verdict, uint32_t(XDP_DROP));
}

TEST_F(FirmwareTest, AdjustHeadMovesMetadataBothWays) {
  for (int16_t delta : {-6, -16, 6, 20}) {
    std::vector<uint8_t> p = bytes(64);
    std::memcpy(p.data(), &delta, 2);
    Out o = packet("prog_meta_then_head", p);
    ASSERT_EQ(o.verdict, uint32_t(XDP_PASS)) << delta;
    EXPECT_EQ(o.meta, (std::vector<uint8_t>{0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11}))
        << delta;
    if (delta > 0)
      EXPECT_EQ(o.pkt, std::vector<uint8_t>(p.begin() + delta, p.end())) << delta;
    else
      EXPECT_EQ(std::vector<uint8_t>(o.pkt.begin() - delta, o.pkt.end()), p) << delta;
  }
}

TEST_F(FirmwareTest, HelpersKeepTheirPromisedRegisters) {
  for (uint32_t id = 1; id <= 2; ++id) alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  alloc(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  uint32_t ports = alloc(BPF_MAP_TYPE_DEVMAP, 4, 4, 8);
  ASSERT_EQ(update(ports, le<uint32_t>(0), le<uint32_t>(9)), 0);
  EXPECT_EQ(packet("prog_keeps_regs", bytes(64)).verdict, uint32_t(XDP_PASS));
}

// Two cores of two threads: packets and control messages at once.
TEST_F(FirmwareTest, SeveralCoresShareTheWork) {
  make(2, 2);
  uint32_t counters = alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
  ASSERT_EQ(counters, 1u);
  for (unsigned i = 0; i < 40; ++i) {
    std::vector<uint8_t> p = bytes(64);
    p[0] = uint8_t(i % 4);
    inject(i, slot("prog_count"), p);
  }
  // Control messages in two buffers, queued among the packets.
  std::vector<uint8_t> upd =
      npu::driver::cmsg_map_update(90, counters, 0, le<uint32_t>(3), le<uint64_t>(1000));
  std::vector<uint8_t> look =
      npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 91, counters, 0, le<uint32_t>(0));
  uint64_t b0 = cls(NPU_CLS_CTRL_BUFS), b1 = b0 + NPU_CTRL_BUF_SIZE;
  m_->write(b0, upd.data(), upd.size());
  m_->write(b1, look.data(), look.size());
  m_->queues().push(NPU_Q_CTRL, (uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT) | b0);
  m_->queues().push(NPU_Q_CTRL, (uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT) | b1);
  run();
  EXPECT_EQ(m_->queues().size(NPU_Q_TX), 40u);
  EXPECT_EQ(m_->queues().size(NPU_Q_REPLY), 2u);
  for (uint64_t e; m_->queues().pop(1u << NPU_Q_REPLY, &e);) {
  }
  EXPECT_GT(m_->core(0).instret(), 0u);
  EXPECT_GT(m_->core(1).instret(), 0u);
  // Key 3 got 10 increments, before or after the host's write of 1000.
  CmsgReply r =
      ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 92, counters, 0, le<uint32_t>(3)), 2);
  ASSERT_EQ(r.err, 0);
  uint64_t v;
  std::memcpy(&v, r.payload.data(), 8);
  EXPECT_TRUE(v == 1000 || v == 1010) << v;
  r = ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 93, counters, 0, le<uint32_t>(1)), 2);
  std::memcpy(&v, r.payload.data(), 8);
  EXPECT_EQ(v, 10u);
}

// Functional results never depend on timing: the same packets through the same
// programs on machines of other shapes and latencies give the same bytes,
// verdicts and map contents (the order in which frames finish may differ).
TEST_F(FirmwareTest, ResultsDoNotDependOnTiming) {
  Timing slow = Timing::from_yaml_text(
      "swap_cycles: 0\nbranch_taken_cycles: 7\ncycles: {add: 3, ldp: 5}\n"
      "memory: {lm: 9, pkt: 300, cls: 1000, emem: 5000, map: 77}\n"
      "engines: {atomic: 900, map: 1, csum: 1, csum_per_8b: 50, queue: 1}\n");
  Timing fast = Timing::from_yaml_text(
      "swap_cycles: 0\nbranch_taken_cycles: 0\nmemory: {lm: 1, pkt: 1, cls: 1, emem: 1, map: 1}\n"
      "engines: {atomic: 1, map: 1, csum: 1, csum_per_8b: 0, hash: 1, rand: 1, time: 1, queue: "
      "1}\n");
  struct Shape {
    unsigned threads, cores;
    Timing timing;
  };
  std::vector<Shape> shapes = {{4, 1, Timing()}, {1, 1, fast}, {8, 3, slow}, {2, 2, fast}};
  std::vector<std::map<uint64_t, std::pair<uint32_t, std::vector<uint8_t>>>> outs;
  // Map contents as sets: a hash map's iteration order follows insertion order,
  // which does depend on which thread got there first.
  std::vector<std::set<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>> maps;
  const char* progs[] = {"prog_swap_mac", "prog_count", "prog_push4", "prog_csum", "prog_flow"};
  for (const Shape& sh : shapes) {
    make(sh.threads, sh.cores, sh.timing);
    alloc(BPF_MAP_TYPE_ARRAY, 4, 8, 4);
    alloc(BPF_MAP_TYPE_HASH, 4, 8, 64);
    std::mt19937 rng(5);
    for (unsigned i = 0; i < 40; ++i) {
      std::vector<uint8_t> p(60 + rng() % 40);
      for (uint8_t& b : p) b = uint8_t(rng());
      p[0] %= 5;
      inject(i, slot(progs[i % 5]), p);
    }
    run();
    std::map<uint64_t, std::pair<uint32_t, std::vector<uint8_t>>> out;
    for (uint64_t e; m_->queues().pop(1u << NPU_Q_TX, &e);) {
      Out o = collect(e);
      out[e] = {o.verdict, o.pkt};
    }
    EXPECT_EQ(out.size(), 40u);
    outs.push_back(out);
    std::set<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>> entries;
    for (uint32_t id : m_->engines().map_ids())
      for (const ref::MapEntry& e : ref::dump(*m_->engines().map(id))) {
        std::vector<uint8_t> k = le(id);
        k.insert(k.end(), e.key.begin(), e.key.end());
        entries.insert({k, e.value});
      }
    EXPECT_GT(entries.size(), 10u);
    maps.push_back(entries);
  }
  for (size_t i = 1; i < outs.size(); ++i) {
    EXPECT_EQ(outs[i], outs[0]) << "shape " << i;
    EXPECT_EQ(maps[i], maps[0]) << "shape " << i;
  }
}

// The firmware's own cost per packet around a one-instruction program, on one
// thread with the default timing: instruction counts are exact, so a change to
// the packet path shows here (the figure is in docs/firmware.md).
TEST_F(FirmwareTest, PerPacketCost) {
  make(1);
  uint32_t s = slot("prog_drop");
  auto run_n = [&](unsigned n) {
    for (unsigned i = 0; i < n; ++i) inject(i, s, bytes(64));
    uint64_t i0 = m_->core(0).instret();
    run();
    for (uint64_t e; m_->queues().pop(1u << NPU_Q_TX, &e);) EXPECT_EQ(collect(e).verdict, 1u);
    return m_->core(0).instret() - i0;
  };
  run_n(1);  // boot and the first qget out of the way
  uint64_t c0 = m_->core(0).stats().busy + m_->core(0).stats().idle;
  uint64_t insns = run_n(100);
  uint64_t cycles = m_->core(0).stats().busy + m_->core(0).stats().idle - c0;
  std::printf("firmware: %.1f instructions and %.1f cycles per packet (1 thread, prog_drop)\n",
              insns / 100.0, cycles / 100.0);
  EXPECT_EQ(insns % 100, 0u);
  EXPECT_LE(insns / 100, 60u);
}

// ---- control messages ----

// Random host operations on a device map and on a reference map of the same
// definition: every reply (error and payload) equal.
class ControlTest : public FirmwareTest {
 public:
  void mirror(uint32_t type, uint32_t ksz, uint32_t vsz, uint32_t max, uint32_t mflags = 0) {
    uint32_t id = alloc(type, ksz, vsz, max, mflags);
    ASSERT_GT(id, 0u);
    bpf::MapDef def;
    def.name = "mirror";
    def.type = type;
    def.key_size = ksz;
    def.value_size = vsz;
    def.max_entries = max;
    def.flags = mflags;
    std::unique_ptr<ref::Map> want = ref::make_map(def, m_->engines().map_cpus());
    std::mt19937 rng(type * 131 + ksz);
    auto key = [&] {
      std::vector<uint8_t> k(ksz, 0);
      uint32_t v = rng() % (max + 3);
      if (type == BPF_MAP_TYPE_LPM_TRIE) {
        uint32_t plen = rng() % 33;
        std::memcpy(k.data(), &plen, 4);
        std::memcpy(k.data() + 4, &v, 4);
      } else {
        std::memcpy(k.data(), &v, std::min<size_t>(4, ksz));
      }
      return k;
    };
    for (int step = 0; step < 300; ++step) {
      std::vector<uint8_t> k = key();
      switch (rng() % 5) {
        case 0:
        case 1: {
          std::vector<uint8_t> v(want->sys_value_size());
          for (uint8_t& b : v) b = uint8_t(rng());
          uint64_t f = rng() % 4;  // BPF_ANY, NOEXIST, EXIST, and a bad one
          EXPECT_EQ(update(id, k, v, f), want->sys_update(k.data(), v.data(), f)) << step;
          break;
        }
        case 2: {
          CmsgReply r = ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_DELETE, seq_++, id, 0, k));
          EXPECT_EQ(r.err, want->sys_delete(k.data())) << step;
          break;
        }
        case 3: {
          CmsgReply r = ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, seq_++, id, 0, k));
          std::vector<uint8_t> v(want->sys_value_size());
          int err = want->sys_lookup(k.data(), v.data());
          EXPECT_EQ(r.err, err) << step;
          if (err == 0) {
            EXPECT_EQ(r.payload, v) << step;
          }
          break;
        }
        case 4: {
          bool first = rng() % 4 == 0;
          CmsgReply r =
              ctrl(first ? npu::driver::cmsg_map_op(NPU_CMSG_MAP_GETFIRST, seq_++, id, 0)
                         : npu::driver::cmsg_map_op(NPU_CMSG_MAP_GETNEXT, seq_++, id, 0, k));
          std::vector<uint8_t> next(ksz);
          int err = want->get_next_key(first ? nullptr : k.data(), next.data());
          EXPECT_EQ(r.err, err) << step;
          if (err == 0) {
            EXPECT_EQ(r.payload, next) << step;
          }
          break;
        }
      }
    }
    std::vector<ref::MapEntry> a = ref::dump(*m_->engines().map(id)), b = ref::dump(*want);
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i) {
      EXPECT_EQ(a[i].key, b[i].key);
      EXPECT_EQ(a[i].value, b[i].value);
    }
  }
};

TEST_F(ControlTest, HashMapLikeTheKernel) {
  mirror(BPF_MAP_TYPE_HASH, 4, 12, 8);
}
TEST_F(ControlTest, ArrayMapLikeTheKernel) {
  mirror(BPF_MAP_TYPE_ARRAY, 4, 8, 6);
}
TEST_F(ControlTest, PercpuHashLikeTheKernel) {
  mirror(BPF_MAP_TYPE_PERCPU_HASH, 8, 4, 8);
}
TEST_F(ControlTest, LruHashLikeTheKernel) {
  mirror(BPF_MAP_TYPE_LRU_HASH, 4, 8, 8);
}
TEST_F(ControlTest, LpmTrieLikeTheKernel) {
  mirror(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 16, BPF_F_NO_PREALLOC);
}

TEST_F(ControlTest, AllocAndFree) {
  uint32_t a = alloc(BPF_MAP_TYPE_HASH, 4, 4, 4);
  uint32_t b = alloc(BPF_MAP_TYPE_ARRAY, 4, 4, 4);
  EXPECT_EQ(a, 1u);
  EXPECT_EQ(b, 2u);
  EXPECT_EQ(ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_FREE, seq_++, a, 0)).err, 0);
  EXPECT_EQ(m_->engines().map(a), nullptr);
  // The id is free again, in the firmware's table too.
  EXPECT_EQ(ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, seq_++, a, 0, le<uint32_t>(0))).err,
            -EBADF);
  EXPECT_EQ(alloc(BPF_MAP_TYPE_HASH, 8, 8, 4), a);
  // The kernel's attribute checks: a hash map with a zero-size key, an array
  // with a key that is not 4 bytes, unknown flags.
  npu_map_def bad[] = {{BPF_MAP_TYPE_HASH, 0, 4, 4, 0, 0},
                       {BPF_MAP_TYPE_ARRAY, 8, 4, 4, 0, 0},
                       {BPF_MAP_TYPE_HASH, 4, 4, 4, 0x80000000u, 0},
                       {BPF_MAP_TYPE_HASH, 4, 4, 0, 0, 0},
                       {9999, 4, 4, 4, 0, 0}};
  for (const npu_map_def& d : bad) {
    CmsgReply r = ctrl(npu::driver::cmsg_map_alloc(seq_++, d));
    EXPECT_EQ(r.err, -EINVAL) << "type " << d.type << " key " << d.key_size;
  }
  // A value too big for an update message to fit a control buffer.
  CmsgReply r = ctrl(npu::driver::cmsg_map_alloc(
      seq_++, {BPF_MAP_TYPE_ARRAY, 4, NPU_CTRL_BUF_SIZE - NPU_CMSG_KEY, 2, 0, 0}));
  EXPECT_EQ(r.err, -E2BIG);
  // More memory than the device gives one map (4 GiB of values): refused, not allocated.
  r = ctrl(npu::driver::cmsg_map_alloc(seq_++, {BPF_MAP_TYPE_HASH, 4, 4096, 1u << 20, 0, 0}));
  EXPECT_EQ(r.err, -E2BIG);
  EXPECT_EQ(m_->engines().map_ids().size(), 2u);
  EXPECT_GE(counter(NPU_CNT_CTRL_ERR), 8u);
}

TEST_F(ControlTest, MalformedMessagesChangeNothing) {
  uint32_t id = alloc(BPF_MAP_TYPE_HASH, 4, 8, 8);
  ASSERT_EQ(update(id, le<uint32_t>(1), le<uint64_t>(11)), 0);
  ASSERT_EQ(update(id, le<uint32_t>(2), le<uint64_t>(22)), 0);
  std::vector<uint8_t> state = map_state();
  uint64_t errs = counter(NPU_CNT_CTRL_ERR);

  using npu::driver::cmsg_map_op;
  using npu::driver::cmsg_map_update;
  struct Case {
    const char* what;
    std::vector<uint8_t> msg;
    int err;
  };
  std::vector<Case> cases;
  auto with = [](std::vector<uint8_t> m, size_t at, std::vector<uint8_t> b) {
    std::copy(b.begin(), b.end(), m.begin() + at);
    return m;
  };
  auto upd = cmsg_map_update(50, id, 0, le<uint32_t>(3), le<uint64_t>(33));
  cases.push_back({"bad version", with(upd, NPU_CMSG_VER, {2}), -EINVAL});
  cases.push_back({"length below the header", with(upd, NPU_CMSG_LEN, le<uint32_t>(4)), -EINVAL});
  cases.push_back(
      {"length above the buffer", with(upd, NPU_CMSG_LEN, le<uint32_t>(1 << 20)), -EINVAL});
  cases.push_back({"length one short",
                   with(upd, NPU_CMSG_LEN, le<uint32_t>(uint32_t(upd.size() - 1))), -EINVAL});
  cases.push_back({"unknown type", with(upd, NPU_CMSG_TYPE, {0x42}), -EOPNOTSUPP});
  cases.push_back({"type 0", with(upd, NPU_CMSG_TYPE, {0}), -EOPNOTSUPP});
  cases.push_back(
      {"unknown map id", cmsg_map_update(51, 9, 0, le<uint32_t>(3), le<uint64_t>(33)), -EBADF});
  cases.push_back(
      {"map id 0", cmsg_map_update(52, 0, 0, le<uint32_t>(3), le<uint64_t>(33)), -EBADF});
  cases.push_back({"map id out of range",
                   cmsg_map_update(53, 1000, 0, le<uint32_t>(3), le<uint64_t>(33)), -EBADF});
  cases.push_back(
      {"oversized key", cmsg_map_update(54, id, 0, bytes(12), le<uint64_t>(33)), -EINVAL});
  cases.push_back(
      {"short value", cmsg_map_update(55, id, 0, le<uint32_t>(3), le<uint32_t>(33)), -EINVAL});
  cases.push_back(
      {"bad update flags", cmsg_map_update(56, id, 7, le<uint32_t>(3), le<uint64_t>(33)), -EINVAL});
  cases.push_back({"oversized delete key",
                   cmsg_map_op(NPU_CMSG_MAP_DELETE, 57, id, 0, le<uint64_t>(1)), -EINVAL});
  cases.push_back(
      {"delete with flags", cmsg_map_op(NPU_CMSG_MAP_DELETE, 58, id, 1, le<uint32_t>(1)), -EINVAL});
  cases.push_back({"lookup with flags",
                   cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 59, id, BPF_F_LOCK, le<uint32_t>(1)), -EINVAL});
  cases.push_back({"getfirst with a key",
                   cmsg_map_op(NPU_CMSG_MAP_GETFIRST, 60, id, 0, le<uint32_t>(1)), -EINVAL});
  cases.push_back(
      {"free with a key", cmsg_map_op(NPU_CMSG_MAP_FREE, 61, id, 0, le<uint32_t>(1)), -EINVAL});
  cases.push_back({"free with flags", cmsg_map_op(NPU_CMSG_MAP_FREE, 62, id, 1), -EINVAL});
  cases.push_back(
      {"truncated body",
       with(cmsg_map_op(NPU_CMSG_MAP_DELETE, 63, id, 0), NPU_CMSG_LEN, le<uint32_t>(12)), -EINVAL});
  cases.push_back(
      {"pad word set",
       with(cmsg_map_op(NPU_CMSG_MAP_DELETE, 65, id, 0, le<uint32_t>(1)), NPU_CMSG_MAP_ID + 4, {1}),
       -EINVAL});
  cases.push_back({"high update flags",
                   cmsg_map_update(66, id, uint64_t(1) << 40, le<uint32_t>(3), le<uint64_t>(33)),
                   -EINVAL});
  cases.push_back({"short alloc",
                   with(npu::driver::cmsg_map_alloc(64, {BPF_MAP_TYPE_HASH, 4, 4, 4, 0, 0}),
                        NPU_CMSG_LEN, le<uint32_t>(20)),
                   -EINVAL});
  for (const Case& c : cases) {
    CmsgReply r = ctrl(c.msg);
    EXPECT_EQ(r.err, c.err) << c.what;
    EXPECT_EQ(map_state(), state) << c.what;
  }
  EXPECT_EQ(counter(NPU_CNT_CTRL_ERR), errs + cases.size());
  EXPECT_EQ(m_->engines().map_ids().size(), 1u);
}

TEST_F(ControlTest, BufferOutsideMemoryIsDroppedAndCounted) {
  uint64_t errs = counter(NPU_CNT_CTRL_ERR);
  m_->queues().push(NPU_Q_CTRL, (uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT) | 0x700000000000ull);
  run();
  EXPECT_EQ(m_->queues().size(NPU_Q_REPLY), 0u);
  EXPECT_EQ(counter(NPU_CNT_CTRL_ERR), errs + 1);
  // Still serving.
  EXPECT_EQ(alloc(BPF_MAP_TYPE_ARRAY, 4, 4, 1), 1u);
  EXPECT_EQ(packet("prog_pass", bytes(64)).verdict, uint32_t(XDP_PASS));
}

TEST_F(ControlTest, BigKeysAndKeylessMaps) {
  // A 300-byte key: the engine takes any size the kernel does.
  mirror(BPF_MAP_TYPE_HASH, 300, 8, 4);
  // A ring buffer has no key: allocated, refused for lookups, and freed.
  uint32_t rb = alloc(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  ASSERT_GT(rb, 0u);
  EXPECT_NE(ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_LOOKUP, seq_++, rb, 0)).err, 0);
  EXPECT_EQ(ctrl(npu::driver::cmsg_map_op(NPU_CMSG_MAP_FREE, seq_++, rb, 0)).err, 0);
  EXPECT_EQ(m_->engines().map(rb), nullptr);
}

TEST_F(ControlTest, UnknownQueueKindIsIgnored) {
  m_->queues().push(NPU_Q_RX, (uint64_t(7) << NPU_QE_KIND_SHIFT) | frame(3));
  run();
  EXPECT_EQ(m_->queues().size(NPU_Q_TX), 0u);
  EXPECT_EQ(packet("prog_drop", bytes(64)).verdict, uint32_t(XDP_DROP));
}

}  // namespace
