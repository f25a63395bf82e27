// The random program generator (tests/support/progen.h) and the differential
// test it drives.
//
// Label unit: the generator is deterministic, its options shape what it
// emits, every feature shows up over a few hundred seeds, the packets are
// varied, the reference interpreter runs every program without a fault, and
// bpf::wrap_conformance's objects give the suite's results on the interpreter.
//
// Label kernel: every generated program is accepted by the kernel's verifier,
// and the kernel (BPF_PROG_TEST_RUN) and the reference interpreter agree on
// the verdict, the output packet and every map after each packet. The seeds
// are split into shards so ctest -j runs them in parallel. Also
// kern::KernelObject::load, which loads the generated objects.
//
//   NPU_PROGEN_SEEDS=100000        how many seeds (default 2000)
//   NPU_PROGEN_FIRST_SEED=1234     the first one (default 1): with
//                                  NPU_PROGEN_SEEDS=1, one seed to reproduce
//   NPU_PROGEN_BLOCKS=64           program size (default 16 blocks)
//   NPU_PROGEN_STACK_FETCH_ATOMICS=1  also atomic fetches on the stack, which
//                                  meet the kernel bug of ProgenFindings below
#include "compiler/bpf/conformance_file.h"
#include "compiler/bpf/conformance_wrap.h"
#include "sim/kernel/oracle.h"
#include "sim/ref/maps_json.h"
#include "sim/ref/vm.h"
#include "tests/support/engines.h"
#include "tests/support/progen.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

using bpf::Insn;
using progen::ProgenOptions;

constexpr size_t kPacketsPerProgram = 8;
constexpr uint64_t kDefaultSeeds = 2000;
constexpr int kShards = 4;

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  if (!v || !*v) return fallback;
  char* end = nullptr;
  uint64_t n = std::strtoull(v, &end, 10);
  if (*end) throw std::runtime_error(fmt::format("{}={}: not a number", name, v));
  return n;
}

// Mostly the defaults; every fourth seed a random size and subset of features,
// so that the knobs themselves are exercised. NPU_PROGEN_BLOCKS sets the size.
ProgenOptions options_for(uint64_t seed) {
  ProgenOptions o;
  static const uint64_t blocks = env_u64("NPU_PROGEN_BLOCKS", 0);
  static const bool stack_fetch = env_u64("NPU_PROGEN_STACK_FETCH_ATOMICS", 0) != 0;
  if (blocks) o.blocks = unsigned(blocks);
  o.stack_fetch_atomics = stack_fetch;
  if (seed % 4 != 3) return o;
  uint64_t bits = seed * 0x9e3779b97f4a7c15ull >> 20;
  o.blocks = unsigned(2 + bits % (blocks ? 2 * blocks : 40));
  o.alu32 = bits & 0x100;
  o.isa_v4 = bits & 0x200;
  o.loops = bits & 0x400;
  o.stack = bits & 0x800;
  o.packet = bits & 0x1000;
  o.maps = bits & 0x2000;
  o.adjust = bits & 0x4000;
  return o;
}

std::string listing(const bpf::Object& obj) {
  std::string out;
  for (const bpf::MapDef& m : obj.maps)
    out += fmt::format("  map {}: {} key {} value {} max {}\n", m.name, bpf::map_type_name(m.type),
                       m.key_size, m.value_size, m.max_entries);
  const std::vector<Insn>& code = obj.programs.at(0).insns;
  for (size_t i = 0; i < code.size(); ++i) {
    out += fmt::format("  {:4}: {}\n", i, bpf::disasm(code, i, &obj));
    if (code[i].is_lddw()) ++i;
  }
  return out;
}

std::string reproduce(uint64_t seed) {
  return fmt::format(
      "reproduce: NPU_PROGEN_FIRST_SEED={} NPU_PROGEN_SEEDS=1 progen_test "
      "--gtest_filter='Shards/ProgenKernel.*/0'",
      seed);
}

bool same(const bpf::Object& a, const bpf::Object& b) {
  if (a.maps.size() != b.maps.size() || a.programs.size() != b.programs.size()) return false;
  for (size_t i = 0; i < a.maps.size(); ++i) {
    const bpf::MapDef &x = a.maps[i], &y = b.maps[i];
    if (x.name != y.name || x.type != y.type || x.key_size != y.key_size ||
        x.value_size != y.value_size || x.max_entries != y.max_entries || x.flags != y.flags)
      return false;
  }
  const auto &p = a.programs[0].insns, &q = b.programs[0].insns;
  return p.size() == q.size() && std::memcmp(p.data(), q.data(), p.size() * sizeof(Insn)) == 0;
}

// ------------------------------------------------------------ unit

TEST(Progen, SameSeedSameProgramPacketsAndMaps) {
  std::set<std::string> distinct;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    bpf::Object a = progen::generate(seed, options_for(seed));
    bpf::Object b = progen::generate(seed, options_for(seed));
    EXPECT_TRUE(same(a, b)) << "seed " << seed;
    EXPECT_EQ(progen::packets(seed, 8), progen::packets(seed, 8)) << "seed " << seed;
    EXPECT_EQ(progen::initial_maps(a, seed), progen::initial_maps(b, seed)) << "seed " << seed;
    const auto& c = a.programs[0].insns;
    distinct.insert(std::string(reinterpret_cast<const char*>(c.data()), c.size() * sizeof(Insn)));
  }
  EXPECT_EQ(distinct.size(), 60u) << "different seeds gave the same program";
}

bool has(const bpf::Object& obj, bool (*pred)(const Insn&)) {
  const auto& c = obj.programs[0].insns;
  for (size_t i = 0; i < c.size(); ++i) {
    if (pred(c[i])) return true;
    if (c[i].is_lddw()) ++i;
  }
  return false;
}

bool is_v4(const Insn& i) {
  uint8_t cls = i.cls();
  if ((cls == BPF_ALU || cls == BPF_ALU64) && (i.op() == BPF_DIV || i.op() == BPF_MOD) && i.off)
    return true;  // sdiv, smod
  if ((cls == BPF_ALU || cls == BPF_ALU64) && i.op() == BPF_MOV && i.off) return true;  // movsx
  if (cls == BPF_ALU64 && i.op() == BPF_END) return true;                               // bswap
  if (cls == BPF_LDX && i.mode() == BPF_MEMSX) return true;
  return cls == BPF_JMP32 && i.op() == BPF_JA;  // gotol
}

TEST(Progen, OptionsShapeTheProgram) {
  for (uint64_t seed = 1; seed <= 80; ++seed) {
    ProgenOptions o;
    o.maps = false;
    o.loops = false;
    o.isa_v4 = false;
    o.alu32 = false;
    o.adjust = false;
    bpf::Object obj = progen::generate(seed, o);
    EXPECT_TRUE(obj.maps.empty()) << seed;
    EXPECT_FALSE(has(obj, [](const Insn& i) { return i.is_helper_call(); })) << seed;
    EXPECT_FALSE(has(obj, [](const Insn& i) { return i.is_lddw() && i.src != 0; })) << seed;
    EXPECT_FALSE(has(obj, is_v4)) << seed;
    EXPECT_FALSE(has(obj, [](const Insn& i) {
      return (i.cls() == BPF_ALU && i.op() != BPF_END) || i.cls() == BPF_JMP32;
    })) << seed;
    // No loops: every jump goes forward.
    EXPECT_FALSE(has(obj, [](const Insn& i) { return i.is_jump() && i.off < 0; })) << seed;

    ProgenOptions lpm;
    lpm.map_types = {BPF_MAP_TYPE_LPM_TRIE};
    bpf::Object l = progen::generate(seed, lpm);
    ASSERT_EQ(l.maps.size(), 1u);
    EXPECT_EQ(l.maps[0].type, uint32_t(BPF_MAP_TYPE_LPM_TRIE));
  }
  // Fetching atomics on stack slots only when asked for (see ProgenFindings below).
  auto stack_fetch = [](const Insn& i) {
    return i.cls() == BPF_STX && i.mode() == BPF_ATOMIC && i.dst == 10 && (i.imm & BPF_FETCH) != 0;
  };
  bool with = false;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    EXPECT_FALSE(has(progen::generate(seed), stack_fetch)) << seed;
    ProgenOptions o;
    o.stack_fetch_atomics = true;
    with = with || has(progen::generate(seed, o), stack_fetch);
  }
  EXPECT_TRUE(with);
  // Size: more blocks, longer programs.
  size_t small = 0, large = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    ProgenOptions o;
    o.blocks = 4;
    small += progen::generate(seed, o).programs[0].insns.size();
    o.blocks = 40;
    large += progen::generate(seed, o).programs[0].insns.size();
  }
  EXPECT_GT(large, 4 * small);
}

// Over a few hundred seeds every construct the generator knows shows up.
TEST(Progen, EveryFeatureAppears) {
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    bpf::Object obj = progen::generate(seed);
    for (const bpf::MapDef& m : obj.maps) seen.insert(fmt::format("map {}", m.type));
    const auto& c = obj.programs[0].insns;
    for (size_t i = 0; i < c.size(); ++i) {
      const Insn& in = c[i];
      uint8_t cls = in.cls();
      if (cls == BPF_ALU || cls == BPF_ALU64) {
        seen.insert(fmt::format("alu {} {:x} {} {}", cls, in.op(), in.srcbit(), in.off ? 1 : 0));
      } else if (cls == BPF_JMP || cls == BPF_JMP32) {
        if (in.is_helper_call()) seen.insert(fmt::format("call {}", in.imm));
        if (in.is_jump()) seen.insert(fmt::format("jmp {} {:x} {}", cls, in.op(), in.srcbit()));
        if (in.is_jump() && in.off < 0) seen.insert("backward jump");
      } else if (cls == BPF_LDX) {
        seen.insert(fmt::format("ldx {:x} {:x}", in.mode(), in.size()));
      } else if (cls == BPF_ST) {
        seen.insert(fmt::format("st {:x}", in.size()));
      } else if (cls == BPF_STX && in.mode() == BPF_ATOMIC) {
        seen.insert(fmt::format("atomic {:x} {:x}", in.size(), in.imm));
      } else if (cls == BPF_STX) {
        seen.insert(fmt::format("stx {:x}", in.size()));
      } else if (in.is_lddw()) {
        seen.insert(fmt::format("lddw {}", in.src));
      }
      if (in.is_lddw()) ++i;
    }
  }
  std::vector<std::string> want = {"backward jump", "lddw 0", "lddw 1"};
  for (uint32_t t :
       {BPF_MAP_TYPE_ARRAY, BPF_MAP_TYPE_HASH, BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_PERCPU_HASH,
        BPF_MAP_TYPE_LRU_HASH, BPF_MAP_TYPE_LRU_PERCPU_HASH, BPF_MAP_TYPE_LPM_TRIE})
    want.push_back(fmt::format("map {}", t));
  for (int h : {BPF_FUNC_map_lookup_elem, BPF_FUNC_map_update_elem, BPF_FUNC_map_delete_elem,
                BPF_FUNC_xdp_adjust_head, BPF_FUNC_xdp_adjust_tail, BPF_FUNC_xdp_adjust_meta})
    want.push_back(fmt::format("call {}", h));
  for (int cls : {BPF_ALU, BPF_ALU64}) {
    for (int op : {BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH, BPF_RSH, BPF_MOD,
                   BPF_XOR, BPF_MOV, BPF_ARSH})
      for (int x : {BPF_K, BPF_X}) want.push_back(fmt::format("alu {} {:x} {} 0", cls, op, x));
    want.push_back(fmt::format("alu {} {:x} 0 0", cls, BPF_NEG));
    for (int op : {BPF_DIV, BPF_MOD})  // sdiv, smod
      for (int x : {BPF_K, BPF_X}) want.push_back(fmt::format("alu {} {:x} {} 1", cls, op, x));
    want.push_back(fmt::format("alu {} {:x} {} 1", cls, BPF_MOV, BPF_X));  // movsx
  }
  want.push_back(fmt::format("alu {} {:x} {} 0", BPF_ALU, BPF_END, BPF_TO_BE));
  want.push_back(fmt::format("alu {} {:x} {} 0", BPF_ALU, BPF_END, BPF_TO_LE));
  want.push_back(fmt::format("alu {} {:x} 0 0", BPF_ALU64, BPF_END));  // bswap
  for (int cls : {BPF_JMP, BPF_JMP32}) {
    for (int op : {BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE, BPF_JSGT, BPF_JSGE,
                   BPF_JSLT, BPF_JSLE, BPF_JSET})
      for (int x : {BPF_K, BPF_X}) want.push_back(fmt::format("jmp {} {:x} {}", cls, op, x));
    want.push_back(fmt::format("jmp {} {:x} 0", cls, BPF_JA));  // ja and gotol
  }
  for (int sz : {BPF_B, BPF_H, BPF_W, BPF_DW}) {
    want.push_back(fmt::format("ldx {:x} {:x}", BPF_MEM, sz));
    want.push_back(fmt::format("st {:x}", sz));
    want.push_back(fmt::format("stx {:x}", sz));
    if (sz != BPF_DW) want.push_back(fmt::format("ldx {:x} {:x}", BPF_MEMSX, sz));
  }
  for (int sz : {BPF_W, BPF_DW})
    for (int op : {BPF_ADD, BPF_OR, BPF_AND, BPF_XOR, BPF_ADD | BPF_FETCH, BPF_OR | BPF_FETCH,
                   BPF_AND | BPF_FETCH, BPF_XOR | BPF_FETCH, BPF_XCHG, BPF_CMPXCHG})
      want.push_back(fmt::format("atomic {:x} {:x}", sz, op));
  for (const std::string& w : want) EXPECT_TRUE(seen.count(w)) << "never generated: " << w;
}

TEST(Progen, PacketsAreVariedAndInRange) {
  std::vector<std::vector<uint8_t>> ps = progen::packets(7, 2000);
  ASSERT_EQ(ps.size(), 2000u);
  std::set<size_t> sizes;
  size_t ipv4 = 0, udp = 0, tcp = 0;
  for (const auto& p : ps) {
    ASSERT_GE(p.size(), 14u);
    ASSERT_LE(p.size(), 1500u);
    sizes.insert(p.size());
    if (p[12] == 0x08 && p[13] == 0x00 && p.size() >= 34) {
      ++ipv4;
      udp += p[23] == 17;
      tcp += p[23] == 6;
    }
  }
  EXPECT_GT(sizes.size(), 300u);
  EXPECT_TRUE(sizes.count(14) && sizes.count(1500));
  EXPECT_GT(ipv4, 600u);
  EXPECT_GT(udp, 100u);
  EXPECT_GT(tcp, 100u);
  EXPECT_NE(progen::packets(7, 10), progen::packets(8, 10));
}

// The interpreter alone (no kernel needed): every program runs on its packets without a fault.
TEST(Progen, ReferenceInterpreterRunsEveryProgram) {
  size_t runs = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    bpf::Object obj = progen::generate(seed, options_for(seed));
    ref::Config cfg;
    cfg.ncpus = 2;
    ref::Interpreter ip(obj, cfg);
    ref::load_maps_json(ip, progen::initial_maps(obj, seed), "initial maps");
    for (const auto& p : progen::packets(seed, kPacketsPerProgram)) {
      ref::XdpResult r = ip.run_xdp(0, p);
      ASSERT_TRUE(r.error.empty()) << "seed " << seed << ": " << r.error << "\n" << listing(obj);
      ++runs;
    }
  }
  EXPECT_EQ(runs, 200 * kPacketsPerProgram);
}

// bpf::wrap_conformance's objects are for any engine: on the interpreter they
// give every result the conformance suite expects, read from the result map.
TEST(ConformanceWrap, ObjectsGiveTheSuiteResultsOnTheInterpreter) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(CONFORMANCE_DIR, ec))
    if (e.path().extension() == ".data") files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  ASSERT_FALSE(files.empty()) << "no .data files in " << CONFORMANCE_DIR;
  size_t checked = 0;
  for (const std::string& f : files) {
    bpf::ConformanceCase c = bpf::parse_conformance_file(f);
    if (!c.result) continue;  // the ones that expect an error have no result to read
    bpf::ConformanceLayout at;
    bpf::Object obj = bpf::wrap_conformance(c.insns, c.mem, &at);
    ASSERT_EQ(obj.maps[bpf::kConformanceResultMapIndex].name, bpf::kConformanceResultMap);
    ASSERT_EQ(at.new_index.size(), c.insns.size() + 1);
    // Helper calls use the kernel's ids in the wrapper, the suite's own in its files.
    if (std::any_of(c.insns.begin(), c.insns.end(), [](const Insn& i) { return i.is_call(); }))
      continue;
    ref::Interpreter ip(obj);
    ref::XdpResult r = ip.run_xdp(0, std::vector<uint8_t>(64, 0));
    ASSERT_TRUE(r.error.empty()) << f << ": " << r.error;
    ASSERT_EQ(r.verdict, 0u) << f;
    nlohmann::json maps = ref::dump_maps_json(ip);
    std::vector<uint8_t> v =
        bpf::parse_hex(maps["maps"][bpf::kConformanceResultMap][0]["value"], "result");
    uint64_t r0 = 0;
    std::memcpy(&r0, v.data(), 8);
    EXPECT_EQ(r0, *c.result) << f;
    ++checked;
  }
  EXPECT_GT(checked, 200u);
}

// The comparison finds a difference in each thing it compares, and names the packet.
class Tweaked : public progen::Engine {
 public:
  Tweaked(std::unique_ptr<progen::Engine> e, int what) : e_(std::move(e)), what_(what) {}
  std::string name() const override { return "tweaked"; }
  progen::Run run_xdp(const std::vector<uint8_t>& packet) override {
    progen::Run r = e_->run_xdp(packet);
    if (++runs_ == 3) {  // the third packet
      if (what_ == 0) r.verdict ^= 1;
      if (what_ == 1) r.packet.back() ^= 0x80;
      if (what_ == 2) r.error = "a fault";
    }
    return r;
  }
  nlohmann::json dump_maps_json() override {
    nlohmann::json j = e_->dump_maps_json();
    if (what_ == 3 && runs_ >= 3) j["maps"]["arr"][0]["value"] = "ff";
    return j;
  }

 private:
  std::unique_ptr<progen::Engine> e_;
  int what_;
  int runs_ = 0;
};

TEST(Engines, CompareFindsTheFirstDifference) {
  ProgenOptions o;
  o.map_types = {BPF_MAP_TYPE_ARRAY};
  bpf::Object obj = progen::generate(5, o);
  ASSERT_EQ(obj.maps.size(), 1u);
  nlohmann::json init = progen::initial_maps(obj, 5);
  std::vector<std::vector<uint8_t>> pk = progen::packets(5, 6);
  auto a = progen::ref_engine(obj, init), b = progen::ref_engine(obj, init);
  progen::Comparison same = progen::compare({a.get(), b.get()}, pk);
  EXPECT_EQ(same.first_difference, "");
  EXPECT_EQ(same.packets, 6u);
  const char* expect[] = {"verdict", "output packets differ", "error: a fault", "maps differ"};
  for (int what = 0; what < 4; ++what) {
    auto x = progen::ref_engine(obj, init);
    Tweaked y(progen::ref_engine(obj, init), what);
    progen::Comparison c = progen::compare({x.get(), &y}, pk);
    EXPECT_EQ(c.packets, 2u) << what;
    EXPECT_EQ(c.first_difference.rfind("packet 2 (", 0), 0u) << c.first_difference;
    EXPECT_NE(c.first_difference.find(expect[what]), std::string::npos) << c.first_difference;
  }
}

// ------------------------------------------------------------ kernel

class ProgenKernel : public testing::TestWithParam<int> {};

TEST_P(ProgenKernel, VerifierAcceptsAndEnginesAgree) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  const uint64_t first = env_u64("NPU_PROGEN_FIRST_SEED", 1);
  const uint64_t count = env_u64("NPU_PROGEN_SEEDS", kDefaultSeeds);
  const int shard = GetParam();
  const uint64_t lo = first + count * uint64_t(shard) / kShards;
  const uint64_t hi = first + count * uint64_t(shard + 1) / kShards;
  kern::pin_to_cpu0();
  size_t accepted = 0, rejected = 0, agreed = 0, packets = 0, insns = 0, disagreed = 0;
  size_t npu_refused = 0;
  std::map<uint32_t, size_t> verdicts;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = lo; seed < hi; ++seed) {
    bpf::Object obj = progen::generate(seed, options_for(seed));
    insns += obj.programs[0].insns.size();
    nlohmann::json init = progen::initial_maps(obj, seed);
    std::unique_ptr<progen::Engine> kernel;
    try {
      kernel = progen::kernel_engine(obj, init);
    } catch (const kern::VerifierError& e) {
      if (rejected++ < 3)
        ADD_FAILURE() << fmt::format("{}\n{}{}", e.what(), listing(obj), reproduce(seed));
      continue;
    }
    ++accepted;
    std::unique_ptr<progen::Engine> ref = progen::ref_engine(obj, init);
    // The program compiled by npu compile, on the ISS device: our verifier
    // must accept what the kernel's accepts.
    std::unique_ptr<progen::Engine> npu;
    try {
      npu = progen::npu_engine(obj, init, NPU_FIRMWARE);
    } catch (const std::exception& e) {
      if (npu_refused++ < 3)
        ADD_FAILURE() << fmt::format(
            "seed {}: the kernel accepts it, npu compile does not: {}\n{}{}", seed, e.what(),
            listing(obj), reproduce(seed));
      continue;
    }
    progen::Comparison c = progen::compare({kernel.get(), ref.get(), npu.get()},
                                           progen::packets(seed, kPacketsPerProgram));
    packets += c.packets;
    for (auto& [v, n] : c.verdicts) verdicts[v] += n;
    if (c.first_difference.empty()) {
      ++agreed;
    } else if (disagreed++ < 3) {
      ADD_FAILURE() << fmt::format(
          "seed {}: the kernel, the interpreter and the NPU disagree on {}\n{}{}", seed,
          c.first_difference, listing(obj), reproduce(seed));
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string vs;
  for (auto& [v, n] : verdicts) vs += fmt::format(" {}:{}", v, n);
  const uint64_t n = hi - lo;
  std::cout << fmt::format(
      "progen seeds {}..{}: {} programs ({:.0f} insns on average), {} accepted by the verifier "
      "({:.2f}%), {} agree on all {} packets compared; verdicts{}; {:.1f} s\n",
      lo, hi - 1, n, n ? double(insns) / double(n) : 0.0, accepted,
      n ? 100.0 * double(accepted) / double(n) : 100.0, agreed, packets, vs, secs);
  RecordProperty("programs", int(n));
  RecordProperty("accepted", int(accepted));
  RecordProperty("packets", int(packets));
  EXPECT_EQ(rejected, 0u) << "programs the verifier refused (the first 3 are shown above)";
  EXPECT_EQ(disagreed, 0u) << "programs where the engines disagree (the first 3 are shown above)";
  EXPECT_EQ(npu_refused, 0u) << "programs npu compile refused (the first 3 are shown above)";
}

INSTANTIATE_TEST_SUITE_P(Shards, ProgenKernel, testing::Range(0, kShards));

// kern::KernelObject::load, which the kernel engine uses: maps, global data
// through BPF_PSEUDO_MAP_VALUE, names longer than the kernel's 15 characters,
// and the refusal message.
TEST(KernelObjectLoad, MapsGlobalDataAndNames) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  bpf::Object obj;
  obj.path = "handmade";
  bpf::MapDef data;
  data.name = "handmade.rodata";
  data.type = BPF_MAP_TYPE_ARRAY;
  data.key_size = 4;
  data.value_size = 8;
  data.max_entries = 1;
  data.flags = BPF_F_RDONLY_PROG;
  data.global_data = true;
  data.initial = {7, 42};
  bpf::MapDef counts;
  counts.name = "a_rather_long_map_name";
  counts.type = BPF_MAP_TYPE_PERCPU_ARRAY;
  counts.key_size = 4;
  counts.value_size = 8;
  counts.max_entries = 2;
  obj.maps = {data, counts};
  bpf::Program p;
  p.name = "a_rather_long_program_name";
  p.type = BPF_PROG_TYPE_XDP;
  // r0 = *(u8 *)(&rodata + 1)
  p.insns = {Insn(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_VALUE, 0, 0), Insn(0, 0, 0, 0, 1),
             Insn(BPF_LDX | BPF_MEM | BPF_B, 0, 1, 0, 0), Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  obj.programs = {p};
  kern::KernelObject k = kern::KernelObject::load(obj);
  EXPECT_EQ(k.path(), "handmade");
  EXPECT_EQ(k.prog_names(), std::vector<std::string>{"a_rather_long_program_name"});
  EXPECT_EQ(k.map_names(), (std::vector<std::string>{"handmade.rodata", "a_rather_long_map_name"}));
  EXPECT_TRUE(k.map_info("a_rather_long_map_name").percpu);
  kern::XdpResult r = k.run_xdp("", std::vector<uint8_t>(20, 1));
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.verdict, 42u);
  // .rodata is frozen, as libbpf leaves it.
  EXPECT_THROW(k.map_update("handmade.rodata", {0, 0, 0, 0}, std::vector<uint8_t>(8)),
               std::runtime_error);
  nlohmann::json maps = k.dump_maps_json();
  EXPECT_EQ(maps["maps"]["handmade.rodata"][0]["value"], "072a000000000000");
  EXPECT_EQ(maps["maps"]["a_rather_long_map_name"].size(), 2u);

  bpf::Object bad = obj;
  bad.programs[0].insns[0].imm = 5;
  try {
    kern::KernelObject::load(bad);
    ADD_FAILURE() << "a map index out of range was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()),
              "handmade: program 'a_rather_long_program_name' insn 0: no map with index 5");
  }
}

TEST(KernelObjectLoad, RefusalNamesProgramReasonAndInstruction) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  bpf::Object obj;
  obj.path = "handmade";
  bpf::Program p;
  p.name = "no_r0";
  p.type = BPF_PROG_TYPE_XDP;
  p.insns = {Insn(BPF_ALU64 | BPF_MOV | BPF_K, 1, 0, 0, 0), Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)};
  obj.programs = {p};
  try {
    kern::KernelObject::load(obj);
    ADD_FAILURE() << "an exit without r0 was accepted";
  } catch (const kern::VerifierError& e) {
    EXPECT_EQ(std::string(e.what()),
              "handmade: kernel verifier rejected program no_r0: R0 !read_ok (at insn 1)");
    EXPECT_EQ(e.program(), "no_r0");
    EXPECT_EQ(e.reason(), "R0 !read_ok");
    EXPECT_EQ(e.insn(), 1);
  }
}

// ------------------------------------------------------------ findings

// Finding 1 (docs/progen.md): Linux 6.18's verifier does not follow the load
// half of an atomic fetch (BPF_STX | BPF_ATOMIC with BPF_FETCH) from a stack
// slot when it backtracks precision. A branch that depends on the fetched
// value of a spilled constant leaves the slot imprecise, a later path with a
// different value there is pruned as "already verified", and the branch side
// that was never explored is hard-wired away: at run time the kernel takes a
// branch that the program's values do not take. The reference interpreter
// follows the ISA. Disabled until the kernel is fixed: run with
// --gtest_also_run_disabled_tests to see whether it still is.
TEST(ProgenFindings, DISABLED_KernelLosesPrecisionThroughStackAtomicFetch) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::pin_to_cpu0();
  auto mov = [](int d, int32_t imm) { return Insn(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, imm); };
  const Insn ex(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
  bpf::Object obj;
  obj.path = "stack atomic fetch";
  bpf::Program p;
  p.name = "fetch";
  p.type = BPF_PROG_TYPE_XDP;
  p.insns = {
      Insn(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0),
      Insn(BPF_LDX | BPF_MEM | BPF_W, 2, 6, 0, 0),  // data
      Insn(BPF_LDX | BPF_MEM | BPF_W, 3, 6, 4, 0),  // data_end
      Insn(BPF_ALU64 | BPF_MOV | BPF_X, 4, 2, 0, 0),
      Insn(BPF_ALU64 | BPF_ADD | BPF_K, 4, 0, 0, 1),
      Insn(BPF_JMP | BPF_JGT | BPF_X, 4, 3, 10, 0),    // 5: no byte -> 16
      Insn(BPF_LDX | BPF_MEM | BPF_B, 7, 2, 0, 0),     // 6: r7 = data[0]
      Insn(BPF_STX | BPF_MEM | BPF_DW, 10, 7, -8, 0),  // 7: fp-8 = r7
      Insn(BPF_JMP | BPF_JNE | BPF_K, 7, 0, 0, 5),     // 8: first path: r7 = fp-8 = 5
      mov(1, 1),                                       // 9
      Insn(BPF_STX | BPF_ATOMIC | BPF_DW, 10, 1, -8, BPF_ADD | BPF_FETCH),  // 10: r1 = old
      Insn(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2, 5),  // 11: if r1 == 5 goto 14
      mov(0, 1),
      ex,  // 12, 13: data[0] != 5
      mov(0, 2),
      ex,  // 14, 15: data[0] == 5
      mov(0, 0),
      ex,  // 16, 17
  };
  obj.programs = {p};
  const nlohmann::json none = {{"maps", nlohmann::json::object()}};
  auto kernel = progen::kernel_engine(obj, none);
  auto ref = progen::ref_engine(obj, none);
  std::vector<uint8_t> pkt(64, 0);
  for (uint8_t first : {5, 7}) {
    pkt[0] = first;
    EXPECT_EQ(kernel->run_xdp(pkt).verdict, ref->run_xdp(pkt).verdict) << "data[0] = " << +first;
  }
  // The generator's programs where it showed up (seeds of the 100,000-seed run).
  for (uint64_t seed : {20390, 26335, 47464}) {
    ProgenOptions o = options_for(seed);
    o.stack_fetch_atomics = true;
    bpf::Object g = progen::generate(seed, o);
    nlohmann::json init = progen::initial_maps(g, seed);
    auto k = progen::kernel_engine(g, init);
    auto r = progen::ref_engine(g, init);
    progen::Comparison c =
        progen::compare({k.get(), r.get()}, progen::packets(seed, kPacketsPerProgram));
    EXPECT_EQ(c.first_difference, "") << "seed " << seed;
  }
}

}  // namespace
