// The ISS device: program images (assembled here, with maps, relocations and
// entry points added the way the compiler will add them) loaded into the
// firmware, packets through them, host map operations and the maps' JSON, and
// every refusal of a bad image or a bad relocation, after which the device
// must go on working.
#include "driver/device.h"

#include "compiler/bpf/hex.h"
#include "compiler/npu/asm.h"
#include "compiler/npu/image.h"
#include "firmware/abi.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>

using namespace npu;
using namespace npu::driver;

namespace {

const Image& firmware() {
  static const Image fw = assemble_files({NPU_SOURCE_DIR "/firmware/firmware.S"});
  return fw;
}

// Programs as the compiler will emit them: linked at NPU_PROG_TEXT_BASE, map
// ids, value addresses and helper targets left 0 where a label rel_* marks a
// relocation. At entry r1 = context, r10 = stack top, r24 = data, r25 =
// data_end, r26 = data_meta.
const char* const kPrograms = R"(
drop:   exit    1
pass:   exit    2

swap_mac:
        ldpb.6  r2, [r24]
        ldpb.6  r3, [r24+6]
        stpb.6  [r24], r3
        stpb.6  [r24+6], r2
        exit    3

// bpf_redirect(9, 0)
redirect9:
        li      r1, 9
        li      r2, 0
rel_redirect:
        jal     lr, .
        exit    r0

bad_exit:
        li      r0, 7
        exit    r0

// Reads 8 bytes at data_end: a fault.
oob:
        ldp.8   r2, [r25]
        exit    2

spin:   jmp     spin

// counters[first byte] += 1; PASS, or DROP when the index is out of range.
count:
        ldp.1   r2, [r24]
        st.4    [r10-4], r2
rel_count_map:
        li      r1, 0
        add     r2, r10, -4
        mlookup r3, r1, r2
        beq     r3, 0, 1f
        li      r4, 1
        aadd.8  [r3], r4
        exit    2
1:      exit    1

// The u64 at .rodata+8 into data[0..8); .data's u64 at +0 += 1; TX.
globals:
rel_ro_lo:
        liw     r2, 0
rel_ro_hi:
        lih     r2, 0
        ld.8    r3, [r2]
        stp.8   [r24], r3
rel_data_lo:
        li      r4, 0
rel_data_hi:
        lih     r4, 0
        li      r5, 1
        aadd.8  [r4], r5
        exit    3

// Prepends 0xdeadbeef through helper_xdp_adjust_head (jal); TX, DROP on error.
push4:
        li      r2, -4
rel_push4:
        jal     lr, .
        bne     r0, 0, 1f
        li      r7, 0xdeadbeef
        stpb.4  [r24], r7
        exit    3
1:      exit    1

// Pulls 14 bytes through helper_xdp_adjust_head's index in a register (li + jalr); PASS.
pull14:
        li      r2, 14
rel_pull14:
        li      r5, 0
        jalr    lr, r5
        bne     r0, 0, 1f
        exit    2
1:      exit    1

// Tail call through jumps[first byte]; DROP when it fails.
tail:
        ldp.1   r3, [r24]
rel_tail_map:
        li      r2, 0
rel_tail_call:
        jal     lr, .
        exit    1

// The context's ifindex and rx queue into data[0..8); PASS.
ctx:
        ld.4    r2, [r1+24]
        stp.4   [r24], r2
        ld.4    r2, [r1+28]
        stp.4   [r24+4], r2
        exit    2

// flows[u32 at data] = packet length (BPF_ANY); the result into data[4..8); TX.
flow:
        ldp.4   r2, [r24]
        st.4    [r10-8], r2
        sub     r3, r25, r24
        st.8    [r10-16], r3
rel_flow_map:
        li      r1, 0
        add     r2, r10, -8
        add     r3, r10, -16
        li      r4, 0
        mupdate r0, r1, r2, r3, r4
        stp.4   [r24+4], r0
        exit    3
)";

// Map indexes of the standard image.
enum { kDummy, kCounters, kRodata, kData, kJumps, kFlows, kPcpu };

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

// Builds program images from assembly: entry points, maps and relocations by label.
class Builder {
 public:
  explicit Builder(const std::string& src = kPrograms, uint64_t base = NPU_PROG_TEXT_BASE) {
    AsmOptions o;
    o.section_base[".text"] = base;
    img_ = assemble(src, "progs.s", o);
  }
  uint64_t at(const std::string& label) const {
    const Object::Symbol* s = img_.find_symbol(label);
    EXPECT_NE(s, nullptr) << label;
    return s ? s->value : 0;
  }
  Builder& prog(const std::string& name, uint32_t stack = 16) {
    img_.programs.push_back({name, "xdp", at(name), stack, 4, 8});
    return *this;
  }
  Builder& map(const std::string& name, uint32_t type, uint32_t key, uint32_t value, uint32_t max,
               uint32_t flags = 0) {
    Object::Map m;
    m.name = name;
    m.type = type;
    m.key_size = key;
    m.value_size = value;
    m.max_entries = max;
    m.flags = flags;
    img_.maps.push_back(m);
    return *this;
  }
  Builder& global(const std::string& name, std::vector<uint8_t> initial, uint32_t flags = 0) {
    map(name, BPF_MAP_TYPE_ARRAY, 4, uint32_t(initial.size()), 1, flags);
    img_.maps.back().global_data = true;
    img_.maps.back().initial = std::move(initial);
    return *this;
  }
  Builder& reloc(const std::string& label, Object::RelocKind kind, uint32_t map,
                 int64_t addend = 0) {
    Object::Reloc r;
    r.insn = at(label);
    r.kind = kind;
    r.map = map;
    r.addend = addend;
    img_.relocs.push_back(r);
    return *this;
  }
  Builder& helper(const std::string& label, const std::string& name) {
    Object::Reloc r;
    r.insn = at(label);
    r.kind = Object::RelocKind::kHelper;
    r.helper = name;
    img_.relocs.push_back(r);
    return *this;
  }
  Image build() {
    std::sort(img_.relocs.begin(), img_.relocs.end(),
              [](const Object::Reloc& a, const Object::Reloc& b) { return a.insn < b.insn; });
    return img_;
  }
  Image& raw() { return img_; }

 private:
  Image img_;
};

std::vector<uint8_t> rodata() {
  return bytes(16, 0x40);
}

// Every program of kPrograms, and the maps they use.
Image standard_image() {
  using K = Object::RelocKind;
  Builder b;
  for (const char* p : {"drop", "pass", "swap_mac", "redirect9", "bad_exit", "oob", "spin", "count",
                        "globals", "push4", "pull14", "tail", "ctx", "flow"})
    b.prog(p);
  b.map("dummy", BPF_MAP_TYPE_ARRAY, 4, 8, 1)
      .map("counters", BPF_MAP_TYPE_ARRAY, 4, 8, 4)
      .global(".rodata", rodata(), BPF_F_RDONLY_PROG)
      .global(".data", std::vector<uint8_t>(8, 0))
      .map("jumps", BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4)
      .map("flows", BPF_MAP_TYPE_HASH, 4, 8, 16)
      .map("pcpu", BPF_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2);
  b.helper("rel_redirect", "redirect")
      .reloc("rel_count_map", K::kMapId, kCounters)
      .reloc("rel_ro_lo", K::kMapValueLo, kRodata, 8)
      .reloc("rel_ro_hi", K::kMapValueHi, kRodata, 8)
      .reloc("rel_data_lo", K::kMapValueLo, kData)
      .reloc("rel_data_hi", K::kMapValueHi, kData)
      .helper("rel_push4", "xdp_adjust_head")
      .helper("rel_pull14", "xdp_adjust_head")
      .reloc("rel_tail_map", K::kMapId, kJumps)
      .helper("rel_tail_call", "tail_call")
      .reloc("rel_flow_map", K::kMapId, kFlows);
  Image img = b.build();
  img.features = NPU_FEAT_MAPS | NPU_FEAT_ATOMICS | NPU_FEAT_TAIL_CALL | NPU_FEAT_ADJUST_HEAD |
                 NPU_FEAT_REDIRECT;
  return img;
}

// What a DeviceError says, or "(no error)".
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const DeviceError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  return "(no error)";
}

class DeviceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dev_ = std::make_unique<Device>(firmware());
    dev_->load(standard_image(), "std.npu");
  }
  // The device still serves: a fresh standard image loads and runs.
  void expect_usable() {
    dev_->load(standard_image(), "std.npu");
    XdpResult r = dev_->run_xdp("swap_mac", bytes(60));
    EXPECT_EQ(r.err, 0);
    EXPECT_EQ(r.verdict, uint32_t(XDP_TX));
    EXPECT_EQ(dev_->map_info("dummy").id, 1u);  // every map of the failed load was freed
  }
  std::unique_ptr<Device> dev_;
};

// ---- loading and relocations ----

TEST_F(DeviceTest, MapsAreCreatedThroughTheFirmware) {
  EXPECT_EQ(dev_->map_names(), (std::vector<std::string>{"dummy", "counters", ".rodata", ".data",
                                                         "jumps", "flows", "pcpu"}));
  for (uint32_t i = 0; i < 7; ++i) EXPECT_EQ(dev_->map_info(dev_->map_names()[i]).id, i + 1);
  MapInfo pc = dev_->map_info("pcpu");
  EXPECT_TRUE(pc.percpu);
  EXPECT_EQ(pc.sys_value_size, 8u);                // one CPU, rounded up to 8
  EXPECT_EQ(dev_->counter(NPU_CNT_CTRL), 7u + 2);  // seven allocations, two global data values
  EXPECT_EQ(dev_->counter(NPU_CNT_CTRL_ERR), 0u);
  EXPECT_EQ(dev_->map_lookup(".rodata", le<uint32_t>(0)), rodata());
  // Programs fill the table in image order.
  EXPECT_EQ(dev_->prog_slot("drop"), 0u);
  EXPECT_EQ(dev_->prog_slot("flow"), 13u);
  EXPECT_EQ(dev_->prog_slot("xdp"), 0u);  // by section name: the first
  EXPECT_EQ(dev_->backend().read64(NPU_CLS_BASE + NPU_CLS_PROGS + 8 * 2),
            dev_->image().programs[2].entry);
  EXPECT_EQ(error_of([&] { dev_->prog_slot("nope"); }), "std.npu: no program named 'nope'");
}

TEST_F(DeviceTest, MapIdRelocation) {
  // counters is map 2 on the device: without the relocation the program would
  // look up map 0, miss and drop.
  uint64_t at = Builder().at("rel_count_map");
  const Object::Section& text = dev_->image().sections[0];
  EXPECT_EQ(text.words[at - text.base] >> 32, 2u);
  for (int i = 0; i < 5; ++i) {
    std::vector<uint8_t> p = bytes(64);
    p[0] = uint8_t(i % 3);
    EXPECT_EQ(dev_->run_xdp("count", p).verdict, uint32_t(XDP_PASS));
  }
  std::vector<uint8_t> p = bytes(64);
  p[0] = 4;  // out of range: the lookup misses
  EXPECT_EQ(dev_->run_xdp("count", p).verdict, uint32_t(XDP_DROP));
  EXPECT_EQ(dev_->map_lookup("counters", le<uint32_t>(0)), le<uint64_t>(2));
  EXPECT_EQ(dev_->map_lookup("counters", le<uint32_t>(2)), le<uint64_t>(1));
  EXPECT_EQ(dev_->map_lookup("counters", le<uint32_t>(3)), le<uint64_t>(0));
  EXPECT_EQ(dev_->map_lookup("counters", le<uint32_t>(4)), std::nullopt);
}

TEST_F(DeviceTest, MapValueRelocations) {
  XdpResult r = dev_->run_xdp("globals", bytes(64));
  ASSERT_EQ(r.verdict, uint32_t(XDP_TX)) << r.error;
  std::vector<uint8_t> ro = rodata();
  EXPECT_EQ(std::vector<uint8_t>(r.packet.begin(), r.packet.begin() + 8),
            std::vector<uint8_t>(ro.begin() + 8, ro.end()));
  dev_->run_xdp("globals", bytes(64));
  EXPECT_EQ(dev_->map_lookup(".data", le<uint32_t>(0)), le<uint64_t>(2));
  // The host's write is what the program adds to next.
  dev_->map_update(".data", le<uint32_t>(0), le<uint64_t>(100));
  dev_->run_xdp("globals", bytes(64));
  EXPECT_EQ(dev_->map_lookup(".data", le<uint32_t>(0)), le<uint64_t>(101));
  // lo and hi halves of NPU_MAP_BASE + (id << 32) + addend.
  Builder b;
  const Object::Section& text = dev_->image().sections[0];
  uint64_t lo = text.words[b.at("rel_ro_lo") - text.base] >> 32;
  uint64_t hi = text.words[b.at("rel_ro_hi") - text.base] >> 32;
  EXPECT_EQ(hi << 32 | lo, uint64_t(NPU_MAP_BASE) + (uint64_t(3) << NPU_MAP_SHIFT) + 8);
}

TEST_F(DeviceTest, HelperRelocations) {
  // jal: pc-relative.
  XdpResult r = dev_->run_xdp("push4", bytes(64));
  ASSERT_EQ(r.verdict, uint32_t(XDP_TX)) << r.error;
  std::vector<uint8_t> want = {0xde, 0xad, 0xbe, 0xef};
  std::vector<uint8_t> p = bytes(64);
  want.insert(want.end(), p.begin(), p.end());
  EXPECT_EQ(r.packet, want);
  // li + jalr: the absolute index.
  r = dev_->run_xdp("pull14", p);
  ASSERT_EQ(r.verdict, uint32_t(XDP_PASS)) << r.error;
  EXPECT_EQ(r.packet, std::vector<uint8_t>(p.begin() + 14, p.end()));
  uint64_t helper = firmware().find_symbol("helper_xdp_adjust_head")->value;
  Builder b;
  const Object::Section& text = dev_->image().sections[0];
  EXPECT_EQ(text.words[b.at("rel_pull14") - text.base] >> 32, helper);
  EXPECT_EQ(int32_t(text.words[b.at("rel_push4") - text.base] >> 32),
            int64_t(helper) - int64_t(b.at("rel_push4")));
  // bpf_redirect records the target.
  r = dev_->run_xdp("redirect9", p);
  EXPECT_EQ(r.verdict, uint32_t(XDP_REDIRECT));
  EXPECT_EQ(r.redirect_ifindex, 9u);
}

// ---- packets ----

TEST_F(DeviceTest, VerdictsAndPacketRewrite) {
  std::vector<uint8_t> p = bytes(60);
  EXPECT_EQ(dev_->run_xdp("drop", p).verdict, uint32_t(XDP_DROP));
  XdpResult r = dev_->run_xdp("pass", p);
  EXPECT_EQ(r.verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(r.packet, p);
  EXPECT_EQ(r.meta_len, 0u);
  EXPECT_EQ(r.status, uint32_t(XDP_PASS));
  EXPECT_TRUE(r.error.empty());
  r = dev_->run_xdp("swap_mac", p);
  EXPECT_EQ(r.verdict, uint32_t(XDP_TX));
  std::vector<uint8_t> want = p;
  std::swap_ranges(want.begin(), want.begin() + 6, want.begin() + 6);
  EXPECT_EQ(r.packet, want);
  EXPECT_GT(r.insns, 40u);  // the firmware's share and the program
  EXPECT_GT(r.cycles, r.insns / 2);
  EXPECT_EQ(dev_->counter(NPU_CNT_TX), 1u);
}

TEST_F(DeviceTest, FaultsAndBadExitValuesAbort) {
  XdpResult r = dev_->run_xdp("oob", bytes(64));
  EXPECT_EQ(r.verdict, uint32_t(XDP_ABORTED));
  EXPECT_EQ(r.status, uint32_t(NPU_VERDICT_FAULT) | uint32_t(Fault::PKT_BOUNDS));
  EXPECT_EQ(r.fault, uint32_t(Fault::PKT_BOUNDS));
  EXPECT_EQ(r.fault_pc, Builder().at("oob"));
  EXPECT_EQ(r.fault_addr, NPU_PKT_BASE + NPU_HEADROOM + 64);
  EXPECT_EQ(r.error,
            fmt::format("fault PKT_BOUNDS at insn {} (address 0x{:x})", r.fault_pc, r.fault_addr));
  EXPECT_EQ(r.packet, bytes(64));
  r = dev_->run_xdp("bad_exit", bytes(64));
  EXPECT_EQ(r.verdict, 7u);  // the raw value, as BPF_PROG_TEST_RUN's retval
  EXPECT_EQ(r.status, uint32_t(NPU_VERDICT_BAD));
  EXPECT_EQ(r.error, "");
  // A packet after a fault has no fault record of its own.
  r = dev_->run_xdp("pass", bytes(64));
  EXPECT_EQ(r.fault, 0u);
  EXPECT_TRUE(r.error.empty());
}

TEST_F(DeviceTest, TestRunRules) {
  // Kernel test-run rules: at least 14 bytes of data, metadata a multiple of 4
  // up to 216 bytes, rx queue 0 on the loopback; the device adds the linear
  // frame's limit.
  EXPECT_EQ(dev_->run_xdp("pass", bytes(13)).err, -EINVAL);
  EXPECT_EQ(dev_->run_xdp("pass", {}).err, -EINVAL);
  EXPECT_EQ(dev_->run_xdp("pass", bytes(14)).err, 0);
  const size_t linear = NPU_FRAME_SIZE - NPU_HEADROOM - NPU_TAILROOM;
  EXPECT_EQ(dev_->run_xdp("pass", bytes(linear)).verdict, uint32_t(XDP_PASS));
  EXPECT_EQ(dev_->run_xdp("pass", bytes(linear + 1)).err, -EINVAL);
  EXPECT_EQ(dev_->run_xdp("pass", bytes(30), {0, 0, 6}).err, -EINVAL);
  EXPECT_EQ(dev_->run_xdp("pass", bytes(30), {0, 0, 20}).err, -EINVAL);  // 10 bytes of data
  EXPECT_EQ(dev_->run_xdp("pass", bytes(300), {0, 0, 220}).err, -EINVAL);
  EXPECT_EQ(dev_->run_xdp("pass", bytes(30), {0, 1, 0}).err, -EINVAL);
  EXPECT_EQ(dev_->counter(NPU_CNT_PASS), 2u);  // refused packets never ran

  // Metadata comes first, before and after the run.
  std::vector<uint8_t> p = bytes(40);
  XdpResult r = dev_->run_xdp("pass", p, {0, 0, 8});
  EXPECT_EQ(r.err, 0);
  EXPECT_EQ(r.meta_len, 8u);
  EXPECT_EQ(r.packet, p);
  r = dev_->run_xdp("pass", bytes(300), {0, 0, 216});
  EXPECT_EQ(r.meta_len, 216u);

  // The context: loopback by default.
  r = dev_->run_xdp("ctx", bytes(20));
  EXPECT_EQ(std::vector<uint8_t>(r.packet.begin(), r.packet.begin() + 8),
            (std::vector<uint8_t>{1, 0, 0, 0, 0, 0, 0, 0}));
  r = dev_->run_xdp("ctx", bytes(20), {7, 3, 0});
  EXPECT_EQ(std::vector<uint8_t>(r.packet.begin(), r.packet.begin() + 8),
            (std::vector<uint8_t>{7, 0, 0, 0, 3, 0, 0, 0}));
}

TEST_F(DeviceTest, RunsAreRepeatable) {
  XdpResult a = dev_->run_xdp("swap_mac", bytes(64));
  XdpResult b = dev_->run_xdp("swap_mac", bytes(64));
  EXPECT_EQ(a.insns, b.insns);
  EXPECT_EQ(a.cycles, b.cycles);
  // A longer program retires more instructions.
  EXPECT_GT(dev_->run_xdp("count", bytes(64)).insns, dev_->run_xdp("drop", bytes(64)).insns);
}

TEST(Device, ResultsDoNotDependOnTheMachineShape) {
  DeviceConfig wide;
  wide.cores = 2;
  wide.threads = 4;
  wide.timing = iss::Timing::from_yaml_text("memory: {pkt: 50, cls: 200, map: 30}\n");
  Device a(firmware()), b(firmware(), wide);
  a.load(standard_image());
  b.load(standard_image());
  for (const char* prog : {"swap_mac", "count", "globals", "push4", "pull14", "flow", "oob"}) {
    for (int k = 0; k < 3; ++k) {
      std::vector<uint8_t> p = bytes(60 + k, uint8_t(k));
      XdpResult x = a.run_xdp(prog, p), y = b.run_xdp(prog, p);
      EXPECT_EQ(x.verdict, y.verdict) << prog;
      EXPECT_EQ(x.packet, y.packet) << prog;
      EXPECT_EQ(x.insns, y.insns) << prog;
    }
  }
  EXPECT_EQ(a.dump_maps_json(), b.dump_maps_json());
}

// The driver reads cycles, instructions and fault records through the Backend
// interface only: on hardware it did not make (an ISS machine that counts the
// host's copies through the overridable host_copy) every result is the same
// as on its own machine of that shape.
TEST(Device, OnHardwareItDidNotMakeResultsAreTheSame) {
  class Counting : public iss::Machine {
   public:
    using Machine::Machine;
    uint64_t writes = 0, reads = 0;

   protected:
    void host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write) override {
      ++(write ? writes : reads);
      Machine::host_copy(addr, p, n, core, write);
    }
  };
  DeviceConfig cfg;
  cfg.cores = 2;
  cfg.threads = 2;
  Counting hw(Device::machine_config(cfg));
  Device a(firmware(), cfg), b(firmware(), hw, cfg);
  a.load(standard_image());
  b.load(standard_image());
  EXPECT_GT(hw.writes, 0u);
  for (const char* prog : {"swap_mac", "oob", "count", "oob", "pass"}) {
    std::vector<uint8_t> p = bytes(64);
    XdpResult x = a.run_xdp(prog, p), y = b.run_xdp(prog, p);
    EXPECT_EQ(x.verdict, y.verdict) << prog;
    EXPECT_EQ(x.packet, y.packet) << prog;
    EXPECT_EQ(x.status, y.status) << prog;
    EXPECT_EQ(x.fault, y.fault) << prog;
    EXPECT_EQ(x.fault_pc, y.fault_pc) << prog;
    EXPECT_EQ(x.fault_addr, y.fault_addr) << prog;
    EXPECT_EQ(x.error, y.error) << prog;
    EXPECT_EQ(x.insns, y.insns) << prog;
    EXPECT_EQ(x.cycles, y.cycles) << prog;
    EXPECT_GT(y.cycles, 0u) << prog;
    if (std::string(prog) == "oob") {
      EXPECT_EQ(y.fault, uint32_t(Fault::PKT_BOUNDS));
      EXPECT_EQ(y.fault_pc, Builder().at("oob"));
    } else {
      EXPECT_EQ(y.fault, 0u) << prog;
    }
  }
  EXPECT_GT(hw.reads, 0u);
  EXPECT_EQ(a.dump_maps_json(), b.dump_maps_json());
}

TEST(Device, AHungProgramIsStoppedAndTheDeviceGoesOn) {
  DeviceConfig cfg;
  cfg.max_cycles = 20000;
  Device dev(firmware(), cfg);
  dev.load(standard_image(), "std.npu");
  EXPECT_EQ(error_of([&] { dev.run_xdp("spin", bytes(64)); }),
            "std.npu: program 'spin' did not finish within 20000 cycles (the device was rebooted)");
  EXPECT_EQ(dev.run_xdp("swap_mac", bytes(64)).verdict, uint32_t(XDP_TX));
  dev.map_update("counters", le<uint32_t>(1), le<uint64_t>(5));
  EXPECT_EQ(dev.map_lookup("counters", le<uint32_t>(1)), le<uint64_t>(5));
}

// ---- prog arrays and tail calls ----

TEST_F(DeviceTest, ProgArraysAndTailCalls) {
  dev_->map_update_prog("jumps", le<uint32_t>(1), "swap_mac");
  EXPECT_EQ(dev_->map_lookup("jumps", le<uint32_t>(1)), le<uint32_t>(dev_->prog_slot("swap_mac")));
  std::vector<uint8_t> p = bytes(64);
  p[0] = 1;
  XdpResult r = dev_->run_xdp("tail", p);
  EXPECT_EQ(r.verdict, uint32_t(XDP_TX));  // swap_mac ran
  std::vector<uint8_t> want = p;
  std::swap_ranges(want.begin(), want.begin() + 6, want.begin() + 6);
  EXPECT_EQ(r.packet, want);
  p[0] = 2;  // an empty slot: the caller goes on
  EXPECT_EQ(dev_->run_xdp("tail", p).verdict, uint32_t(XDP_DROP));
  p[0] = 9;  // out of range
  EXPECT_EQ(dev_->run_xdp("tail", p).verdict, uint32_t(XDP_DROP));
  EXPECT_TRUE(dev_->map_delete("jumps", le<uint32_t>(1)));
  p[0] = 1;
  EXPECT_EQ(dev_->run_xdp("tail", p).verdict, uint32_t(XDP_DROP));
  EXPECT_EQ(error_of([&] { dev_->map_update_prog("counters", le<uint32_t>(0), "pass"); }),
            "std.npu: map 'counters' is not a prog array");
  EXPECT_EQ(error_of([&] { dev_->map_update_prog("jumps", le<uint32_t>(0), "nope"); }),
            "std.npu: no program named 'nope'");
}

// ---- host map operations ----

TEST_F(DeviceTest, MapOperations) {
  EXPECT_EQ(dev_->map_lookup("flows", le<uint32_t>(5)), std::nullopt);
  dev_->map_update("flows", le<uint32_t>(5), le<uint64_t>(50), BPF_NOEXIST);
  EXPECT_EQ(dev_->map_lookup("flows", le<uint32_t>(5)), le<uint64_t>(50));
  try {
    dev_->map_update("flows", le<uint32_t>(5), le<uint64_t>(51), BPF_NOEXIST);
    FAIL() << "no error";
  } catch (const DeviceError& e) {
    EXPECT_EQ(e.err(), -EEXIST);
    EXPECT_STREQ(e.what(), "std.npu: map 'flows': update failed: File exists");
  }
  // A program's update, seen from the host.
  std::vector<uint8_t> p = bytes(100);
  XdpResult r = dev_->run_xdp("flow", p);
  EXPECT_EQ(std::vector<uint8_t>(r.packet.begin() + 4, r.packet.begin() + 8), le<int32_t>(0));
  EXPECT_EQ(dev_->map_lookup("flows", std::vector<uint8_t>(p.begin(), p.begin() + 4)),
            le<uint64_t>(100));
  Entries all = dev_->map_dump("flows");
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(dev_->map_delete("flows", le<uint32_t>(5)));
  EXPECT_FALSE(dev_->map_delete("flows", le<uint32_t>(5)));
  EXPECT_EQ(dev_->map_dump("flows").size(), 1u);
  EXPECT_EQ(dev_->map_dump("counters").size(), 4u);  // arrays: every index
  EXPECT_EQ(dev_->map_dump("jumps").size(), 0u);     // empty prog array slots are left out

  // Percpu maps: one CPU's value or the whole buffer; the host sees the buffer.
  dev_->map_update("pcpu", le<uint32_t>(1), le<uint32_t>(0x11223344));
  EXPECT_EQ(dev_->map_lookup("pcpu", le<uint32_t>(1)),
            (std::vector<uint8_t>{0x44, 0x33, 0x22, 0x11, 0, 0, 0, 0}));

  EXPECT_EQ(error_of([&] { dev_->map_delete("counters", le<uint32_t>(0)); }),
            "std.npu: map 'counters': delete failed: Invalid argument");
  EXPECT_EQ(error_of([&] { dev_->map_update("counters", le<uint32_t>(9), le<uint64_t>(1)); }),
            "std.npu: map 'counters': update failed: Argument list too long");
  EXPECT_EQ(error_of([&] { dev_->map_lookup("counters", le<uint64_t>(0)); }),
            "std.npu: map 'counters': key has 8 bytes, the map's key_size is 4");
  EXPECT_EQ(error_of([&] { dev_->map_update("counters", le<uint32_t>(0), le<uint32_t>(0)); }),
            "std.npu: map 'counters': value has 4 bytes, the map's value_size is 8");
  EXPECT_EQ(error_of([&] { dev_->map_update("pcpu", le<uint32_t>(0), bytes(6)); }),
            "std.npu: map 'pcpu': value has 6 bytes, expected 4 (one CPU) or 8 (all 1 CPUs)");
  EXPECT_EQ(error_of([&] { dev_->map_info("nope"); }), "std.npu: no map named 'nope'");
}

// ---- JSON ----

TEST(Device, MapsJsonRoundTrip) {
  DeviceConfig cfg;
  cfg.map_cpus = 2;
  Device dev(firmware(), cfg);
  dev.load(standard_image(), "std.npu");
  nlohmann::json init = nlohmann::json::parse(R"({"maps": {
    "counters": [{"key": "01000000", "value": "0700000000000000"}],
    "flows": [{"key": "0a 00 00 01", "value": "0100000000000000"},
              {"key": "0a000002", "value": "0200000000000000"}],
    "jumps": [{"key": "02000000", "prog": "swap_mac"}],
    "pcpu": [{"key": "00000000", "values": ["01000000", "02000000"]},
             {"key": "01000000", "value": "05000000"}]
  }})");
  dev.load_maps_json(init, "init.json");
  nlohmann::json out = dev.dump_maps_json();
  EXPECT_EQ(out["maps"]["jumps"],
            nlohmann::json::parse(R"([{"key": "02000000", "prog": "swap_mac"}])"));
  EXPECT_EQ(out["maps"]["flows"], nlohmann::json::parse(R"([
    {"key": "0a000001", "value": "0100000000000000"},
    {"key": "0a000002", "value": "0200000000000000"}])"));
  EXPECT_EQ(out["maps"]["pcpu"], nlohmann::json::parse(R"([
    {"key": "00000000", "values": ["01000000", "02000000"]},
    {"key": "01000000", "values": ["05000000", "05000000"]}])"));
  EXPECT_EQ(out["maps"]["counters"][1]["value"], "0700000000000000");
  EXPECT_EQ(out["maps"][".rodata"][0]["value"], bpf::to_hex(rodata()));
  EXPECT_EQ(out["maps"].size(), 7u);
  // The prog array entry works, and the dump loads back into a fresh device unchanged.
  std::vector<uint8_t> p = bytes(64);
  p[0] = 2;
  EXPECT_EQ(dev.run_xdp("tail", p).verdict, uint32_t(XDP_TX));
  Device again(firmware(), cfg);
  again.load(standard_image(), "std.npu");
  std::string path = testing::TempDir() + "device_maps.json";
  std::ofstream(path) << out.dump();
  again.load_maps_json(path);
  EXPECT_EQ(again.dump_maps_json(), out);
}

TEST_F(DeviceTest, MapsJsonErrors) {
  auto load = [&](const char* text) {
    return error_of([&] { dev_->load_maps_json(nlohmann::json::parse(text), "m.json"); });
  };
  EXPECT_EQ(load(R"({"x": 1})"), "m.json: expected an object with a \"maps\" object");
  EXPECT_EQ(load(R"({"maps": {"nope": []}})"), "m.json: no map named 'nope' in std.npu");
  EXPECT_EQ(load(R"({"maps": {"flows": {}}})"), "m.json: map 'flows': expected a list");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"value": "00"}]}})"),
            "m.json: map 'flows' entry 0: needs a \"key\" hex string");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"key": "0000", "value": "00"}]}})"),
            "m.json: map 'flows' entry 0: key has 2 bytes, the map's key_size is 4");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"key": "00000000", "value": "00"}]}})"),
            "m.json: map 'flows' entry 0: value has 1 bytes, the map's value_size is 8");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"key": "00000000", "prog": "pass"}]}})"),
            "m.json: map 'flows' entry 0: \"prog\" (a program name) is only for prog arrays");
  EXPECT_EQ(load(R"({"maps": {"jumps": [{"key": "00000000", "prog": "nope"}]}})"),
            "m.json: map 'jumps' entry 0: no program 'nope'");
  EXPECT_EQ(load(R"({"maps": {"pcpu": [{"key": "00000000", "values": ["00", "00"]}]}})"),
            "m.json: map 'pcpu' entry 0: 2 values for 1 CPUs");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"key": "00000000", "values": []}]}})"),
            "m.json: map 'flows' entry 0: \"values\" (a list, one per CPU) is only for percpu "
            "maps");
  EXPECT_EQ(load(R"({"maps": {"flows": [{"key": "00000000"}]}})"),
            "m.json: map 'flows' entry 0: needs a \"value\", \"values\" or \"prog\"");
  EXPECT_EQ(load(R"({"maps": {"counters": [{"key": "09000000", "value": "0000000000000000"}]}})"),
            "m.json: map 'counters' entry 0: update failed: Argument list too long");
  EXPECT_NE(load(R"({"maps": {"flows": [{"key": "zz000000", "value": "00"}]}})")
                .find("m.json: map 'flows' entry 0"),
            std::string::npos);
  std::string missing = testing::TempDir() + "no_such_maps.json";
  EXPECT_EQ(error_of([&] { dev_->load_maps_json(missing); }).rfind(missing + ": cannot open", 0),
            0u);
}

// ---- refusals ----

TEST_F(DeviceTest, BadImagesAreRefusedAndTheDeviceGoesOn) {
  using K = Object::RelocKind;
  struct Case {
    const char* what;
    std::function<void(Image&)> spoil;
    std::string error;
  };
  uint64_t count_map = Builder().at("rel_count_map");
  std::vector<Case> cases = {
      {"no programs", [](Image& i) { i.programs.clear(); }, "bad.npu: no programs to load"},
      {"map index", [](Image& i) { i.relocs[1].map = 40; },
       fmt::format("bad.npu: relocation 1 (map_id at insn {}): map 40 does not exist (7 maps)",
                   count_map)},
      {"unsorted", [](Image& i) { std::swap(i.relocs[0], i.relocs[1]); },
       fmt::format("bad.npu: relocation 1 (helper at insn {}): relocations must be sorted by "
                   "instruction, one per instruction",
                   Builder().at("rel_redirect"))},
      {"no immediate",
       [](Image& i) { i.relocs[1].insn = Builder().at("count") + 1; },  // st.4 [r10-4], r2
       fmt::format("bad.npu: relocation 1 (map_id at insn {}): 'st.4' has no immediate value to "
                   "patch",
                   Builder().at("count") + 1)},
      {"outside the code", [](Image& i) { i.relocs.back().insn = 99999; },
       "bad.npu: relocation 10 (map_id at insn 99999): not in a code section"},
      {"unknown helper", [](Image& i) { i.relocs[0].helper = "nope"; },
       fmt::format("bad.npu: relocation 0 (helper at insn {}): the firmware has no helper 'nope' "
                   "(helper_nope)",
                   Builder().at("rel_redirect"))},
      {"past the window of a big array",
       [](Image& i) {
         for (Object::Reloc& r : i.relocs)
           if (r.kind == K::kMapValueLo) r.map = kCounters, r.addend = 32;
       },
       fmt::format("bad.npu: relocation 2 (map_value_lo at insn {}): addend 32 is outside the "
                   "32-byte window of map 'counters'",
                   Builder().at("rel_ro_lo"))},
      {"addend past the value",
       [](Image& i) {
         for (Object::Reloc& r : i.relocs)
           if (r.kind == K::kMapValueHi) r.addend = 16;
       },
       fmt::format("bad.npu: relocation 3 (map_value_hi at insn {}): addend 16 is outside the "
                   "16-byte value of map '.rodata'",
                   Builder().at("rel_ro_hi"))},
      {"data section",
       [](Image& i) {
         Object::Section s;
         s.name = ".data";
         s.base = NPU_CLS_BASE + NPU_CLS_FW_DATA;
         s.bytes = {1, 2, 3};
         i.sections.push_back(s);
       },
       "bad.npu: section .data: a program image keeps its data in maps, not in device memory"},
      {"stack", [](Image& i) { i.programs[3].stack_size = 520; },
       "bad.npu: program 'redirect9' needs 520 bytes of stack, a thread has 512"},
      {"unknown feature", [](Image& i) { i.features |= uint64_t(1) << 40; },
       "bad.npu: needs features this device does not know (0x10000000000)"},
      {"too many programs",
       [](Image& i) {
         for (int k = 0; k < 60; ++k)
           i.programs.push_back({fmt::format("p{}", k), "xdp", i.programs[0].entry, 0, 1, 1});
       },
       "bad.npu: 74 programs, the program table has 64 slots"},
      {"too many maps",
       [](Image& i) {
         for (int k = 0; k < 60; ++k) {
           Object::Map m = i.maps[0];
           m.name = fmt::format("m{}", k);
           i.maps.push_back(m);
         }
       },
       "bad.npu: 67 maps, the device holds at most 63"},
      {"value too big for a control message", [](Image& i) { i.maps[kFlows].value_size = 30000; },
       "bad.npu: map 'flows': a 4-byte key and 30000-byte value do not fit a control message "
       "(28672 bytes)"},
      {"global data in a hash", [](Image& i) { i.maps[kData].type = BPF_MAP_TYPE_HASH; },
       "bad.npu: map 3 '.data': global data needs a one-entry array with 4-byte keys"},
      {"entry outside the code", [](Image& i) { i.programs[1].entry = 7; },
       "bad.npu: program 1 'pass': entry 7 is not in a code section"},
  };
  for (const Case& c : cases) {
    Image img = standard_image();
    c.spoil(img);
    EXPECT_EQ(error_of([&] { dev_->load(img, "bad.npu"); }), c.error) << c.what;
    // Refused before anything changed: the loaded image still runs.
    EXPECT_TRUE(dev_->loaded()) << c.what;
    EXPECT_EQ(dev_->run_xdp("drop", bytes(20)).verdict, uint32_t(XDP_DROP)) << c.what;
  }
  expect_usable();
}

TEST_F(DeviceTest, RefusalsFromTheFirmwareUndoTheLoad) {
  // The firmware refuses the fifth map (no such type): the four before it are
  // freed again and nothing is loaded.
  Image img = standard_image();
  img.maps[kJumps].type = 0x7fff;
  EXPECT_EQ(error_of([&] { dev_->load(img, "bad.npu"); }),
            "bad.npu: map 'jumps': the device refused it: Invalid argument");
  EXPECT_FALSE(dev_->loaded());
  EXPECT_TRUE(dev_->map_names().empty());
  EXPECT_EQ(error_of([&] { dev_->run_xdp("pass", bytes(20)); }), "device: no image loaded");
  expect_usable();
  // The same for a global value the firmware does not take: a .rodata that is
  // read-only for the host too.
  img = standard_image();
  img.maps[kRodata].flags = BPF_F_RDONLY;
  std::string e = error_of([&] { dev_->load(img, "bad.npu"); });
  EXPECT_EQ(e, "bad.npu: map '.rodata': writing its initial value: Operation not permitted");
  EXPECT_FALSE(dev_->loaded());
  expect_usable();
}

TEST(Device, CodeStoreLimit) {
  DeviceConfig cfg;
  cfg.code_store = NPU_PROG_TEXT_BASE + 50;
  Device dev(firmware(), cfg);
  Image img = standard_image();
  EXPECT_EQ(error_of([&] { dev.load(img, "big.npu"); }),
            fmt::format("big.npu: code section .text at [4096, {}) does not fit the code store: "
                        "programs have [4096, 4146) (NPU_PROG_TEXT_BASE to the store's 4146 "
                        "instructions)",
                        img.sections[0].end()));
  Builder low("a: exit 2\n", 0x800);
  low.prog("a");
  EXPECT_EQ(error_of([&] { dev.load(low.build(), "low.npu"); }),
            "low.npu: code section .text at [2048, 2049) does not fit the code store: programs "
            "have [4096, 4146) (NPU_PROG_TEXT_BASE to the store's 4146 instructions)");
  Builder small("a: exit 2\n");
  small.prog("a");
  dev.load(small.build(), "small.npu");
  EXPECT_EQ(dev.run_xdp("a", bytes(20)).verdict, uint32_t(XDP_PASS));
  cfg.code_store = NPU_PROG_TEXT_BASE;
  EXPECT_EQ(error_of([&] { Device d(firmware(), cfg); }),
            "device: a code store of 4096 instructions leaves no room for programs, which start "
            "at NPU_PROG_TEXT_BASE (4096)");
}

TEST(Device, FirmwareWithoutTheHelpers) {
  // A firmware that serves nothing: its threads halt at once.
  Image fw = assemble(".global _start\n_start: halt\n", "fw.s");
  Device dev(fw);
  Image img = standard_image();
  EXPECT_EQ(error_of([&] { dev.load(img, "std.npu"); }),
            "std.npu: needs feature tail_call, but the firmware has no helper_tail_call");
  img.features = 0;
  EXPECT_EQ(error_of([&] { dev.load(img, "std.npu"); }),
            fmt::format("std.npu: relocation 0 (helper at insn {}): the firmware has no helper "
                        "'redirect' (helper_redirect)",
                        Builder().at("rel_redirect")));
  // No control message is ever answered.
  img.relocs.clear();
  EXPECT_EQ(error_of([&] { dev.load(img, "std.npu"); }),
            "std.npu: map 'dummy': the firmware sent no reply");
  EXPECT_FALSE(dev.loaded());
}

TEST(Device, FirmwareImagesAreChecked) {
  EXPECT_EQ(error_of([&] { Device d(assemble("halt\n", "fw.s")); }),
            "firmware: no global code symbol '_start'");
  EXPECT_EQ(error_of([&] {
              Device d(assemble(".global _start\n_start: halt\n.org 5000\nhalt\n", "fw.s"));
            }),
            "firmware: code section .text ends at instruction 5001, above NPU_PROG_TEXT_BASE "
            "(4096)");
  DeviceConfig cfg;
  cfg.threads = 0;
  EXPECT_EQ(error_of([&] { Device d(firmware(), cfg); }),
            "device: machine: need 1 or more cores and 1 to 64 threads per core");
  EXPECT_EQ(error_of([&] { Device d(standard_image()); }),
            "firmware: a compiled program image is no firmware");
}

TEST_F(DeviceTest, UnloadFreesEverything) {
  dev_->unload();
  EXPECT_FALSE(dev_->loaded());
  EXPECT_TRUE(dev_->prog_names().empty());
  EXPECT_TRUE(dev_->backend().engines().map_ids().empty());
  EXPECT_EQ(dev_->backend().read64(NPU_CLS_BASE + NPU_CLS_PROGS), 0u);
  EXPECT_EQ(error_of([&] { dev_->map_lookup("counters", le<uint32_t>(0)); }),
            "device: no map named 'counters'");
  expect_usable();
  // Loading again replaces the image: the maps start over.
  dev_->map_update("counters", le<uint32_t>(0), le<uint64_t>(9));
  dev_->load(standard_image(), "std.npu");
  EXPECT_EQ(dev_->map_lookup("counters", le<uint32_t>(0)), le<uint64_t>(0));
  EXPECT_EQ(dev_->backend().engines().map_ids().size(), 7u);
}

}  // namespace

// ---- raw control messages, as the card's BAR carries them ----

TEST_F(DeviceTest, ControlMessagesFromTheHost) {
  const uint32_t flows = dev_->map_info("flows").id;
  auto reply = [](const std::vector<uint8_t>& r, uint16_t seq) {
    CmsgReply out;
    std::string why;
    EXPECT_TRUE(parse_reply(r.data(), r.size(), r[NPU_CMSG_TYPE] & 0x7f, seq, &out, &why)) << why;
    return out;
  };
  // The host's sequence number comes back; the value lands in the map.
  CmsgReply u = reply(
      dev_->control(cmsg_map_update(41, flows, BPF_ANY, le<uint32_t>(7), le<uint64_t>(70))), 41);
  EXPECT_EQ(u.err, 0);
  EXPECT_EQ(dev_->map_lookup("flows", le<uint32_t>(7)), le<uint64_t>(70));
  CmsgReply l =
      reply(dev_->control(cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 42, flows, 0, le<uint32_t>(7))), 42);
  EXPECT_EQ(l.payload, le<uint64_t>(70));
  // The firmware's errors pass through.
  CmsgReply e = reply(
      dev_->control(cmsg_map_update(43, flows, BPF_NOEXIST, le<uint32_t>(7), le<uint64_t>(1))), 43);
  EXPECT_EQ(e.err, -EEXIST);
  // Allocation is the loader's; maps it did not make are not the host's.
  npu_map_def def{BPF_MAP_TYPE_ARRAY, 4, 8, 4, 0, 0};
  EXPECT_EQ(reply(dev_->control(cmsg_map_alloc(44, def)), 44).err, -EPERM);
  EXPECT_EQ(reply(dev_->control(cmsg_map_op(NPU_CMSG_MAP_FREE, 45, flows, 0)), 45).err, -EPERM);
  EXPECT_EQ(
      reply(dev_->control(cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 46, 60, 0, le<uint32_t>(7))), 46).err,
      -ENOENT);
  // Malformed: a length that is not the message's, a short message, a bad version.
  std::vector<uint8_t> bad = cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 47, flows, 0, le<uint32_t>(7));
  bad[NPU_CMSG_LEN] += 8;
  EXPECT_EQ(reply(dev_->control(bad), 47).err, -EINVAL);
  bad = cmsg_map_op(NPU_CMSG_MAP_GETFIRST, 48, flows, 0);
  bad.resize(NPU_CMSG_HDR_SIZE);
  bad[NPU_CMSG_LEN] = NPU_CMSG_HDR_SIZE;
  EXPECT_EQ(reply(dev_->control(bad), 48).err, -EINVAL);
  bad = cmsg_map_op(NPU_CMSG_MAP_GETFIRST, 49, flows, 0);
  bad[NPU_CMSG_VER] = 9;
  EXPECT_EQ(reply(dev_->control(bad), 49).err, -EINVAL);
  // Nothing reached the firmware for the refusals; the device still serves.
  EXPECT_EQ(dev_->counter(NPU_CNT_CTRL_ERR), 1u);  // the NOEXIST update only
  expect_usable();
}
