// The kernel mirror (driver/kernel_mirror.h): the examples and small programs
// of tests/driver/data loaded into the running kernel, checked against what
// bpftool reports, their maps pinned under a directory of /sys/fs/bpf of
// each test's own, synced and read back, reused and replaced by a second
// load, pruned and unpinned; a program the verifier refuses. Every test skips,
// saying why, where the kernel cannot be used.
#include "driver/kernel_mirror.h"

#include "sim/kernel/oracle.h"

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <nlohmann/json.hpp>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <vector>

using namespace npu::driver;

namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;

Bytes read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (was it built?)");
  return Bytes(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

Bytes example(const std::string& name) {
  return read_bytes(fmt::format("{}/{}.o", NPU_EXAMPLES_DIR, name));
}

Bytes data_obj(const std::string& name) {
  return read_bytes(fmt::format("{}/{}.o", MIRROR_DATA_DIR, name));
}

Bytes le(uint64_t v, size_t n) {
  Bytes b(n, 0);
  std::memcpy(b.data(), &v, std::min<size_t>(n, 8));
  return b;
}

// A value of `size` bytes whose first 8 hold v.
Bytes val(uint64_t v, size_t size) {
  return le(v, size);
}

// A percpu value in the kernel's layout: CPU c holds base + c in its first 8 bytes.
Bytes percpu(const MirrorMap& m, uint64_t base) {
  size_t stride = (m.value_size + 7) / 8 * 8;
  Bytes b(m.sys_value_size, 0);
  for (size_t c = 0; c * stride < b.size(); ++c) {
    uint64_t x = base + c;
    std::memcpy(b.data() + c * stride, &x, std::min<size_t>(8, m.value_size));
  }
  return b;
}

Entries sorted(Entries e) {
  std::sort(e.begin(), e.end());
  return e;
}

// stdout of a shell command, and its exit status.
std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>/dev/null").c_str(), "r");
  if (!p) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = st;
  return out;
}

bool have_bpftool() {
  int st = -1;
  run(std::string(BPFTOOL) + " version", &st);
  return st == 0;
}

nlohmann::json bpftool_json(const std::string& args) {
  int st = -1;
  std::string out = run(fmt::format("{} -j {}", BPFTOOL, args), &st);
  if (st != 0) throw std::runtime_error(fmt::format("bpftool {} failed: {}", args, out));
  return nlohmann::json::parse(out);
}

std::set<std::string> dir_entries(const std::string& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.insert(e.path().filename().string());
  return out;
}

uint32_t pinned_map_id(const std::string& path) {
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return 0;
  bpf_map_info info = {};
  uint32_t len = sizeof info;
  uint32_t id = bpf_obj_get_info_by_fd(fd, &info, &len) == 0 ? info.id : 0;
  close(fd);
  return id;
}

class KernelMirrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why = kernel_unavailable_reason();
    if (!why.empty()) GTEST_SKIP() << "kernel not usable: " << why;
    const auto* t = ::testing::UnitTest::GetInstance()->current_test_info();
    base_ = fmt::format("/sys/fs/bpf/npu_kmirror_test_{}_{}", getpid(), t->name());
    dir_ = base_ + "/card0";
    ensure_bpffs_dir(base_);
  }
  void TearDown() override {
    if (base_.empty()) return;
    std::error_code ec;
    fs::remove_all(base_, ec);
  }

  std::unique_ptr<KernelMirror> load(const Bytes& obj, const std::string& name,
                                     const std::string& prog = "") {
    return KernelMirror::load(obj, name, prog, dir_);
  }

  const MirrorMap& map(const KernelMirror& k, const std::string& name) {
    const MirrorMap* m = k.find(name);
    if (!m) throw std::runtime_error("no map " + name);
    return *m;
  }

  std::string base_, dir_;
};

// ------------------------------------------------------------------ loading

TEST_F(KernelMirrorTest, LoadGivesTheIdAndTagBpftoolReports) {
  auto k = load(example("firewall"), "firewall.o");
  const KernelProgInfo& p = k->prog();
  EXPECT_GE(p.fd, 0);
  EXPECT_GT(p.id, 0u);
  EXPECT_EQ(p.name, "xdp_firewall");
  EXPECT_EQ(p.kernel_name, "xdp_firewall");
  EXPECT_EQ(p.type, uint32_t(BPF_PROG_TYPE_XDP));
  EXPECT_TRUE(p.gpl);
  EXPECT_EQ(p.tag.size(), 16u);
  EXPECT_GT(p.xlated, 0u);
  EXPECT_EQ(p.uid, geteuid());
  EXPECT_GT(p.btf_id, 0u);
  EXPECT_NEAR(double(p.loaded_at), double(time(nullptr)), 5.0);
  ASSERT_EQ(k->maps().size(), 3u);
  std::set<uint32_t> ids;
  for (const MirrorMap& m : k->maps()) ids.insert(m.id);
  EXPECT_EQ(std::set<uint32_t>(p.map_ids.begin(), p.map_ids.end()), ids);

  if (!have_bpftool()) GTEST_SKIP() << "no bpftool (" << BPFTOOL << ") to compare with";
  nlohmann::json j = bpftool_json(fmt::format("prog show id {}", p.id));
  EXPECT_EQ(j.at("id").get<uint32_t>(), p.id);
  EXPECT_EQ(j.at("tag").get<std::string>(), p.tag);
  EXPECT_EQ(j.at("name").get<std::string>(), p.kernel_name);
  EXPECT_EQ(j.at("type").get<std::string>(), "xdp");
  EXPECT_EQ(j.at("bytes_xlated").get<uint32_t>(), p.xlated);
  EXPECT_EQ(j.at("btf_id").get<uint32_t>(), p.btf_id);
  EXPECT_NEAR(j.at("loaded_at").get<double>(), double(p.loaded_at), 1.0);
  auto bt_ids = j.at("map_ids").get<std::vector<uint32_t>>();
  EXPECT_EQ(std::set<uint32_t>(bt_ids.begin(), bt_ids.end()), ids);
}

TEST_F(KernelMirrorTest, MapsArePinnedUnderTheDirByName) {
  auto k = load(example("firewall"), "firewall.o");
  EXPECT_EQ(dir_entries(dir_), (std::set<std::string>{"src_block", "rules", "verdict_cnt"}));
  for (const MirrorMap& m : k->maps()) {
    EXPECT_EQ(m.pin_path, dir_ + "/" + m.name);
    EXPECT_EQ(pinned_map_id(m.pin_path), m.id) << m.name;
    EXPECT_FALSE(m.reused);
    EXPECT_TRUE(m.synced);
  }
  const MirrorMap& rules = map(*k, "rules");
  EXPECT_EQ(rules.type, uint32_t(BPF_MAP_TYPE_HASH));
  EXPECT_EQ(rules.key_size, 12u);
  EXPECT_EQ(rules.value_size, 16u);
  EXPECT_EQ(rules.sys_value_size, 16u);
  const MirrorMap& cnt = map(*k, "verdict_cnt");
  EXPECT_EQ(cnt.type, uint32_t(BPF_MAP_TYPE_ARRAY));
  EXPECT_EQ(cnt.max_entries, uint32_t(XDP_REDIRECT + 1));
  EXPECT_EQ(k->find("nope"), nullptr);
  // The directory is root's only.
  struct stat st = {};
  ASSERT_EQ(stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  if (!have_bpftool()) GTEST_SKIP() << "no bpftool (" << BPFTOOL << ") to compare with";
  nlohmann::json j = bpftool_json("map show pinned " + rules.pin_path);
  EXPECT_EQ(j.at("id").get<uint32_t>(), rules.id);
  EXPECT_EQ(j.at("name").get<std::string>(), "rules");
}

TEST_F(KernelMirrorTest, EveryExampleLoads) {
  for (const char* name : {"parser", "firewall", "lb", "router", "vlan", "icmp_echo", "ratelimit",
                           "loops", "calls", "tailcall"}) {
    SCOPED_TRACE(name);
    std::string dir = fmt::format("{}/{}", base_, name);
    std::unique_ptr<KernelMirror> k;
    ASSERT_NO_THROW(k = KernelMirror::load(example(name), std::string(name) + ".o", "", dir));
    EXPECT_GT(k->prog().id, 0u);
    EXPECT_EQ(dir_entries(dir).size(), k->maps().size());
  }
}

TEST_F(KernelMirrorTest, MapTypesThatCannotBeMirroredAreNotSynced) {
  auto router = load(example("router"), "router.o");
  const MirrorMap& routes = map(*router, "routes");
  EXPECT_EQ(routes.type, uint32_t(BPF_MAP_TYPE_LPM_TRIE));
  EXPECT_TRUE(routes.flags & BPF_F_NO_PREALLOC);
  EXPECT_TRUE(routes.synced);
  const MirrorMap& ports = map(*router, "tx_ports");
  EXPECT_EQ(ports.type, uint32_t(BPF_MAP_TYPE_DEVMAP));
  EXPECT_FALSE(ports.synced);
  EXPECT_TRUE(map(*router, "rt_stats").synced);
  try {
    router->sync(ports, {});
    FAIL() << "sync of a devmap";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("tx_ports"), std::string::npos) << e.what();
  }

  std::string dir = base_ + "/tail";
  auto tail = KernelMirror::load(example("tailcall"), "tailcall.o", "xdp_dispatch", dir);
  EXPECT_EQ(tail->prog().name, "xdp_dispatch");
  const MirrorMap& jmp = map(*tail, "jmp_table");
  EXPECT_EQ(jmp.type, uint32_t(BPF_MAP_TYPE_PROG_ARRAY));
  EXPECT_FALSE(jmp.synced);
  EXPECT_TRUE(tail->read(jmp).empty());  // empty slots read as nothing
}

TEST_F(KernelMirrorTest, ProgramIsChosenByNameOrSection) {
  auto k = load(example("tailcall"), "tailcall.o", "xdp_udp");
  EXPECT_EQ(k->prog().name, "xdp_udp");
  std::string dir = base_ + "/sec";
  auto first = KernelMirror::load(example("tailcall"), "tailcall.o", "xdp", dir);
  EXPECT_EQ(first->prog().name, "xdp_dispatch");
  try {
    load(example("tailcall"), "tailcall.o", "xdp_nope");
    FAIL() << "no such program";
  } catch (const KernelLoadError& e) {
    EXPECT_EQ(e.err, -ENOENT);
    EXPECT_NE(std::string(e.what()).find("xdp_nope"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("xdp_dispatch"), std::string::npos) << e.what();
  }
}

// ------------------------------------------------------------------ contents

TEST_F(KernelMirrorTest, HashSyncAndReadRoundTrip) {
  auto k = load(example("firewall"), "firewall.o");
  const MirrorMap& m = map(*k, "rules");
  Bytes k1 = {10, 0, 0, 1, 10, 0, 0, 2, 0, 80, 6, 0}, k2 = {0, 0, 0, 0, 10, 0, 0, 3, 0, 53, 17, 0};
  Bytes k3 = {10, 0, 0, 9, 10, 0, 0, 2, 0, 22, 6, 0};
  Entries want = {{k1, val(5, 16)}, {k2, val(7, 16)}};
  EXPECT_EQ(k->sync(m, want), 2u);
  EXPECT_EQ(sorted(k->read(m)), sorted(want));
  EXPECT_EQ(k->sync(m, want), 0u);  // nothing differs
  // k1 changes, k2 goes, k3 comes.
  Entries next = {{k1, val(6, 16)}, {k3, val(1, 16)}};
  EXPECT_EQ(k->sync(m, next), 3u);
  EXPECT_EQ(sorted(k->read(m)), sorted(next));

  if (have_bpftool()) {
    nlohmann::json j = bpftool_json("map dump pinned " + m.pin_path);
    EXPECT_EQ(j.size(), 2u) << j.dump();
  }
  EXPECT_EQ(k->sync(m, {}), 2u);
  EXPECT_TRUE(k->read(m).empty());
}

TEST_F(KernelMirrorTest, ArraySyncZeroesAbsentIndexes) {
  auto k = load(example("firewall"), "firewall.o");
  const MirrorMap& m = map(*k, "verdict_cnt");
  Entries all = k->read(m);
  ASSERT_EQ(all.size(), m.max_entries);  // every index, zero
  for (auto& [key, value] : all) EXPECT_EQ(value, Bytes(16, 0));
  EXPECT_EQ(k->sync(m, {{le(1, 4), val(11, 16)}, {le(2, 4), val(22, 16)}}), 2u);
  // Index 1 is absent now: zeroed; 2 is unchanged; 3 is new.
  EXPECT_EQ(k->sync(m, {{le(2, 4), val(22, 16)}, {le(3, 4), val(33, 16)}}), 2u);
  Entries got = k->read(m);
  ASSERT_EQ(got.size(), m.max_entries);
  for (auto& [key, value] : got) {
    uint32_t i;
    std::memcpy(&i, key.data(), 4);
    EXPECT_EQ(value, val(i == 2 ? 22 : i == 3 ? 33 : 0, 16)) << "index " << i;
  }
  EXPECT_EQ(k->sync(m, {}), 2u);
  for (auto& [key, value] : k->read(m)) EXPECT_EQ(value, Bytes(16, 0));
  // Past the end: the kernel's E2BIG, naming the map.
  try {
    k->sync(m, {{le(m.max_entries, 4), val(1, 16)}});
    FAIL() << "index past the end";
  } catch (const std::runtime_error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find("verdict_cnt"), std::string::npos) << w;
    EXPECT_NE(w.find(std::strerror(E2BIG)), std::string::npos) << w;
  }
}

TEST_F(KernelMirrorTest, PercpuArraySyncUsesEveryCpusValue) {
  auto k = load(example("lb"), "lb.o");
  const MirrorMap& m = map(*k, "lb_stats");
  ASSERT_EQ(m.type, uint32_t(BPF_MAP_TYPE_PERCPU_ARRAY));
  EXPECT_EQ(m.sys_value_size, (m.value_size + 7) / 8 * 8 * size_t(kern::possible_cpus()));
  Entries want = {{le(0, 4), percpu(m, 100)}, {le(2, 4), percpu(m, 200)}};
  EXPECT_EQ(k->sync(m, want), 2u);
  Entries got = k->read(m);
  ASSERT_EQ(got.size(), m.max_entries);
  for (auto& [key, value] : got) {
    uint32_t i;
    std::memcpy(&i, key.data(), 4);
    EXPECT_EQ(value, i == 0   ? percpu(m, 100)
                     : i == 2 ? percpu(m, 200)
                              : Bytes(m.sys_value_size, 0))
        << "index " << i;
  }
  EXPECT_EQ(k->sync(m, {{le(2, 4), percpu(m, 200)}}), 1u);
  // One CPU's value is not the kernel's layout (unless there is one CPU).
  if (m.sys_value_size != m.value_size) {
    EXPECT_THROW(k->sync(m, {{le(1, 4), Bytes(m.value_size, 1)}}), std::runtime_error);
  }
}

TEST_F(KernelMirrorTest, LpmTrieSyncAndReadRoundTrip) {
  auto k = load(example("router"), "router.o");
  const MirrorMap& m = map(*k, "routes");
  ASSERT_EQ(m.key_size, 8u);  // prefixlen + IPv4 address
  auto key = [](uint32_t plen, std::vector<uint8_t> addr) {
    Bytes b = le(plen, 4);
    b.insert(b.end(), addr.begin(), addr.end());
    return b;
  };
  Entries want = {{key(8, {10, 0, 0, 0}), val(1, m.value_size)},
                  {key(24, {10, 1, 2, 0}), val(2, m.value_size)},
                  {key(0, {0, 0, 0, 0}), val(3, m.value_size)}};
  EXPECT_EQ(k->sync(m, want), 3u);
  EXPECT_EQ(sorted(k->read(m)), sorted(want));
  Entries next = {{key(24, {10, 1, 2, 0}), val(4, m.value_size)}};
  EXPECT_EQ(k->sync(m, next), 3u);
  EXPECT_EQ(k->read(m), next);
  // The kernel looks it up as a trie.
  Bytes probe = key(32, {10, 1, 2, 77}), got(m.value_size);
  ASSERT_EQ(bpf_map_lookup_elem(m.fd, probe.data(), got.data()), 0);
  EXPECT_EQ(got, val(4, m.value_size));
}

TEST_F(KernelMirrorTest, SyncRefusesWrongSizes) {
  auto k = load(example("firewall"), "firewall.o");
  const MirrorMap& m = map(*k, "rules");
  EXPECT_THROW(k->sync(m, {{Bytes(4, 0), val(1, 16)}}), std::runtime_error);
  EXPECT_THROW(k->sync(m, {{Bytes(12, 0), val(1, 8)}}), std::runtime_error);
  EXPECT_TRUE(k->read(m).empty());
}

// ------------------------------------------------------------------ global data

TEST_F(KernelMirrorTest, GlobalDataMapsArePinnedWithLibbpfsNames) {
  auto k = load(data_obj("globals"), "globals.o");
  // bpffs takes no '.' in names.
  EXPECT_EQ(dir_entries(dir_), (std::set<std::string>{"flows", "slots", "globals-rodata",
                                                      "globals-data", "globals-bss"}));
  EXPECT_EQ(KernelMirror::pin_name(".data.counters"), "data-counters");
  const MirrorMap& bss = map(*k, ".bss");
  EXPECT_EQ(bss.name, "globals.bss");
  EXPECT_EQ(k->find("globals.bss"), &bss);
  EXPECT_EQ(k->find("globals-bss"), &bss);
  EXPECT_EQ(bss.pin_path, dir_ + "/globals-bss");
  EXPECT_TRUE(bss.synced);
  const MirrorMap& data = map(*k, ".data");
  EXPECT_TRUE(data.synced);
  EXPECT_EQ(k->read(data), (Entries{{le(0, 4), le(7, 4)}}));  // `seen`'s initial value
  const MirrorMap& ro = map(*k, ".rodata");
  EXPECT_FALSE(ro.synced);  // frozen
  EXPECT_TRUE(ro.flags & BPF_F_RDONLY_PROG);
  EXPECT_EQ(k->read(ro), (Entries{{le(0, 4), le(100, 4)}}));
  EXPECT_THROW(k->sync(ro, {{le(0, 4), le(1, 4)}}), std::runtime_error);
  EXPECT_EQ(k->sync(bss, {{le(0, 4), le(42, 8)}}), 1u);
  EXPECT_EQ(k->read(bss), (Entries{{le(0, 4), le(42, 8)}}));
}

// ------------------------------------------------------------------ replacing

TEST_F(KernelMirrorTest, SecondLoadReusesCompatibleMapsAndReplacesOthers) {
  auto a = load(data_obj("globals"), "globals.o");
  const MirrorMap& flows = map(*a, "flows");
  ASSERT_EQ(a->sync(flows, {{le(1, 4), le(5, 8)}}), 1u);
  ASSERT_EQ(a->sync(map(*a, "slots"), {{le(0, 4), le(9, 8)}}), 1u);
  ASSERT_EQ(a->sync(map(*a, ".bss"), {{le(0, 4), le(3, 8)}}), 1u);

  // The same object again: everything is taken over, .rodata too (same contents).
  auto same = load(data_obj("globals"), "globals.o");
  for (const MirrorMap& m : same->maps()) {
    EXPECT_TRUE(m.reused) << m.name;
    EXPECT_EQ(m.id, map(*a, m.name).id) << m.name;
  }

  // slots has another size and .rodata other contents: both replaced.
  auto b = load(data_obj("globals_b"), "globals.o");
  const MirrorMap& bflows = map(*b, "flows");
  EXPECT_TRUE(bflows.reused);
  EXPECT_EQ(bflows.id, flows.id);
  EXPECT_EQ(b->read(bflows), (Entries{{le(1, 4), le(5, 8)}}));  // contents kept
  EXPECT_TRUE(map(*b, ".bss").reused);
  EXPECT_EQ(b->read(map(*b, ".bss")), (Entries{{le(0, 4), le(3, 8)}}));
  EXPECT_TRUE(map(*b, ".data").reused);
  const MirrorMap& slots = map(*b, "slots");
  EXPECT_FALSE(slots.reused);
  EXPECT_NE(slots.id, map(*a, "slots").id);
  EXPECT_EQ(slots.max_entries, 8u);
  for (auto& [key, value] : b->read(slots)) EXPECT_EQ(value, le(0, 8));
  const MirrorMap& ro = map(*b, ".rodata");
  EXPECT_FALSE(ro.reused);
  EXPECT_EQ(b->read(ro), (Entries{{le(0, 4), le(200, 4)}}));
  for (const MirrorMap& m : b->maps()) EXPECT_EQ(pinned_map_id(m.pin_path), m.id) << m.name;
  // The kernel program uses the maps the pins hold.
  std::set<uint32_t> ids(b->prog().map_ids.begin(), b->prog().map_ids.end());
  for (const MirrorMap& m : b->maps()) EXPECT_TRUE(ids.count(m.id)) << m.name;
  // The first mirror's maps live on while it does.
  EXPECT_EQ(a->read(map(*a, "slots")).size(), 4u);

  // unpin_all of the first mirror removes the pins that are still its maps
  // (shared ones included), not those the second load replaced.
  a->unpin_all();
  EXPECT_EQ(dir_entries(dir_), (std::set<std::string>{"slots", "globals-rodata"}));
}

TEST_F(KernelMirrorTest, DevmapPinsAreReused) {
  // The kernel reports BPF_F_RDONLY_PROG on devmaps it was not created with.
  auto a = load(example("router"), "router.o");
  auto b = load(example("router"), "router.o");
  for (const MirrorMap& m : b->maps()) EXPECT_TRUE(m.reused) << m.name;
  EXPECT_EQ(map(*b, "tx_ports").id, map(*a, "tx_ports").id);
}

TEST_F(KernelMirrorTest, PruneKeepsNamedPinsAndUnpinAllRemovesTheRest) {
  auto fw = load(example("firewall"), "firewall.o");
  auto g = load(data_obj("globals"), "globals.o");
  std::set<std::string> both = dir_entries(dir_);
  EXPECT_EQ(both.size(), fw->maps().size() + g->maps().size());
  // By map name (global data maps too) or by pin name.
  std::vector<std::string> keep = {"flows", "slots", "globals.rodata", "globals.data",
                                   "globals-bss"};
  KernelMirror::prune(dir_, keep);
  EXPECT_EQ(dir_entries(dir_), (std::set<std::string>{"flows", "slots", "globals-rodata",
                                                      "globals-data", "globals-bss"}));
  KernelMirror::prune(dir_ + "/missing", {});  // nothing to do
  g->unpin_all();
  EXPECT_FALSE(fs::exists(dir_));
  // The maps live on while the mirrors hold them.
  EXPECT_NO_THROW(fw->read(map(*fw, "rules")));
  EXPECT_EQ(g->read(map(*g, ".data")).size(), 1u);
}

TEST_F(KernelMirrorTest, UnpinAllLeavesADirWithOtherPins) {
  auto fw = load(example("firewall"), "firewall.o");
  auto lb = load(example("lb"), "lb.o");
  fw->unpin_all();
  EXPECT_EQ(dir_entries(dir_).size(), lb->maps().size());
  lb->unpin_all();
  EXPECT_FALSE(fs::exists(dir_));
}

// ------------------------------------------------------------------ refusals

TEST_F(KernelMirrorTest, VerifierRefusalIsOneUsefulLine) {
  auto keep = load(data_obj("globals"), "globals.o");
  std::set<std::string> before = dir_entries(dir_);
  ::testing::internal::CaptureStderr();
  try {
    load(data_obj("bad"), "bad.o");
    ::testing::internal::GetCapturedStderr();
    FAIL() << "the verifier accepted bad.o";
  } catch (const KernelLoadError& e) {
    std::string spilled = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(spilled, "") << "libbpf printed to stderr";
    std::string w = e.what();
    EXPECT_EQ(w.find('\n'), std::string::npos) << w;
    const std::string head = fmt::format("bad.o: the kernel refused program 'xdp_unchecked': {}: ",
                                         std::strerror(EACCES));
    EXPECT_EQ(w.rfind(head, 0), 0u) << w;
    EXPECT_GT(w.size(), head.size() + 5) << w;
    EXPECT_NE(w.find("packet"), std::string::npos) << w;  // "... outside of the packet"
    EXPECT_EQ(w.find("processed "), std::string::npos) << w;
    EXPECT_EQ(e.err, -EACCES);
    EXPECT_NE(e.log.find("R1"), std::string::npos) << e.log;
  }
  EXPECT_EQ(dir_entries(dir_), before);  // a refused load changes no pin
}

TEST_F(KernelMirrorTest, GarbageIsRefusedWithTheName) {
  Bytes junk(100, 0x5a);
  try {
    load(junk, "junk.o");
    FAIL() << "loaded garbage";
  } catch (const KernelLoadError& e) {
    std::string w = e.what();
    EXPECT_EQ(w.rfind("junk.o: cannot open the BPF object", 0), 0u) << w;
    EXPECT_LT(e.err, 0);
  }
}

// ------------------------------------------------------------------ bpffs

TEST_F(KernelMirrorTest, EnsureBpffsDirMakesParentsWithTheGroupsMode) {
  std::string deep = base_ + "/a/b/c";
  ensure_bpffs_dir(deep, 27);
  for (const std::string& d : {base_ + "/a", base_ + "/a/b", deep}) {
    struct stat st = {};
    ASSERT_EQ(stat(d.c_str(), &st), 0) << d;
    EXPECT_EQ(st.st_mode & 0777, 0750u) << d;
    EXPECT_EQ(st.st_gid, 27u) << d;
  }
  ensure_bpffs_dir(deep);  // exists: root's only now
  struct stat st = {};
  ASSERT_EQ(stat(deep.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(st.st_gid, 0u);

  std::string off = fmt::format("/tmp/npu_kmirror_test_{}", getpid());
  try {
    ensure_bpffs_dir(off);
    FAIL() << off << " is not on bpffs";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(off), std::string::npos) << e.what();
  }
  // A file in the way.
  std::ofstream(off + "/file") << "x";
  try {
    ensure_bpffs_dir(off + "/file/x");
    FAIL() << "made a directory below a file";
  } catch (const std::runtime_error& e) {
    std::string w = e.what();
    EXPECT_NE(w.find(off + "/file"), std::string::npos) << w;
    EXPECT_NE(w.find(std::strerror(ENOTDIR)), std::string::npos) << w;
  }
  std::error_code ec;
  fs::remove_all(off, ec);
}

}  // namespace
