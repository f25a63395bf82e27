// The kernel oracle (sim/kernel/oracle.h): instruction relocation, the BPF
// conformance files run through the kernel's verifier and BPF_PROG_TEST_RUN,
// small XDP programs compiled at test time, and the XDP test-run environment
// that docs/kernel-oracle.md records (the reference interpreter must match it).
#include "compiler/bpf/conformance_file.h"
#include "sim/kernel/oracle.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using bpf::Insn;

Bytes le(uint64_t v, size_t n) {
  Bytes b(n);
  std::memcpy(b.data(), &v, n);
  return b;
}

int64_t s64(const Bytes& b, size_t at = 0) {
  int64_t v = 0;
  std::memcpy(&v, b.data() + at, std::min<size_t>(8, b.size() - at));
  return v;
}

// ------------------------------------------------------------ relocation

Insn mov(int dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
Insn ja(int16_t off) {
  return Insn(BPF_JMP | BPF_JA, 0, 0, off, 0);
}
Insn ex() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

// The old index an instruction at new position p reaches with its offset.
size_t reached(size_t p, int64_t rel) {
  return size_t(int64_t(p) + 1 + rel);
}

TEST(InsertInsns, EveryBranchKeepsItsTarget) {
  std::vector<Insn> prog = {
      /*0*/ mov(0, 1),
      /*1*/ Insn(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 3, 7),  // -> 5, across the insertion at 3
      /*2*/ Insn(BPF_LD | BPF_IMM | BPF_DW, 1, 0, 0, 1),
      /*3*/ Insn(0, 0, 0, 0, 2),
      /*4*/ Insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 3),  // -> 8
      /*5*/ Insn(BPF_JMP32 | BPF_JA, 0, 0, 0, -6),               // gotol -> 0
      /*6*/ ja(-5),                                              // -> 2
      /*7*/ ex(),
      /*8*/ mov(0, 2),
      /*9*/ ex(),
  };
  std::vector<size_t> at;
  std::vector<Insn> out = kern::insert_insns(
      prog, {{8, {mov(3, 3), mov(4, 4)}}, {0, {mov(5, 5)}}, {4, {mov(6, 6)}}}, &at);
  ASSERT_EQ(out.size(), prog.size() + 4);
  ASSERT_EQ(at.size(), prog.size() + 1);
  EXPECT_EQ(at[0], 1u);
  EXPECT_EQ(at[4], 6u);  // the snippet at 4 comes before old insn 4
  EXPECT_EQ(at[8], 12u);
  EXPECT_EQ(at[10], out.size());
  EXPECT_EQ(out[at[4] - 1].imm, 6);
  EXPECT_EQ(reached(at[1], out[at[1]].off), at[5]);
  EXPECT_EQ(reached(at[4], out[at[4]].imm), at[8]);
  EXPECT_EQ(reached(at[5], out[at[5]].imm), at[0]);
  EXPECT_EQ(reached(at[6], out[at[6]].off), at[2]);
  EXPECT_EQ(out[at[3]].imm, 2);  // lddw's second slot is carried as is
}

TEST(InsertInsns, JumpsOutOfTheProgramStayOut) {
  std::vector<Insn> prog = {ja(5), ja(-3), ex()};
  std::vector<Insn> out = kern::insert_insns(prog, {{0, {mov(1, 0)}}, {3, {mov(2, 0), ex()}}});
  int64_t fwd = int64_t(1) + 1 + out[1].off, back = int64_t(2) + 1 + out[2].off;
  EXPECT_GE(fwd, int64_t(out.size()));
  EXPECT_LT(back, 0);
}

TEST(InsertInsns, RejectsAnInsertionPastTheEnd) {
  EXPECT_THROW(kern::insert_insns({ex()}, {{2, {ex()}}}), std::runtime_error);
}

TEST(InsertInsns, ReportsAnOffsetThatNoLongerFits) {
  std::vector<Insn> prog = {ja(1), ex(), ex()};
  EXPECT_THROW(kern::insert_insns(prog, {{1, std::vector<Insn>(40000, mov(0, 0))}}),
               std::runtime_error);
}

TEST(Probe, ReasonIsEmptyOrOneLine) {
  std::string r = kern::bpf_unavailable_reason();
  EXPECT_EQ(r.find('\n'), std::string::npos) << r;
  EXPECT_EQ(r, kern::bpf_unavailable_reason());
}

// Compiles one BPF C source with the project's clang into a per-process
// temporary folder (removed at exit); returns the object's path.
class BpfBuild {
 public:
  static const std::string& dir() {
    static BpfBuild b;
    return b.dir_;
  }
  static std::string compile(const std::string& name, const std::string& source) {
    std::string c = dir() + "/" + name + ".c", o = dir() + "/" + name + ".o";
    std::ofstream(c) << "#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n"
                     << source << "\nchar _license[] SEC(\"license\") = \"GPL\";\n";
    std::string cmd = fmt::format("{} {} -c {} -o {} 2> {}.log", BPF_CLANG, BPF_CFLAGS, c, o, o);
    if (std::system(cmd.c_str()) != 0) {
      std::ifstream log(o + ".log");
      std::stringstream ss;
      ss << log.rdbuf();
      throw std::runtime_error(fmt::format("{}: clang failed:\n{}", c, ss.str()));
    }
    return o;
  }

 private:
  BpfBuild() {
    char tmpl[] = "/tmp/npu_kernel_test.XXXXXX";
    if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
    dir_ = tmpl;
  }
  ~BpfBuild() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string dir_;
};

// ------------------------------------------------------------ conformance files

std::vector<std::string> conformance_files() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(CONFORMANCE_DIR, ec))
    if (e.path().extension() == ".data") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

enum class Verdict { kPass, kRejected, kWrong, kRunError };

struct Outcome {
  Verdict verdict;
  std::string detail;
};

Outcome run_case(const std::string& path) {
  bpf::ConformanceCase c = bpf::parse_conformance_file(path);
  kern::ConformanceResult r = kern::run_conformance(c.insns, c.mem);
  if (!r.ok && r.error.rfind("kernel rejected", 0) == 0) {
    return {c.error ? Verdict::kPass : Verdict::kRejected, r.error};
  }
  if (!r.ok) return {c.error ? Verdict::kPass : Verdict::kRunError, r.error};
  if (c.error)
    return {Verdict::kWrong,
            fmt::format("expected an error ({}), the kernel ran it: r0 = {:#x}", *c.error, r.r0)};
  if (r.r0 != *c.result)
    return {Verdict::kWrong,
            fmt::format("expected r0 = {:#x}, the kernel gave {:#x}", *c.result, r.r0)};
  return {Verdict::kPass, ""};
}

TEST(ConformanceFiles, AllParse) {
  std::vector<std::string> files = conformance_files();
  ASSERT_FALSE(files.empty()) << "no .data files in " << CONFORMANCE_DIR;
  for (const std::string& f : files) {
    try {
      bpf::ConformanceCase c = bpf::parse_conformance_file(f);
      EXPECT_FALSE(c.insns.empty()) << f;
      EXPECT_TRUE(c.result || c.error) << f;
    } catch (const std::exception& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST(ConformanceFiles, BadInputNamesFileAndLine) {
  struct Case {
    const char* text;
    const char* expect;
  } cases[] = {
      {"-- asm\nexit\n-- mem\n00 1zz\n-- result\n0x0\n", ":4: '1zz' is not a hex byte"},
      {"-- asm\nexit\n-- mem\n100\n-- result\n0x0\n", ":4: '100' is not a hex byte"},
      {"-- raw\n0x95\n0xnothex\n-- result\n0\n", ":3: '0xnothex' is not an instruction word"},
      {"-- raw\n-0x95\n-- result\n0\n", ":2: '-0x95' is not an instruction word"},
      {"-- asm\nexit\n-- result\nzz\n", ":4: 'zz' is not a hex result"},
      {"-- asm\nexit\n-- bogus\n", ":3: unknown section '-- bogus'"},
      {"-- result\n0x1\n", ": no program (neither -- raw nor -- asm)"},
      {"-- raw\n0x0000000000000095\n", ": no -- result or -- error"},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string path = fmt::format("{}/parse{}.data", BpfBuild::dir(), i++);
    std::ofstream(path) << c.text;
    try {
      bpf::parse_conformance_file(path);
      ADD_FAILURE() << "accepted: " << c.text;
    } catch (const std::runtime_error& e) {
      EXPECT_EQ(std::string(e.what()), path + c.expect);
    }
  }
  std::string ok = BpfBuild::dir() + "/ok.data";
  std::ofstream(ok)
      << "# comment\r\n-- raw\r\n0x0000000000000095\r\n-- mem\r\n0a ff\r\n-- result\r\n0x10\r\n";
  bpf::ConformanceCase c = bpf::parse_conformance_file(ok);
  ASSERT_EQ(c.insns.size(), 1u);
  EXPECT_TRUE(c.insns[0].is_exit());
  EXPECT_EQ(c.mem, (Bytes{0x0a, 0xff}));
  EXPECT_EQ(c.result, 0x10u);
  EXPECT_THROW(bpf::parse_conformance_file("/nonexistent.data"), std::runtime_error);
}

class KernelConformance : public testing::TestWithParam<std::string> {};

TEST_P(KernelConformance, AcceptedProgramsGiveTheExpectedR0) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  Outcome o = run_case(GetParam());
  switch (o.verdict) {
    case Verdict::kPass:
      break;
    case Verdict::kRejected:
      GTEST_SKIP() << o.detail;
    case Verdict::kWrong:
    case Verdict::kRunError:
      FAIL() << GetParam() << ": " << o.detail;
  }
}

std::string param_name(const testing::TestParamInfo<std::string>& info) {
  std::string n = fs::path(info.param).stem().string();
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Files, KernelConformance, testing::ValuesIn(conformance_files()),
                         param_name);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(KernelConformance);

// All files in one process: the summary, and a floor so that a broken wrapper
// cannot pass by having everything rejected.
TEST(KernelConformanceSummary, MostFilesRunAndNoneDisagree) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  std::vector<std::string> files = conformance_files();
  ASSERT_FALSE(files.empty()) << "no .data files in " << CONFORMANCE_DIR;
  std::map<Verdict, std::vector<std::string>> by;
  for (const std::string& f : files) {
    Outcome o;
    try {
      o = run_case(f);
    } catch (const std::exception& e) {
      o = {Verdict::kRunError, e.what()};
    }
    by[o.verdict].push_back(fmt::format("{}: {}", fs::path(f).filename().string(), o.detail));
  }
  std::cout << fmt::format(
      "kernel conformance: {} files, {} pass, {} rejected by the verifier, {} wrong r0, "
      "{} could not run\n",
      files.size(), by[Verdict::kPass].size(), by[Verdict::kRejected].size(),
      by[Verdict::kWrong].size(), by[Verdict::kRunError].size());
  for (const std::string& s : by[Verdict::kRejected]) std::cout << "  rejected " << s << "\n";
  RecordProperty("passed", int(by[Verdict::kPass].size()));
  RecordProperty("rejected", int(by[Verdict::kRejected].size()));
  for (const std::string& s : by[Verdict::kWrong]) ADD_FAILURE() << s;
  for (const std::string& s : by[Verdict::kRunError]) ADD_FAILURE() << s;
  EXPECT_GE(by[Verdict::kPass].size(), 100u);
}

// The wrapper's calling convention on hand-made programs.
TEST(RunConformance, HandsOverMemoryLengthAndFull64BitR0) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  Bytes mem = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  kern::ConformanceResult r =
      kern::run_conformance({Insn(BPF_ALU64 | BPF_MOV | BPF_X, 0, 2, 0, 0), ex()}, mem);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, 11u);
  // r0 = *(u64*)(r1 + 3)
  r = kern::run_conformance({Insn(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 3, 0), ex()}, mem);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, 0x0b0a090807060504u);
  // Memory is writable: *(u8*)(r1+0) = 0x7f; r0 = *(u8*)(r1+0).
  r = kern::run_conformance({Insn(BPF_ST | BPF_MEM | BPF_B, 1, 0, 0, 0x7f),
                             Insn(BPF_LDX | BPF_MEM | BPF_B, 0, 1, 0, 0), ex()},
                            mem);
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, 0x7fu);
  // No memory: r1 = 0 and r2 = 0; r0 = r1 | r2 | 0x8000000000000000 (lddw).
  r = kern::run_conformance(
      {Insn(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0), Insn(0, 0, 0, 0, int32_t(0x80000000)),
       Insn(BPF_ALU64 | BPF_OR | BPF_X, 0, 1, 0, 0), Insn(BPF_ALU64 | BPF_OR | BPF_X, 0, 2, 0, 0),
       ex()},
      {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, 0x8000000000000000u);
}

TEST(RunConformance, ExitsBeforeASubprogramAndInsideItAreHandled) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  // if r2 == 0 goto +2; call f; r0 += 1; exit (x2) ... f: r0 = 40; exit
  std::vector<Insn> prog = {
      mov(0, 0),
      Insn(BPF_JMP | BPF_JEQ | BPF_K, 2, 0, 3, 0),
      Insn(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, 4),
      Insn(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 2),
      ex(),
      mov(0, -1),
      ex(),
      mov(0, 40),
      ex(),
  };
  kern::ConformanceResult r = kern::run_conformance(prog, {1, 2, 3, 4});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, 42u);
  r = kern::run_conformance(prog, {});
  ASSERT_TRUE(r.ok) << r.error;
  EXPECT_EQ(r.r0, ~uint64_t(0));
}

TEST(RunConformance, RejectionSaysWhyInOneLine) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  // r0 = *(u64*)(r1 + 0) with r1 = 0: not a pointer.
  kern::ConformanceResult r =
      kern::run_conformance({Insn(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 0), ex()}, {});
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.error.rfind("kernel rejected: ", 0), 0u) << r.error;
  EXPECT_EQ(r.error.find('\n'), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("R1"), std::string::npos) << r.error;
  // An exit without r0 set is blamed on the exit, not on the wrapper.
  r = kern::run_conformance({mov(1, 0), ex()}, {});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.error.find("R0 !read_ok (at an exit of the main function)"), std::string::npos)
      << r.error;
  // An empty program, and garbage, are refused without a crash.
  EXPECT_FALSE(kern::run_conformance({}, {}).ok);
  EXPECT_FALSE(kern::run_conformance({Insn(0xff, 15, 15, -1, -1)}, {}).ok);
  EXPECT_FALSE(kern::run_conformance({Insn(BPF_LD | BPF_IMM | BPF_DW, 0, 0, 0, 0)}, {}).ok);
}

// ------------------------------------------------------------ XDP programs

const char* kVerdictSrc = R"(
SEC("xdp") int verdict(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (d + 1 > end) return XDP_ABORTED;
  return d[0] == 0xff ? XDP_DROP : d[0] == 0xee ? XDP_TX : XDP_PASS;
}
)";

TEST(Xdp, VerdictAndUnchangedPacket) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("verdict", kVerdictSrc));
  Bytes pkt(60, 0x11);
  kern::XdpResult r = k.run_xdp("verdict", pkt);
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(r.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(r.packet, pkt);
  EXPECT_EQ(r.meta_len, 0u);
  pkt[0] = 0xff;
  EXPECT_EQ(k.run_xdp("", pkt).verdict, uint32_t(XDP_DROP));  // "" = the first program
  pkt[0] = 0xee;
  EXPECT_EQ(k.run_xdp("xdp", pkt).verdict, uint32_t(XDP_TX));  // by section name
  EXPECT_THROW(k.run_xdp("nope", pkt), std::runtime_error);
}

TEST(Xdp, PacketsShorterThanAnEthernetHeaderAreRefused) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("verdict", kVerdictSrc));
  EXPECT_EQ(k.run_xdp("verdict", Bytes(13, 1)).err, -EINVAL);
  EXPECT_EQ(k.run_xdp("verdict", Bytes()).err, -EINVAL);
  kern::XdpResult r = k.run_xdp("verdict", Bytes(14, 1));
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.packet.size(), 14u);
}

const char* kCountSrc = R"(
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, __u16); __type(value, __u64); } by_type SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 2); __type(key, __u32); __type(value, __u32); } totals SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); } pcpu SEC(".maps");
__u64 packets = 0;
SEC("xdp") int count(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (d + 14 > end) return XDP_ABORTED;
  __u16 type = *(__u16 *)(d + 12);
  __u64 one = 1, *n = bpf_map_lookup_elem(&by_type, &type);
  if (n) *n += 1; else bpf_map_update_elem(&by_type, &type, &one, BPF_ANY);
  __u32 k = 0, *t = bpf_map_lookup_elem(&totals, &k);
  if (t) *t += (__u32)(end - d);
  k = 1;
  t = bpf_map_lookup_elem(&totals, &k);
  if (t) *t = bpf_get_smp_processor_id() + 100;
  k = 0;
  __u32 *p = bpf_map_lookup_elem(&pcpu, &k);
  if (p) *p += 1;
  packets++;
  return XDP_PASS;
}
)";

Bytes frame(uint16_t ethertype_be, size_t len) {
  Bytes p(len, 0);
  p[12] = uint8_t(ethertype_be >> 8);
  p[13] = uint8_t(ethertype_be);
  return p;
}

TEST(Xdp, MapWritesShowInTheDump) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("count", kCountSrc));
  std::vector<std::string> names = k.map_names();
  auto bss = std::find_if(names.begin(), names.end(), [](const std::string& n) {
    return n.size() > 4 && n.substr(n.size() - 4) == ".bss";
  });
  ASSERT_NE(bss, names.end()) << "no .bss map among the maps";
  EXPECT_EQ(k.map_info("by_type").key_size, 2u);
  EXPECT_EQ(k.map_info("by_type").type, uint32_t(BPF_MAP_TYPE_HASH));

  for (int i = 0; i < 3; ++i) ASSERT_EQ(k.run_xdp("count", frame(0x0800, 60)).err, 0);
  ASSERT_EQ(k.run_xdp("count", frame(0x86dd, 100)).err, 0);

  kern::Entries e = k.map_dump("by_type");
  std::sort(e.begin(), e.end());
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].first, (Bytes{0x08, 0x00}));
  EXPECT_EQ(s64(e[0].second), 3);
  EXPECT_EQ(e[1].first, (Bytes{0x86, 0xdd}));
  EXPECT_EQ(s64(e[1].second), 1);
  EXPECT_EQ(k.map_lookup("totals", le(0, 4)), le(280, 4));
  EXPECT_EQ(k.map_lookup("totals", le(1, 4)), le(100, 4)) << "the run was not on CPU 0";
  EXPECT_FALSE(k.map_lookup("by_type", {0x12, 0x34}).has_value());
  EXPECT_EQ(s64(*k.map_lookup(*bss, le(0, 4))), 4);
  EXPECT_EQ(s64(*k.map_lookup(".bss", le(0, 4))), 4);

  nlohmann::json j = k.dump_maps_json();
  EXPECT_EQ(j["maps"]["by_type"],
            nlohmann::json::parse(R"([{"key":"0800","value":"0300000000000000"},
                                      {"key":"86dd","value":"0100000000000000"}])"));
  EXPECT_EQ(j["maps"]["totals"][0]["value"], "18010000");
  EXPECT_EQ(j["maps"][*bss][0]["value"], "0400000000000000");
  EXPECT_THROW(k.map_dump("nope"), std::runtime_error);
}

TEST(Xdp, PercpuMapsHaveOneValuePerPossibleCpu) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("count", kCountSrc));
  const int ncpus = kern::possible_cpus();
  kern::MapInfo info = k.map_info("pcpu");
  EXPECT_TRUE(info.percpu);
  EXPECT_EQ(info.sys_value_size, size_t(8 * ncpus));  // 4-byte values in 8-byte slots
  for (int i = 0; i < 5; ++i) ASSERT_EQ(k.run_xdp("count", frame(0x0800, 60)).err, 0);
  kern::Entries e = k.map_dump("pcpu");
  ASSERT_EQ(e.size(), 1u);
  ASSERT_EQ(e[0].second.size(), size_t(8 * ncpus));
  EXPECT_EQ(s64(e[0].second, 0), 5);  // pinned to CPU 0: only its slot moves
  for (int c = 1; c < ncpus; ++c) EXPECT_EQ(s64(e[0].second, 8 * c), 0) << "cpu " << c;
  nlohmann::json vals = k.dump_maps_json()["maps"]["pcpu"][0]["values"];
  ASSERT_EQ(vals.size(), size_t(ncpus));
  EXPECT_EQ(vals[0], "05000000");

  // One CPU's value is copied to every CPU; a full buffer is taken as is.
  k.map_update("pcpu", le(0, 4), le(7, 4));
  e = k.map_dump("pcpu");
  for (int c = 0; c < ncpus; ++c) EXPECT_EQ(s64(e[0].second, 8 * c), 7);
  Bytes full(8 * ncpus, 0);
  full[8 * (ncpus - 1)] = 9;
  k.map_update("pcpu", le(0, 4), full);
  EXPECT_EQ(s64(*k.map_lookup("pcpu", le(0, 4)), 8 * (ncpus - 1)), 9);
  EXPECT_THROW(k.map_update("pcpu", le(0, 4), Bytes(5)), std::runtime_error);
}

const char* kTailSrc = R"(
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, __u32); __type(value, __u32); } jump SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, __u32); __type(value, __u64); } cfg SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 4); __type(key, __u32); __type(value, __u64); } ph SEC(".maps");
SEC("xdp") int entry(struct xdp_md *ctx) {
  __u32 k = 0;
  __u64 *c = bpf_map_lookup_elem(&cfg, &k);
  if (c && *c == 0x1122334455667788ULL) bpf_tail_call(ctx, &jump, 0);
  return XDP_PASS;
}
SEC("xdp") int target(struct xdp_md *ctx) { return XDP_TX; }
)";

std::string write_json(const std::string& name, const std::string& text) {
  std::string p = BpfBuild::dir() + "/" + name;
  std::ofstream(p) << text;
  return p;
}

TEST(Xdp, LoadMapsJsonFillsMapsAndProgArrays) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("tail", kTailSrc));
  EXPECT_EQ(k.run_xdp("entry", Bytes(64)).verdict, uint32_t(XDP_PASS));
  std::string vals;
  for (int c = 0; c < kern::possible_cpus(); ++c)
    vals += fmt::format("{}\"{:016x}\"", c ? "," : "", c + 1);
  k.load_maps_json(write_json("ok.json", R"({"maps": {
      "cfg": [{"key": "00 00 00 00", "value": "88 77 66 55 44 33 22 11"}],
      "jump": [{"key": "00000000", "prog": "target"}],
      "ph": [{"key": "01000000", "value": "0200000000000000"},
             {"key": "02000000", "values": [)" +
                                             vals + R"(]}]}})"));
  EXPECT_EQ(k.run_xdp("entry", Bytes(64)).verdict, uint32_t(XDP_TX));
  nlohmann::json d = k.dump_maps_json()["maps"];
  EXPECT_EQ(d["jump"], nlohmann::json::parse(R"([{"key":"00000000","prog":"target"}])"));
  ASSERT_EQ(d["ph"].size(), 2u);
  EXPECT_EQ(d["ph"][0]["values"][0], "0200000000000000");
  EXPECT_EQ(d["ph"][0]["values"].back(), "0200000000000000");
  EXPECT_EQ(d["ph"][1]["values"][0], fmt::format("{:016x}", 1));
  // What comes out goes back in.
  k.load_maps_json(nlohmann::json{{"maps", d}}, "round trip");
  EXPECT_EQ(k.dump_maps_json()["maps"], d);
}

TEST(Xdp, LoadMapsJsonRejectsBadEntriesNamingMapAndEntry) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("tail", kTailSrc));
  struct Case {
    const char* json;
    const char* expect;
  } cases[] = {
      {R"({"maps": {"cfg": [{"key": "00000000", "value": "01"}]}})",
       "map 'cfg' entry 0: value has 1 bytes, the map's value_size is 8"},
      {R"({"maps": {"cfg": [{"key": "00000000", "value": "0000000000000000"}, {"key": "000000", "value": "00"}]}})",
       "map 'cfg' entry 1: key has 3 bytes, the map's key_size is 4"},
      {R"({"maps": {"nosuch": []}})", "no map named 'nosuch'"},
      {R"({"maps": {"cfg": [{"key": "0g000000", "value": "00"}]}})",
       "map 'cfg' entry 0: 'g' is not a hex digit"},
      {R"({"maps": {"ph": [{"key": "00000000", "values": ["00"]}]}})", "map 'ph' entry 0:"},
      {R"({"maps": {"jump": [{"key": "00000000", "prog": "nosuch"}]}})", "map 'jump' entry 0:"},
      {R"({"maps": {"cfg": [{"key": "00000000", "prog": "target"}]}})",
       "map 'cfg' entry 0: \"prog\""},
      {R"({"maps": {"cfg": [{"key": "00000000"}]}})", "map 'cfg' entry 0: needs"},
      {R"({"maps": {"cfg": [{"key": 5, "value": "00"}]}})",
       "map 'cfg' entry 0: \"key\" must be a hex string"},
      {R"({"maps": {"cfg": {}}})", "map 'cfg': expected a list"},
      {R"({"mapz": {}})", "expected an object with a \"maps\" object"},
      {R"({"maps": )", "not valid JSON"},
  };
  int i = 0;
  for (const Case& c : cases) {
    std::string path = write_json(fmt::format("bad{}.json", i++), c.json);
    try {
      k.load_maps_json(path);
      ADD_FAILURE() << "accepted: " << c.json;
    } catch (const std::runtime_error& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.rfind(path + ": ", 0), 0u) << msg;
      EXPECT_NE(msg.find(c.expect), std::string::npos) << msg;
      EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
    }
  }
  EXPECT_THROW(k.load_maps_json("/nonexistent/maps.json"), std::runtime_error);
  EXPECT_THROW(k.map_update("cfg", le(0, 3), le(0, 8)), std::runtime_error);
  EXPECT_THROW(k.map_update("cfg", le(9, 4), le(0, 8)),
               std::runtime_error);  // index past max_entries
  EXPECT_THROW(k.map_update_prog("cfg", le(0, 4), "target"), std::runtime_error);
}

const char* kGrowSrc = R"(
SEC("xdp") int grow(struct xdp_md *ctx) {
  if (bpf_xdp_adjust_head(ctx, -4)) return XDP_ABORTED;
  unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
  if (d + 4 > end) return XDP_ABORTED;
  d[0] = 0xde; d[1] = 0xad; d[2] = 0xbe; d[3] = 0xef;
  if (bpf_xdp_adjust_tail(ctx, 6)) return XDP_ABORTED;
  if (bpf_xdp_adjust_meta(ctx, -8)) return XDP_ABORTED;
  unsigned char *m = (void *)(long)ctx->data_meta;
  d = (void *)(long)ctx->data;
  if (m + 8 > d) return XDP_ABORTED;
  m[0] = 0x4d;
  return XDP_PASS;
}
)";

TEST(Xdp, DataOutShowsHeadTailAndMetadataChanges) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  kern::KernelObject k = kern::KernelObject::open(BpfBuild::compile("grow", kGrowSrc));
  Bytes pkt(20);
  for (size_t i = 0; i < pkt.size(); ++i) pkt[i] = uint8_t(0xa0 + i);
  kern::XdpResult r = k.run_xdp("grow", pkt);
  ASSERT_EQ(r.err, 0);
  ASSERT_EQ(r.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(r.meta_len, 8u);
  Bytes want = {0x4d, 0, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef};
  want.insert(want.end(), pkt.begin(), pkt.end());
  want.insert(want.end(), 6, 0);
  EXPECT_EQ(r.packet, want);
}

const char* kEnvSrc = R"(
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 5); __type(key, __u32); __type(value, __s64); } cfg SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, __u32); __type(value, __s64); } out SEC(".maps");
static __always_inline void put(__u32 k, __s64 v) { __s64 *p = bpf_map_lookup_elem(&out, &k); if (p) *p = v; }
static __always_inline __s64 get(__u32 k) { __s64 *p = bpf_map_lookup_elem(&cfg, &k); return p ? *p : 0; }
static __always_inline long apply(struct xdp_md *ctx, __s64 op, __s64 delta) {
  if (op == 1) return bpf_xdp_adjust_head(ctx, (int)delta);
  if (op == 2) return bpf_xdp_adjust_tail(ctx, (int)delta);
  if (op == 3) return bpf_xdp_adjust_meta(ctx, (int)delta);
  return 0;
}
/* cfg: [2] op and [3] delta first, then [0] op and [1] delta; [4] the verdict
   (0 = XDP_PASS). out: [0] second helper's
   return, [1] data length, [2] metadata length, [3] ifindex, [4] rx queue,
   [5] cpu, [6] whole buffer length, [7] first helper's return. */
SEC("xdp") int env(struct xdp_md *ctx) {
  put(7, apply(ctx, get(2), get(3)));
  put(0, apply(ctx, get(0), get(1)));
  put(1, ctx->data_end - ctx->data);
  put(2, ctx->data - ctx->data_meta);
  put(3, ctx->ingress_ifindex);
  put(4, ctx->rx_queue_index);
  put(5, bpf_get_smp_processor_id());
  put(6, bpf_xdp_get_buff_len(ctx));
  return (int)get(4) ? (int)get(4) : XDP_PASS;
}
)";

class Env : public testing::Test {
 protected:
  void SetUp() override {
    if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
    k_ = std::make_unique<kern::KernelObject>(
        kern::KernelObject::open(BpfBuild::compile("env", kEnvSrc)));
  }
  // Runs env with helper `op` (1 head, 2 tail, 3 meta) by delta, after an
  // optional first helper call (op0, delta0).
  kern::XdpResult run(size_t len, int op, int delta, int op0 = 0, int delta0 = 0,
                      const kern::XdpContext* ctx = nullptr) {
    set(0, op);
    set(1, delta);
    set(2, op0);
    set(3, delta0);
    Bytes p(len);
    for (size_t i = 0; i < len; ++i) p[i] = uint8_t(i);
    return ctx ? k_->run_xdp("env", p, *ctx) : k_->run_xdp("env", p);
  }
  void set(uint32_t i, int64_t v) { k_->map_update("cfg", le(i, 4), le(uint64_t(v), 8)); }
  int64_t out(uint32_t i) { return s64(*k_->map_lookup("out", le(i, 4))); }
  // The deltas in [-4200, 4200] for which the helper succeeds: [lo, hi] and how many.
  struct Range {
    int lo = 1 << 30, hi = -(1 << 30), count = 0;
  };
  Range sweep(size_t len, int op, int op0 = 0, int delta0 = 0,
              const kern::XdpContext* ctx = nullptr) {
    Range r;
    for (int d = -4200; d <= 4200; ++d) {
      kern::XdpResult x = run(len, op, d, op0, delta0, ctx);
      if (x.err != 0) {
        ADD_FAILURE() << "test run failed: " << x.err;
        return r;
      }
      if (out(0) != 0) continue;
      r.lo = std::min(r.lo, d);
      r.hi = std::max(r.hi, d);
      ++r.count;
    }
    return r;
  }
  std::unique_ptr<kern::KernelObject> k_;
};

// The numbers docs/kernel-oracle.md gives; the reference interpreter relies on them.
constexpr int kHeadroom = 256;    // XDP_PACKET_HEADROOM
constexpr int kXdpFrame = 40;     // sizeof(struct xdp_frame): headroom no helper can take
constexpr int kMaxLinear = 3520;  // 4096 - 256 - SKB_DATA_ALIGN(sizeof(skb_shared_info)) (320)
constexpr int kEthHlen = 14;

TEST_F(Env, DefaultContextIsLoopbackQueue0OnCpu0) {
  kern::XdpResult r = run(64, 0, 0);
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(out(1), 64);
  EXPECT_EQ(out(2), 0);
  EXPECT_EQ(out(3), 1) << "ingress_ifindex";
  EXPECT_EQ(out(4), 0) << "rx_queue_index";
  EXPECT_EQ(out(5), 0) << "cpu";
  EXPECT_EQ(out(6), 64);
}

TEST_F(Env, ReturnValueIsTheVerdictUnfiltered) {
  set(4, 42);
  kern::XdpResult r = run(64, 0, 0);
  set(4, 0);
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.verdict, 42u);
  EXPECT_EQ(r.packet.size(), 64u);
}

TEST_F(Env, ContextInSetsDeviceQueueAndMetadata) {
  kern::XdpContext c;
  c.ingress_ifindex = 1;
  ASSERT_EQ(run(64, 0, 0, 0, 0, &c).err, 0);
  EXPECT_EQ(out(3), 1);
  c.rx_queue_index = 1;  // loopback has one rx queue
  EXPECT_EQ(run(64, 0, 0, 0, 0, &c).err, -EINVAL);
  c.ingress_ifindex = 0;  // a queue without a device
  EXPECT_EQ(run(64, 0, 0, 0, 0, &c).err, -EINVAL);
  c = {};
  c.ingress_ifindex = 0x7ffffff0;
  EXPECT_EQ(run(64, 0, 0, 0, 0, &c).err, -ENODEV);
  c = {};
  c.meta_len = 8;
  kern::XdpResult r = run(64, 0, 0, 0, 0, &c);
  ASSERT_EQ(r.err, 0);
  EXPECT_EQ(out(2), 8);
  EXPECT_EQ(out(1), 56);
  EXPECT_EQ(r.meta_len, 8u);
  EXPECT_EQ(r.packet.size(), 64u);  // data_out starts at data_meta
  c.meta_len = 6;                   // not a multiple of 4
  EXPECT_EQ(run(64, 0, 0, 0, 0, &c).err, -EINVAL);
  c.meta_len = 60;  // leaves less than an Ethernet header of data
  EXPECT_EQ(run(64, 0, 0, 0, 0, &c).err, -EINVAL);
  c.meta_len = kHeadroom - kXdpFrame;
  EXPECT_EQ(run(300, 0, 0, 0, 0, &c).err, 0);
  c.meta_len = kHeadroom - kXdpFrame + 4;
  EXPECT_EQ(run(300, 0, 0, 0, 0, &c).err, -EINVAL);
}

TEST_F(Env, LongPacketsKeep3520LinearBytesAndTheRestInFragments) {
  for (size_t len : {size_t(kMaxLinear), size_t(kMaxLinear + 1), size_t(8000)}) {
    kern::XdpResult r = run(len, 0, 0);
    ASSERT_EQ(r.err, 0) << len;
    EXPECT_EQ(out(1), std::min<int64_t>(int64_t(len), kMaxLinear)) << len;
    EXPECT_EQ(out(6), int64_t(len)) << len;
    ASSERT_EQ(r.packet.size(), len);
    EXPECT_EQ(r.packet[len - 1], uint8_t(len - 1));  // fragments are in data_out too
  }
  // At most 17 fragments of a page each.
  EXPECT_EQ(run(kMaxLinear + 17 * 4096, 0, 0).err, 0);
  EXPECT_EQ(run(kMaxLinear + 17 * 4096 + 1, 0, 0).err, -ENOMEM);
}

TEST_F(Env, AdjustHeadMovesFromMinus216ToLeaving14Bytes) {
  for (size_t len : {size_t(14), size_t(64), size_t(1500)}) {
    Range r = sweep(len, 1);
    EXPECT_EQ(r.lo, -(kHeadroom - kXdpFrame)) << len;
    EXPECT_EQ(r.hi, int(len) - kEthHlen) << len;
    EXPECT_EQ(r.count, r.hi - r.lo + 1) << len;
  }
  // Metadata moves with the data and uses up the same headroom.
  Range r = sweep(64, 1, 3, -32);
  EXPECT_EQ(r.lo, -(kHeadroom - kXdpFrame - 32));
  // The bytes a negative adjust_head exposes are zero.
  kern::XdpResult x = run(64, 1, -16);
  ASSERT_EQ(x.packet.size(), 80u);
  EXPECT_EQ(Bytes(x.packet.begin(), x.packet.begin() + 16), Bytes(16, 0));
  EXPECT_EQ(x.packet[16], 0);
  EXPECT_EQ(x.packet[17], 1);
}

TEST_F(Env, AdjustTailGrowsTo3520AndShrinksTo14) {
  for (size_t len : {size_t(14), size_t(64), size_t(1500), size_t(kMaxLinear)}) {
    Range r = sweep(len, 2);
    EXPECT_EQ(r.lo, kEthHlen - int(len)) << len;
    EXPECT_EQ(r.hi, kMaxLinear - int(len)) << len;
    EXPECT_EQ(r.count, r.hi - r.lo + 1) << len;
  }
  // The end is fixed in the frame: head room taken by adjust_head(-216) adds to it.
  Range r = sweep(64, 2, 1, -(kHeadroom - kXdpFrame));
  EXPECT_EQ(r.hi, kMaxLinear - 64);
  EXPECT_EQ(r.lo, kEthHlen - 64 - (kHeadroom - kXdpFrame));
  // Grown bytes are zero, and data_out has them.
  kern::XdpResult x = run(64, 2, 10);
  ASSERT_EQ(x.packet.size(), 74u);
  EXPECT_EQ(Bytes(x.packet.end() - 10, x.packet.end()), Bytes(10, 0));
  // With fragments (a 4000-byte packet: 3520 + 480) the last fragment grows to its 4096-byte page.
  r = sweep(4000, 2);
  EXPECT_EQ(r.hi, 4096 - (4000 - kMaxLinear));
  EXPECT_EQ(r.lo, kEthHlen - 4000);
}

TEST_F(Env, AdjustMetaTakesMultiplesOf4UpToTheHeadroom) {
  kern::XdpResult x = run(64, 3, -4);
  ASSERT_EQ(x.err, 0);
  EXPECT_EQ(out(0), 0);
  EXPECT_EQ(x.meta_len, 4u);
  EXPECT_EQ(x.packet.size(), 68u);
  run(64, 3, -6);
  EXPECT_EQ(out(0), -EACCES);
  run(64, 3, 4);
  EXPECT_EQ(out(0), -EINVAL);  // metadata would end after data
  Range r = sweep(64, 3);
  EXPECT_EQ(r.hi, 0);
  // Linux 6.1 capped metadata at 32 bytes; newer kernels only by the headroom.
  EXPECT_TRUE(r.lo == -32 || r.lo == -(kHeadroom - kXdpFrame)) << r.lo;
  EXPECT_EQ(r.count, -r.lo / 4 + 1);
  std::cout << "adjust_meta: metadata up to " << -r.lo << " bytes\n";
  RecordProperty("max_meta", -r.lo);
}

// ------------------------------------------------------------ open() errors

TEST(Open, ErrorsNameTheFileAndTheReason) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  try {
    kern::KernelObject::open("/nonexistent/x.o");
    ADD_FAILURE() << "opened a missing file";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind("/nonexistent/x.o: cannot open BPF object: ", 0), 0u)
        << e.what();
  }
  std::string junk = write_json("junk.o", "this is not an ELF file");
  try {
    kern::KernelObject::open(junk);
    ADD_FAILURE() << "opened a text file";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(junk + ": cannot open BPF object: ", 0), 0u) << e.what();
  }
}

TEST(Open, EgressIfindexIsNotReadableFromPlainXdp) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  std::string obj = BpfBuild::compile(
      "egress", "SEC(\"xdp\") int egress(struct xdp_md *ctx) { return ctx->egress_ifindex; }");
  EXPECT_THROW(kern::KernelObject::open(obj), std::runtime_error);
}

TEST(Open, VerifierRejectionNamesTheProgramAndTheReason) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  std::string obj = BpfBuild::compile("unchecked", R"(
SEC("xdp") int fine(struct xdp_md *ctx) { return XDP_PASS; }
SEC("xdp") int unchecked(struct xdp_md *ctx) {
  unsigned char *d = (void *)(long)ctx->data;
  return d[20];  /* no bounds check against data_end */
}
)");
  try {
    kern::KernelObject::open(obj);
    ADD_FAILURE() << "the verifier accepted an unchecked packet read";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    EXPECT_EQ(msg.rfind(obj + ": kernel verifier rejected program unchecked: ", 0), 0u) << msg;
    EXPECT_NE(msg.find("packet"), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

}  // namespace
