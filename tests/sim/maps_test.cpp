// BPF maps of the reference interpreter: unit tests per map type and flag,
// then differential tests that run the same random syscall sequences against
// the running kernel's maps (skipped when bpf() is refused).
#include "sim/ref/maps.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Bytes = std::vector<uint8_t>;
using ref::Map;

constexpr unsigned kCpus = 4;

bpf::MapDef def(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags = 0) {
  bpf::MapDef d;
  d.name = "m";
  d.type = type;
  d.key_size = ks;
  d.value_size = vs;
  d.max_entries = max;
  d.flags = flags;
  return d;
}

std::unique_ptr<Map> mk(uint32_t type, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags = 0,
                        unsigned ncpus = kCpus) {
  return ref::make_map(def(type, ks, vs, max, flags), ncpus);
}

uint32_t u32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
uint64_t u64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}

std::string hex(const uint8_t* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < n; ++i) s += {d[p[i] >> 4], d[p[i] & 15]};
  return s.empty() ? "-" : s;
}
std::string hex(const Bytes& b) {
  return hex(b.data(), b.size());
}

bool in_regions(Map& m, const uint8_t* p, size_t n) {
  for (const ref::Region& r : m.regions())
    if (p >= r.base && p + n <= r.base + r.size) return true;
  return false;
}

// ---------------------------------------------------------------- arrays

TEST(maps, ArrayLookupUpdateAndFlags) {
  auto m = mk(BPF_MAP_TYPE_ARRAY, 4, 12, 8);
  uint32_t k = 3, big = 8;
  uint8_t v[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  uint8_t* p = m->lookup(&k, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(Bytes(p, p + 12), Bytes(12, 0));  // arrays start zeroed
  EXPECT_EQ(m->lookup(&big, 0), nullptr);
  EXPECT_EQ(m->update(&k, v, BPF_ANY, 0), 0);
  EXPECT_EQ(std::memcmp(p, v, 12), 0);  // same storage
  EXPECT_EQ(m->update(&k, v, BPF_EXIST, 0), 0);
  EXPECT_EQ(m->update(&k, v, BPF_NOEXIST, 0), -EEXIST);
  EXPECT_EQ(m->update(&big, v, BPF_ANY, 0), -E2BIG);
  EXPECT_EQ(m->update(&big, v, BPF_NOEXIST, 0), -E2BIG);  // the index is checked first
  EXPECT_EQ(m->update(&k, v, 3, 0), -EINVAL);
  EXPECT_EQ(m->update(&k, v, BPF_F_LOCK, 0), -EINVAL);
  EXPECT_EQ(m->update(&k, v, BPF_F_LOCK | BPF_NOEXIST, 0), -EEXIST);   // kernel order
  EXPECT_EQ(m->sys_update(&k, v, BPF_F_LOCK | BPF_NOEXIST), -EINVAL);  // refused by the syscall
  EXPECT_EQ(m->update(&k, v, 1ull << 40, 0), -EINVAL);
  EXPECT_EQ(m->remove(&k), -EINVAL);
  EXPECT_EQ(m->sys_delete(&k), -EINVAL);
  uint8_t out[12];
  EXPECT_EQ(m->sys_lookup(&big, out), -ENOENT);
  ASSERT_EQ(m->sys_lookup(&k, out), 0);
  EXPECT_EQ(std::memcmp(out, v, 12), 0);
  EXPECT_EQ(m->sys_value_size(), 12u);
  EXPECT_EQ(m->count(), 8u);
  EXPECT_FALSE(m->percpu());
  EXPECT_THROW(m->lookup(&k, kCpus), std::out_of_range);
}

TEST(maps, ArrayGetNextKey) {
  auto m = mk(BPF_MAP_TYPE_ARRAY, 4, 4, 3);
  uint32_t next = 99, k;
  EXPECT_EQ(m->get_next_key(nullptr, &next), 0);
  EXPECT_EQ(next, 0u);
  k = 0;
  EXPECT_EQ(m->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 1u);
  k = 2;
  EXPECT_EQ(m->get_next_key(&k, &next), -ENOENT);
  k = 3;
  next = 99;
  EXPECT_EQ(m->get_next_key(&k, &next), 0);  // past the end restarts at 0
  EXPECT_EQ(next, 0u);
  k = UINT32_MAX;
  EXPECT_EQ(m->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 0u);
  EXPECT_EQ(ref::dump(*m).size(), 3u);
}

TEST(maps, ArrayRegionsAndGlobalData) {
  bpf::MapDef d = def(BPF_MAP_TYPE_ARRAY, 4, 6, 1, BPF_F_RDONLY_PROG);
  d.name = ".rodata";
  d.global_data = true;
  d.initial = {'h', 'e', 'l', 'l', 'o', 0};
  auto m = ref::make_map(d, 1);
  uint32_t zero = 0;
  uint8_t* p = m->lookup(&zero, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_STREQ(reinterpret_cast<char*>(p), "hello");
  auto rs = m->regions();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_EQ(rs[0].size, 8u);  // one element, rounded up to 8 bytes
  EXPECT_FALSE(rs[0].writable);
  EXPECT_TRUE(in_regions(*m, p, 6));
}

TEST(maps, PercpuArrayPerCpuCopiesAndHostLayout) {
  auto m = mk(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 4);
  EXPECT_TRUE(m->percpu());
  EXPECT_EQ(m->sys_value_size(), 16u * kCpus);
  uint32_t k = 1;
  uint8_t v[12];
  std::memset(v, 0xab, 12);
  EXPECT_EQ(m->update(&k, v, BPF_ANY, 2), 0);
  for (unsigned c = 0; c < kCpus; ++c) {
    uint8_t* p = m->lookup(&k, c);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p[0], c == 2 ? 0xab : 0) << c;
    EXPECT_TRUE(in_regions(*m, p, 12));
  }
  Bytes all(m->sys_value_size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = uint8_t(i);
  EXPECT_EQ(m->sys_update(&k, all.data(), BPF_EXIST), 0);
  EXPECT_EQ(m->sys_update(&k, all.data(), BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(m->sys_update(&k, all.data(), 3), -EINVAL);
  uint32_t big = 4;
  EXPECT_EQ(m->sys_update(&big, all.data(), BPF_ANY), -E2BIG);
  EXPECT_EQ(m->lookup(&k, 3)[0], 48);  // cpu 3's copy starts at 3 * 16
  Bytes out(m->sys_value_size());
  ASSERT_EQ(m->sys_lookup(&k, out.data()), 0);
  EXPECT_EQ(out, all);  // padding bytes round-trip, as in the kernel
  EXPECT_EQ(m->remove(&k), -EINVAL);
}

// ---------------------------------------------------------------- hashes

TEST(maps, HashFlagsAndCapacity) {
  auto m = mk(BPF_MAP_TYPE_HASH, 6, 8, 2);
  uint8_t k1[6] = {1}, k2[6] = {2}, k3[6] = {3};
  uint64_t v = 7;
  EXPECT_EQ(m->update(k1, &v, BPF_EXIST, 0), -ENOENT);
  EXPECT_EQ(m->update(k1, &v, BPF_NOEXIST, 0), 0);
  EXPECT_EQ(m->update(k1, &v, BPF_NOEXIST, 0), -EEXIST);
  EXPECT_EQ(m->update(k2, &v, BPF_ANY, 0), 0);
  EXPECT_EQ(m->update(k3, &v, BPF_ANY, 0), -E2BIG);
  EXPECT_EQ(m->update(k3, &v, BPF_EXIST, 0), -ENOENT);  // flags before capacity
  EXPECT_EQ(m->update(k1, &v, BPF_EXIST, 0), 0);        // replacing in a full map is fine
  EXPECT_EQ(m->update(k1, &v, 3, 0), -EINVAL);
  EXPECT_EQ(m->update(k1, &v, BPF_F_LOCK, 0), -EINVAL);
  EXPECT_EQ(m->update(k1, &v, 8, 0), -EINVAL);
  EXPECT_EQ(m->count(), 2u);
  EXPECT_EQ(m->remove(k3), -ENOENT);
  EXPECT_EQ(m->remove(k1), 0);
  EXPECT_EQ(m->lookup(k1, 0), nullptr);
  EXPECT_EQ(m->update(k3, &v, BPF_ANY, 0), 0);
  EXPECT_EQ(m->sys_value_size(), 8u);
}

TEST(maps, HashGetNextKeyOrder) {
  auto m = mk(BPF_MAP_TYPE_HASH, 4, 4, 8);
  uint32_t next = 0, v = 0;
  EXPECT_EQ(m->get_next_key(nullptr, &next), -ENOENT);
  for (uint32_t k : {30, 10, 20}) ASSERT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);
  uint32_t k = 30;
  EXPECT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);  // a replace keeps its place
  std::vector<uint32_t> seen;
  const uint32_t* prev = nullptr;
  while (m->get_next_key(prev, &next) == 0) {
    seen.push_back(next);
    k = next;
    prev = &k;
  }
  EXPECT_EQ(seen, (std::vector<uint32_t>{30, 10, 20}));
  k = 99;  // absent: the first key, as the kernel does
  EXPECT_EQ(m->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 30u);
  // Deleting while walking: a deleted key restarts at the first.
  k = 30;
  ASSERT_EQ(m->remove(&k), 0);
  EXPECT_EQ(m->get_next_key(&k, &next), 0);
  EXPECT_EQ(next, 10u);
  auto d = ref::dump(*m);
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(u32(d[0].key.data()), 10u);
}

TEST(maps, HashPointersAcrossReplaceAndDelete) {
  auto m = mk(BPF_MAP_TYPE_HASH, 4, 8, 4);
  uint32_t k = 1, k2 = 2;
  uint64_t a = 111, b = 222;
  ASSERT_EQ(m->update(&k, &a, BPF_ANY, 0), 0);
  uint8_t* p = m->lookup(&k, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(in_regions(*m, p, 8));
  EXPECT_EQ(m->regions().size(), 1u);
  // A replace goes to a spare element (the kernel's extra_elems): the old
  // pointer keeps reading the old value.
  ASSERT_EQ(m->update(&k, &b, BPF_EXIST, 1), 0);
  EXPECT_EQ(u64(p), 111u);
  uint8_t* q = m->lookup(&k, 0);
  EXPECT_NE(q, p);
  EXPECT_EQ(u64(q), 222u);
  EXPECT_TRUE(in_regions(*m, q, 8));
  // A deleted element's slot is the next one handed out (LIFO free list).
  ASSERT_EQ(m->remove(&k), 0);
  ASSERT_EQ(m->update(&k2, &a, BPF_ANY, 0), 0);
  EXPECT_EQ(m->lookup(&k2, 0), q);
}

TEST(maps, PercpuHashProgramAndHostValues) {
  auto m = mk(BPF_MAP_TYPE_PERCPU_HASH, 4, 4, 2);
  EXPECT_EQ(m->sys_value_size(), 8u * kCpus);
  uint32_t k = 5, v = 0x11111111, w = 0x22222222;
  ASSERT_EQ(m->update(&k, &v, BPF_ANY, 1), 0);
  for (unsigned c = 0; c < kCpus; ++c) EXPECT_EQ(u32(m->lookup(&k, c)), c == 1 ? v : 0u) << c;
  uint8_t* p1 = m->lookup(&k, 1);
  ASSERT_EQ(m->update(&k, &w, BPF_EXIST, 2), 0);  // in place, other CPUs kept
  EXPECT_EQ(m->lookup(&k, 1), p1);
  EXPECT_EQ(u32(p1), v);
  EXPECT_EQ(u32(m->lookup(&k, 2)), w);
  Bytes out(m->sys_value_size());
  ASSERT_EQ(m->sys_lookup(&k, out.data()), 0);
  EXPECT_EQ(u32(&out[8]), v);
  EXPECT_EQ(u32(&out[16]), w);
  Bytes all(m->sys_value_size(), 0x5a);
  uint32_t k2 = 6, k3 = 7;
  ASSERT_EQ(m->sys_update(&k2, all.data(), BPF_NOEXIST), 0);
  EXPECT_EQ(u32(m->lookup(&k2, 3)), 0x5a5a5a5au);
  EXPECT_EQ(m->sys_update(&k3, all.data(), BPF_ANY), -E2BIG);
  EXPECT_EQ(m->update(&k, &v, BPF_F_LOCK, 0), -EINVAL);
}

TEST(maps, LruEvictsLeastRecentlyUsed) {
  auto m = mk(BPF_MAP_TYPE_LRU_HASH, 4, 8, 4);
  uint64_t v = 1;
  for (uint32_t k = 1; k <= 4; ++k) ASSERT_EQ(m->update(&k, &v, BPF_NOEXIST, 0), 0);
  uint32_t k = 1;
  ASSERT_NE(m->lookup(&k, 0), nullptr);  // a program lookup makes 1 recent
  k = 5;
  ASSERT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);  // evicts 2
  k = 2;
  EXPECT_EQ(m->peek(&k), nullptr);
  uint8_t out[8];
  k = 3;
  EXPECT_EQ(m->sys_lookup(&k, out), 0);  // host lookups do not count as use
  k = 4;
  ASSERT_EQ(m->update(&k, &v, BPF_EXIST, 0), 0);  // an update does
  k = 3;
  EXPECT_EQ(m->update(&k, &v, BPF_NOEXIST, 0), -EEXIST);  // fails without evicting
  EXPECT_EQ(m->count(), 4u);
  k = 6;
  ASSERT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);  // evicts 3
  std::vector<uint32_t> present;
  for (const ref::MapEntry& e : ref::dump(*m)) present.push_back(u32(e.key.data()));
  std::sort(present.begin(), present.end());
  EXPECT_EQ(present, (std::vector<uint32_t>{1, 4, 5, 6}));
  k = 7;
  EXPECT_EQ(m->update(&k, &v, BPF_EXIST, 0), -ENOENT);
  EXPECT_EQ(m->update(&k, &v, 3, 0), -EINVAL);
  EXPECT_EQ(m->update(&k, &v, BPF_F_LOCK, 0), -EINVAL);
  k = 1;
  EXPECT_EQ(m->remove(&k), 0);
  EXPECT_EQ(m->remove(&k), -ENOENT);
}

TEST(maps, LruPercpuAndPerCpuLists) {
  auto m = mk(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 2);
  uint32_t v = 9;
  for (uint32_t k = 1; k <= 3; ++k) ASSERT_EQ(m->update(&k, &v, BPF_ANY, k % kCpus), 0);
  uint32_t k = 1;
  EXPECT_EQ(m->peek(&k), nullptr);
  k = 3;
  EXPECT_EQ(u32(m->lookup(&k, 3)), 9u);
  EXPECT_EQ(u32(m->lookup(&k, 0)), 0u);
  // BPF_F_NO_COMMON_LRU rounds max_entries up to a multiple of the CPU count.
  auto p = mk(BPF_MAP_TYPE_LRU_HASH, 4, 4, 5, BPF_F_NO_COMMON_LRU);
  EXPECT_EQ(p->def().max_entries, 8u);
}

// ---------------------------------------------------------------- LPM trie

struct Lpm4 {
  uint32_t len;
  uint8_t d[4];
};

TEST(maps, LpmLongestPrefixMatch) {
  auto m = mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 8, BPF_F_NO_PREALLOC);
  auto put = [&](Lpm4 k, uint32_t v) { return m->update(&k, &v, BPF_ANY, 0); };
  auto get = [&](Lpm4 k) -> int64_t {
    uint8_t* p = m->lookup(&k, 0);
    return p ? int64_t(u32(p)) : -1;
  };
  ASSERT_EQ(put({8, {10, 0, 0, 0}}, 1), 0);
  ASSERT_EQ(put({16, {10, 1, 0, 0}}, 2), 0);
  ASSERT_EQ(put({24, {10, 1, 2, 0}}, 3), 0);
  EXPECT_EQ(get({32, {10, 1, 2, 3}}), 3);
  EXPECT_EQ(get({32, {10, 1, 3, 3}}), 2);
  EXPECT_EQ(get({32, {10, 2, 0, 0}}), 1);
  EXPECT_EQ(get({32, {11, 0, 0, 0}}), -1);
  // The kernel matches no more than the key's own prefixlen.
  EXPECT_EQ(get({16, {10, 1, 2, 3}}), 2);
  EXPECT_EQ(get({7, {10, 1, 2, 3}}), -1);
  EXPECT_EQ(get({33, {10, 1, 2, 3}}), -1);
  Lpm4 k{32, {10, 1, 2, 9}};
  uint32_t out;
  ASSERT_EQ(m->sys_lookup(&k, &out), 0);  // the syscall matches prefixes too
  EXPECT_EQ(out, 3u);
  ASSERT_EQ(put({0, {}}, 7), 0);
  EXPECT_EQ(get({32, {11, 0, 0, 0}}), 7);
  EXPECT_TRUE(in_regions(*m, m->lookup(&k, 0), 4));
}

TEST(maps, LpmFlagsCapacityAndDelete) {
  auto m = mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 2, BPF_F_NO_PREALLOC);
  uint32_t v = 1;
  Lpm4 a{8, {10}}, b{16, {10, 1}}, c{24, {10, 1, 2}}, bad{33, {}};
  EXPECT_EQ(m->update(&a, &v, BPF_EXIST, 0), -ENOENT);
  EXPECT_EQ(m->update(&a, &v, BPF_NOEXIST, 0), 0);
  EXPECT_EQ(m->update(&a, &v, BPF_NOEXIST, 0), -EEXIST);
  EXPECT_EQ(m->update(&b, &v, BPF_ANY, 0), 0);
  EXPECT_EQ(m->update(&c, &v, BPF_ANY, 0), -ENOSPC);
  EXPECT_EQ(m->update(&c, &v, BPF_EXIST, 0), -ENOENT);  // before the capacity check
  uint8_t* old = m->lookup(&b, 0);
  uint32_t w = 2;
  EXPECT_EQ(m->update(&b, &w, BPF_EXIST, 0), 0);  // replacing in a full trie
  EXPECT_EQ(u32(old), 1u);                        // an old pointer keeps the old value
  EXPECT_EQ(u32(m->lookup(&b, 0)), 2u);
  EXPECT_EQ(m->update(&bad, &v, BPF_ANY, 0), -EINVAL);
  EXPECT_EQ(m->update(&a, &v, 3, 0), -EINVAL);
  EXPECT_EQ(m->update(&a, &v, BPF_F_LOCK, 0), -EINVAL);
  EXPECT_EQ(m->remove(&bad), -EINVAL);
  Lpm4 b17{17, {10, 1}};
  EXPECT_EQ(m->remove(&b17), -ENOENT);  // only the exact prefix
  Lpm4 b_noise{16, {10, 1, 99, 99}};    // bits past the prefix do not matter
  EXPECT_EQ(m->remove(&b_noise), 0);
  EXPECT_EQ(m->remove(&b), -ENOENT);
  EXPECT_EQ(m->count(), 1u);
}

TEST(maps, LpmGetNextKeyIsKernelPostOrder) {
  auto m = mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 16, BPF_F_NO_PREALLOC);
  uint32_t v = 0;
  std::vector<Lpm4> keys = {
      {0, {}},          {8, {10}},      {16, {10, 1}},      {24, {10, 1, 2}},
      {16, {192, 168}}, {9, {10, 128}}, {8, {10, 77, 1, 2}}};  // the last rewrites 10/8 with noise
                                                               // bits
  for (Lpm4 k : keys) ASSERT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);
  std::vector<std::string> seen;
  Lpm4 cur{}, next{};
  const Lpm4* prev = nullptr;
  while (m->get_next_key(prev, &next) == 0) {
    seen.push_back(std::to_string(next.len) + ":" + hex(next.d, 4));
    cur = next;
    prev = &cur;
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"24:0a010200", "16:0a010000", "9:0a800000",
                                            "8:0a4d0102", "16:c0a80000", "0:00000000"}));
  Lpm4 absent{12, {10}}, badlen{40, {}};
  ASSERT_EQ(m->get_next_key(&absent, &next), 0);
  EXPECT_EQ(next.len, 24u);
  ASSERT_EQ(m->get_next_key(&badlen, &next), 0);
  EXPECT_EQ(next.len, 24u);
}

// ---------------------------------------------------------------- fd and device maps

TEST(maps, ProgArrayHostOnlyProgramIndexes) {
  auto m = mk(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 4);
  uint32_t k = 1, prog = 3, big = 4, out = 0;
  EXPECT_EQ(m->lookup(&k, 0), nullptr);
  EXPECT_EQ(m->sys_lookup(&k, &out), -ENOENT);
  EXPECT_EQ(m->sys_update(&k, &prog, BPF_NOEXIST), -EINVAL);  // fd arrays take BPF_ANY only
  EXPECT_EQ(m->sys_update(&k, &prog, BPF_EXIST), -EINVAL);
  EXPECT_EQ(m->sys_update(&big, &prog, BPF_ANY), -E2BIG);
  EXPECT_EQ(m->sys_update(&k, &prog, BPF_ANY), 0);
  EXPECT_EQ(m->lookup(&k, 0), nullptr);  // never a pointer for programs
  ASSERT_EQ(m->sys_lookup(&k, &out), 0);
  EXPECT_EQ(out, 3u);
  ASSERT_NE(m->peek(&k), nullptr);
  EXPECT_EQ(u32(m->peek(&k)), 3u);
  EXPECT_EQ(m->count(), 1u);
  EXPECT_TRUE(m->regions().empty());
  EXPECT_EQ(m->sys_delete(&big), -E2BIG);
  EXPECT_EQ(m->sys_delete(&k), 0);
  EXPECT_EQ(m->sys_delete(&k), -ENOENT);
  EXPECT_EQ(m->peek(&k), nullptr);
}

TEST(maps, PerfEventArrayNoLookups) {
  auto m = mk(BPF_MAP_TYPE_PERF_EVENT_ARRAY, 4, 4, 4);
  uint32_t k = 0, ev = 9, out;
  EXPECT_EQ(m->sys_update(&k, &ev, BPF_ANY), 0);
  EXPECT_EQ(m->sys_lookup(&k, &out), -ref::kENOTSUPP);
  EXPECT_EQ(m->lookup(&k, 0), nullptr);
  ASSERT_NE(m->peek(&k), nullptr);  // what bpf_perf_event_output needs
  EXPECT_EQ(ref::dump(*m).size(), 0u);
}

TEST(maps, DevMapSlotsAndFlags) {
  auto m = mk(BPF_MAP_TYPE_DEVMAP, 4, 4, 4);
  uint32_t k = 2, ifindex = 5, zero = 0, big = 4, out;
  EXPECT_EQ(m->lookup(&k, 0), nullptr);
  EXPECT_EQ(m->sys_update(&k, &ifindex, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(m->sys_update(&k, &ifindex, BPF_EXIST), 0);  // no -ENOENT for array slots
  EXPECT_EQ(m->sys_update(&big, &ifindex, BPF_ANY), -E2BIG);
  EXPECT_EQ(m->sys_update(&k, &ifindex, 3), -EINVAL);
  uint8_t* p = m->lookup(&k, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(u32(p), 5u);
  auto rs = m->regions();
  ASSERT_EQ(rs.size(), 1u);
  EXPECT_FALSE(rs[0].writable);
  EXPECT_TRUE(in_regions(*m, p, 4));
  ASSERT_EQ(m->sys_lookup(&k, &out), 0);
  EXPECT_EQ(out, 5u);
  EXPECT_EQ(m->sys_update(&k, &zero, BPF_ANY), 0);  // ifindex 0 empties the slot
  EXPECT_EQ(m->sys_lookup(&k, &out), -ENOENT);
  EXPECT_EQ(m->sys_delete(&k), 0);  // deleting an empty slot succeeds
  EXPECT_EQ(m->sys_delete(&big), -EINVAL);
  auto m8 = mk(BPF_MAP_TYPE_DEVMAP, 4, 8, 4);
  int32_t v[2] = {0, 3};
  EXPECT_EQ(m8->sys_update(&k, v, BPF_ANY), -EINVAL);  // a program needs a device
  v[0] = 7;
  v[1] = -1;
  ASSERT_EQ(m8->sys_update(&k, v, BPF_ANY), 0);
  int32_t got[2];
  ASSERT_EQ(m8->sys_lookup(&k, got), 0);
  EXPECT_EQ(got[0], 7);
  EXPECT_EQ(got[1], 0);  // no program reads back as 0
  v[1] = 3;
  ASSERT_EQ(m8->sys_update(&k, v, BPF_ANY), 0);
  ASSERT_EQ(m8->sys_lookup(&k, got), 0);
  EXPECT_EQ(got[1], 3);
}

TEST(maps, DevMapHashKeysAndFlags) {
  auto m = mk(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 2);
  uint32_t a = 100, b = 200, c = 300, ifindex = 1, zero = 0, out;
  EXPECT_EQ(m->sys_update(&a, &ifindex, BPF_EXIST), 0);  // the kernel does not check EXIST
  EXPECT_EQ(m->sys_update(&a, &ifindex, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(m->sys_update(&b, &zero, BPF_ANY), -EINVAL);
  EXPECT_EQ(m->sys_update(&b, &ifindex, 3), -EINVAL);
  EXPECT_EQ(m->sys_update(&b, &ifindex, BPF_ANY), 0);
  EXPECT_EQ(m->sys_update(&c, &ifindex, BPF_ANY), -E2BIG);
  ASSERT_NE(m->lookup(&a, 0), nullptr);
  EXPECT_FALSE(m->regions()[0].writable);
  ASSERT_EQ(m->sys_lookup(&b, &out), 0);
  EXPECT_EQ(out, 1u);
  EXPECT_EQ(m->sys_delete(&c), -ENOENT);
  EXPECT_EQ(m->sys_delete(&a), 0);
  uint32_t next;
  ASSERT_EQ(m->get_next_key(&a, &next), 0);  // absent: the first key
  EXPECT_EQ(next, 200u);
}

TEST(maps, CpuMapQueueSizesAndCpus) {
  auto m = mk(BPF_MAP_TYPE_CPUMAP, 4, 4, 8);
  uint32_t k = 1, q = 64, out;
  EXPECT_EQ(m->sys_update(&k, &q, BPF_NOEXIST), -EEXIST);
  ASSERT_EQ(m->sys_update(&k, &q, BPF_ANY), 0);
  EXPECT_EQ(m->lookup(&k, 0), nullptr);  // the verifier refuses cpumap lookups
  ASSERT_NE(m->peek(&k), nullptr);
  ASSERT_EQ(m->sys_lookup(&k, &out), 0);
  EXPECT_EQ(out, 64u);
  q = 16385;
  EXPECT_EQ(m->sys_update(&k, &q, BPF_ANY), -EOVERFLOW);
  q = 1;
  uint32_t cpu = kCpus, big = 8;
  EXPECT_EQ(m->sys_update(&cpu, &q, BPF_ANY), -ENODEV);
  EXPECT_EQ(m->sys_update(&big, &q, BPF_ANY), -E2BIG);
  q = 0;
  EXPECT_EQ(m->sys_update(&k, &q, BPF_ANY), 0);  // qsize 0 deletes
  EXPECT_EQ(m->sys_lookup(&k, &out), -ENOENT);
  EXPECT_EQ(m->sys_delete(&k), 0);
  EXPECT_EQ(m->sys_delete(&big), -EINVAL);
  EXPECT_TRUE(m->regions().empty());
}

TEST(maps, XskMapSocketsAndFlags) {
  auto m = mk(BPF_MAP_TYPE_XSKMAP, 4, 4, 4);
  uint32_t k = 0, s = 11, t = 12, out;
  EXPECT_EQ(m->sys_update(&k, &s, BPF_EXIST), -ENOENT);
  EXPECT_EQ(m->sys_update(&k, &s, BPF_NOEXIST), 0);
  EXPECT_EQ(m->sys_update(&k, &s, BPF_NOEXIST), 0);  // the same socket again
  EXPECT_EQ(m->sys_update(&k, &t, BPF_NOEXIST), -EEXIST);
  EXPECT_EQ(m->sys_update(&k, &t, BPF_EXIST), 0);
  EXPECT_EQ(m->sys_lookup(&k, &out), -EOPNOTSUPP);
  uint8_t* p = m->lookup(&k, 0);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(u32(p), 12u);
  EXPECT_EQ(m->sys_delete(&k), 0);
  EXPECT_EQ(m->sys_delete(&k), 0);
  uint32_t big = 4;
  EXPECT_EQ(m->sys_delete(&big), -EINVAL);
}

TEST(maps, RingBufNoElements) {
  auto m = mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096);
  uint32_t k = 0;
  uint8_t buf[8];
  EXPECT_EQ(m->sys_value_size(), 0u);
  EXPECT_EQ(m->sys_lookup(nullptr, buf), -ref::kENOTSUPP);
  EXPECT_EQ(m->sys_lookup(&k, buf), -EINVAL);  // a key for a keyless map
  EXPECT_EQ(m->sys_update(nullptr, buf, BPF_ANY), -ref::kENOTSUPP);
  EXPECT_EQ(m->sys_delete(nullptr), -ref::kENOTSUPP);
  EXPECT_EQ(m->get_next_key(nullptr, buf), -ref::kENOTSUPP);
  EXPECT_EQ(m->get_next_key(&k, buf), -EINVAL);
  EXPECT_EQ(m->lookup(nullptr, 0), nullptr);
  EXPECT_TRUE(ref::dump(*m).empty());
  EXPECT_THROW(mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 4097), bpf::LoadError);
  EXPECT_THROW(mk(BPF_MAP_TYPE_RINGBUF, 0, 0, 2048), bpf::LoadError);
}

// ---------------------------------------------------------------- creation and host checks

TEST(maps, MakeMapUnsupportedAndInvalid) {
  bpf::MapDef d = def(BPF_MAP_TYPE_QUEUE, 0, 4, 4);
  d.name = "q";
  try {
    ref::make_map(d, 1);
    FAIL() << "no exception";
  } catch (const bpf::LoadError& e) {
    EXPECT_STREQ(e.what(), "map 'q': unsupported map type 22");
  }
  EXPECT_FALSE(ref::map_type_supported(BPF_MAP_TYPE_QUEUE));
  EXPECT_TRUE(ref::map_type_supported(BPF_MAP_TYPE_LPM_TRIE));
  EXPECT_THROW(mk(BPF_MAP_TYPE_ARRAY, 8, 4, 4), bpf::LoadError);
  EXPECT_THROW(mk(BPF_MAP_TYPE_HASH, 4, 0, 4), bpf::LoadError);
  EXPECT_THROW(mk(BPF_MAP_TYPE_LPM_TRIE, 4, 4, 4, BPF_F_NO_PREALLOC), bpf::LoadError);
  EXPECT_THROW(mk(BPF_MAP_TYPE_ARRAY, 4, 4, 4, 0, 0), bpf::LoadError);
  // make_map takes any flags; check_map_def says what the kernel would.
  EXPECT_NO_THROW(mk(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4));
  std::string why;
  EXPECT_EQ(ref::check_map_def(def(BPF_MAP_TYPE_LPM_TRIE, 8, 4, 4), 1, &why), -EINVAL);
  EXPECT_EQ(why, "an LPM trie needs BPF_F_NO_PREALLOC");
  EXPECT_EQ(ref::check_map_def(def(BPF_MAP_TYPE_LRU_HASH, 4, 4, 4, BPF_F_NO_PREALLOC), 1),
            -ref::kENOTSUPP);
  EXPECT_EQ(ref::check_map_def(def(BPF_MAP_TYPE_HASH, 4, 4, 4), 1), 0);
}

TEST(maps, HostSideFreezeAndAccessFlags) {
  auto m = mk(BPF_MAP_TYPE_HASH, 4, 4, 4);
  uint32_t k = 1, v = 2;
  ASSERT_EQ(m->sys_update(&k, &v, BPF_ANY), 0);
  EXPECT_EQ(m->freeze(), 0);
  EXPECT_TRUE(m->frozen());
  EXPECT_EQ(m->freeze(), -EPERM);  // the kernel's answer to a second freeze
  EXPECT_EQ(m->sys_update(&k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(m->sys_delete(&k), -EPERM);
  EXPECT_EQ(m->update(&k, &v, BPF_ANY, 0), 0);  // programs may still write
  EXPECT_EQ(m->sys_lookup(&k, &v), 0);
  auto ro = mk(BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_RDONLY);
  EXPECT_EQ(ro->sys_update(&k, &v, BPF_ANY), -EPERM);
  EXPECT_EQ(ro->freeze(), -EPERM);
  EXPECT_EQ(ro->sys_lookup(&k, &v), 0);
  auto wo = mk(BPF_MAP_TYPE_ARRAY, 4, 4, 4, BPF_F_WRONLY);
  EXPECT_EQ(wo->sys_lookup(&k, &v), -EPERM);
  EXPECT_EQ(wo->sys_update(&k, &v, BPF_ANY), 0);
}

// ---------------------------------------------------------------- against the kernel

int kerr(int rc) {
  return rc < 0 ? -errno : rc;
}

bool bpf_refused(int err) {
  return err == EPERM || err == EACCES || err == ENOSYS;
}

struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

// Keeps the test on one CPU: the kernel's LRU lists are per CPU (common LRU:
// per-CPU free lists), and wandering between CPUs evicts early.
struct PinCpu {
  cpu_set_t old;
  bool pinned = false;
  PinCpu() {
    if (sched_getaffinity(0, sizeof old, &old) != 0) return;
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    pinned = sched_setaffinity(0, sizeof one, &one) == 0;
  }
  ~PinCpu() {
    if (pinned) sched_setaffinity(0, sizeof old, &old);
  }
};

using Rng = std::mt19937_64;

struct DiffCase {
  std::string name;
  bpf::MapDef def;
  int ops = 4000;
  std::function<Bytes(Rng&)> key;    // empty: a NULL key pointer
  std::function<Bytes(Rng&)> value;  // sys_value_size() bytes
  bool ordered = true;               // our get_next_key order is the kernel's
  bool pin = false;
  // Updates the kernel cannot do here (no sockets/perf events to name) are skipped.
  std::function<bool(const Bytes& key, uint64_t flags)> can_update;
  // Kernel value -> ours (prog arrays: program id -> the fd we stored).
  std::function<void(Bytes&)> translate;
  // "op rc" outcomes the sequence must have produced, so each case provably
  // reaches its error paths (e.g. "update -7" for a full hash).
  std::vector<std::string> must_see;
};

uint64_t random_flags(Rng& r) {
  static const uint64_t kFlags[] = {0, 0, 0, 0, 0, 0, 1, 1, 1,  1,         2,
                                    2, 2, 2, 3, 4, 5, 6, 8, 16, 1ull << 32};
  return kFlags[r() % (sizeof kFlags / sizeof kFlags[0])];
}

Bytes random_bytes(Rng& r, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = uint8_t(r());
  return b;
}

std::vector<ref::MapEntry> kernel_dump(int fd, size_t ks, size_t vs, const DiffCase& c) {
  std::vector<ref::MapEntry> out;
  Bytes key(ks), next(ks), val(std::max<size_t>(vs, 1));
  bool first = true;
  for (uint32_t n = 0; n <= c.def.max_entries; ++n) {
    if (bpf_map_get_next_key(fd, first ? nullptr : key.data(), next.data()) != 0) break;
    first = false;
    key = next;
    if (bpf_map_lookup_elem(fd, key.data(), val.data()) == 0) {
      Bytes v(val.begin(), val.begin() + vs);
      if (c.translate) c.translate(v);
      out.push_back({key, v});
    }
  }
  return out;
}

std::string entries_text(std::vector<ref::MapEntry> es) {
  std::sort(es.begin(), es.end(), [](auto& a, auto& b) { return a.key < b.key; });
  std::ostringstream s;
  for (auto& e : es) s << hex(e.key) << "=" << hex(e.value) << "\n";
  return s.str();
}

void run_diff(const DiffCase& c, uint64_t seed = 1) {
  const unsigned ncpus = unsigned(libbpf_num_possible_cpus());
  auto ours = ref::make_map(c.def, ncpus);
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = c.def.flags);
  int fd = bpf_map_create(bpf_map_type(c.def.type), "npu_diff", c.def.key_size, c.def.value_size,
                          c.def.max_entries, &opts);
  if (fd < 0 && bpf_refused(errno))
    GTEST_SKIP() << "bpf(BPF_MAP_CREATE) refused: " << strerror(errno);
  ASSERT_GE(fd, 0) << c.name << ": " << strerror(errno);
  Fd guard(fd);
  std::unique_ptr<PinCpu> pin;
  if (c.pin) pin = std::make_unique<PinCpu>();

  const size_t ks = c.def.key_size, vs = ours->sys_value_size();
  // NPU_MAPS_SEED=n runs other sequences (the outcome checks assume the defaults).
  if (const char* env = getenv("NPU_MAPS_SEED")) seed += strtoull(env, nullptr, 0) * 1000;
  Rng r(seed);
  int failures = 0;
  std::map<std::string, std::map<int, int>> seen;  // op -> rc -> count (kernel's rc)
  auto check = [&](bool ok, int i, const std::string& what) {
    if (ok) return true;
    ADD_FAILURE() << c.name << " op " << i << ": " << what;
    return ++failures < 10;
  };
  auto kptr = [](Bytes& b) -> void* { return b.empty() ? nullptr : b.data(); };
  auto present = [&](const Bytes& k) { return ours->peek(k.data()) != nullptr; };

  for (int i = 0; i < c.ops; ++i) {
    unsigned op = r() % 100;
    Bytes key = c.key(r);
    if (op < 40) {
      Bytes val = c.value(r);
      val.resize(std::max<size_t>(vs, 1));
      uint64_t flags = random_flags(r);
      if (c.can_update && !c.can_update(key, flags)) continue;
      int kr = kerr(bpf_map_update_elem(fd, kptr(key), val.data(), flags));
      int orr = ours->sys_update(kptr(key), val.data(), flags);
      ++seen["update"][kr];
      if (!check(kr == orr, i,
                 "update " + hex(key) + " flags " + std::to_string(flags) + ": kernel " +
                     std::to_string(kr) + " ours " + std::to_string(orr)))
        return;
    } else if (op < 60) {
      int kr = kerr(bpf_map_delete_elem(fd, kptr(key)));
      int orr = ours->sys_delete(kptr(key));
      ++seen["delete"][kr];
      if (!check(kr == orr, i,
                 "delete " + hex(key) + ": kernel " + std::to_string(kr) + " ours " +
                     std::to_string(orr)))
        return;
    } else if (op < 85) {
      Bytes kv(std::max<size_t>(vs, 1), 0xee), ov(std::max<size_t>(vs, 1), 0xee);
      int kr = kerr(bpf_map_lookup_elem(fd, kptr(key), kv.data()));
      int orr = ours->sys_lookup(kptr(key), ov.data());
      ++seen["lookup"][kr];
      kv.resize(vs);
      ov.resize(vs);
      if (kr == 0 && c.translate) c.translate(kv);
      if (!check(kr == orr && (kr != 0 || kv == ov), i,
                 "lookup " + hex(key) + ": kernel " + std::to_string(kr) + " " + hex(kv) +
                     " ours " + std::to_string(orr) + " " + hex(ov)))
        return;
    } else {
      bool null_key = ks > 0 && r() % 8 == 0;
      Bytes kn(std::max<size_t>(ks, 1)), on(std::max<size_t>(ks, 1));
      const void* kp = null_key ? nullptr : kptr(key);
      int kr = kerr(bpf_map_get_next_key(fd, kp, kn.data()));
      int orr = ours->get_next_key(kp, on.data());
      ++seen["next"][kr];
      kn.resize(ks);
      on.resize(ks);
      std::string what = "get_next_key " + (kp ? hex(key) : std::string("NULL")) + ": kernel " +
                         std::to_string(kr) + " " + hex(kn) + " ours " + std::to_string(orr) + " " +
                         hex(on);
      if (c.ordered || !kp || !present(key)) {
        // Hashes: an absent key gives the first key of each one's own order.
        bool same = kr == orr;
        if (same && kr == 0) same = c.ordered ? kn == on : present(kn) && present(on);
        if (!check(same, i, what)) return;
      } else {
        bool ok = (kr == 0 || kr == -ENOENT) && (orr == 0 || orr == -ENOENT) &&
                  (kr != 0 || (present(kn) && kn != key)) &&
                  (orr != 0 || (present(on) && on != key));
        if (!check(ok, i, what)) return;
      }
    }
    if (i % 500 == 499 || i == c.ops - 1) {
      std::string k = entries_text(kernel_dump(fd, ks, vs, c));
      std::string o = entries_text(ref::dump(*ours));
      if (!check(k == o, i, "contents differ:\nkernel:\n" + k + "ours:\n" + o)) return;
    }
  }
  std::ostringstream summary;
  summary << c.name << ", " << ours->count() << " elements at the end:";
  for (auto& [op, rcs] : seen) {
    summary << " " << op;
    for (auto [rc, n] : rcs) summary << " " << rc << "x" << n;
    summary << ";";
  }
  std::cout << summary.str() << "\n";
  for (const std::string& want : c.must_see) {
    std::istringstream in(want);
    std::string op;
    int rc = 0;
    in >> op >> rc;
    EXPECT_GT(seen[op][rc], 0) << c.name << ": the sequence never produced " << want;
  }
}

// Keys drawn from a fixed universe, so updates, lookups and deletes meet.
std::function<Bytes(Rng&)> universe_keys(size_t ks, size_t n, uint64_t seed) {
  Rng r(seed);
  auto keys = std::make_shared<std::vector<Bytes>>();
  for (size_t i = 0; i < n; ++i) keys->push_back(random_bytes(r, ks));
  return [keys](Rng& g) { return (*keys)[g() % keys->size()]; };
}

// Array indexes: mostly near the valid range, sometimes anything.
std::function<Bytes(Rng&)> index_keys(uint32_t max) {
  return [max](Rng& g) {
    uint32_t k = g() % 10 == 0 ? uint32_t(g()) : uint32_t(g() % (max + 3));
    Bytes b(4);
    std::memcpy(b.data(), &k, 4);
    return b;
  };
}

std::function<Bytes(Rng&)> any_value(size_t n) {
  return [n](Rng& g) { return random_bytes(g, n); };
}

size_t host_value_size(const bpf::MapDef& d) {
  return ref::make_map(d, unsigned(libbpf_num_possible_cpus()))->sys_value_size();
}

DiffCase simple_case(const std::string& name, bpf::MapDef d, std::function<Bytes(Rng&)> keys,
                     bool ordered) {
  DiffCase c;
  c.name = name;
  c.value = any_value(host_value_size(d));
  c.def = std::move(d);
  c.key = std::move(keys);
  c.ordered = ordered;
  return c;
}

TEST(maps_kernel, Array) {
  DiffCase c = simple_case("array", def(BPF_MAP_TYPE_ARRAY, 4, 12, 16), index_keys(16), true);
  c.must_see = {"update 0", "update -17", "update -7", "update -22", "delete -22",
                "lookup 0", "lookup -2",  "next 0",    "next -2"};
  run_diff(c);
}

TEST(maps_kernel, PercpuArray) {
  DiffCase c =
      simple_case("percpu_array", def(BPF_MAP_TYPE_PERCPU_ARRAY, 4, 12, 16), index_keys(16), true);
  c.must_see = {"update 0", "update -17", "update -7", "update -22", "lookup 0"};
  run_diff(c);
}

// Hash iteration order is the kernel's private (randomly seeded) bucket order, so whether a
// random key is the last one is chance: "next -2" is not required of unordered maps.
const std::vector<std::string> kHashOutcomes = {
    "update 0", "update -17", "update -2", "update -7", "update -22",
    "delete 0", "delete -2",  "lookup 0",  "lookup -2", "next 0"};

TEST(maps_kernel, Hash) {
  DiffCase c =
      simple_case("hash", def(BPF_MAP_TYPE_HASH, 6, 12, 64), universe_keys(6, 200, 7), false);
  c.must_see = kHashOutcomes;
  run_diff(c);
}

TEST(maps_kernel, HashNoPrealloc) {
  DiffCase c = simple_case("hash_noprealloc", def(BPF_MAP_TYPE_HASH, 6, 12, 64, BPF_F_NO_PREALLOC),
                           universe_keys(6, 200, 8), false);
  c.must_see = kHashOutcomes;
  run_diff(c);
}

TEST(maps_kernel, PercpuHash) {
  DiffCase c = simple_case("percpu_hash", def(BPF_MAP_TYPE_PERCPU_HASH, 8, 20, 32),
                           universe_keys(8, 80, 9), false);
  c.must_see = kHashOutcomes;
  run_diff(c);
}

// LRU maps stay below half their capacity: the kernel may evict before a map
// is full (per-CPU free lists refilled in batches), which the model does not.
TEST(maps_kernel, LruHashBelowCapacity) {
  DiffCase c = simple_case("lru_hash", def(BPF_MAP_TYPE_LRU_HASH, 4, 8, 256),
                           universe_keys(4, 100, 10), false);
  c.pin = true;
  c.must_see = {"update 0", "update -17", "update -2", "update -22", "delete -2", "lookup 0"};
  run_diff(c);
}

// Per-CPU LRU lists: max_entries 255 becomes a multiple of the CPU count, and
// the pinned CPU's own list (max_entries / ncpus) bounds what fits.
TEST(maps_kernel, LruHashPerCpuLists) {
  DiffCase c = simple_case("lru_hash_percpu_lists",
                           def(BPF_MAP_TYPE_LRU_HASH, 4, 8, 255, BPF_F_NO_COMMON_LRU),
                           universe_keys(4, 50, 16), false);
  c.pin = true;
  c.must_see = {"update 0", "update -17", "update -2", "delete 0", "lookup 0"};
  run_diff(c);
}

TEST(maps_kernel, LruPercpuHashBelowCapacity) {
  DiffCase c = simple_case("lru_percpu_hash", def(BPF_MAP_TYPE_LRU_PERCPU_HASH, 4, 12, 256),
                           universe_keys(4, 100, 11), false);
  c.pin = true;
  c.must_see = {"update 0", "update -17", "update -2", "update -22", "delete -2", "lookup 0"};
  run_diff(c);
}

// LPM keys: prefixes of a few base addresses with noise in the bits past the
// prefix, lookups mostly with full-length addresses, some invalid prefixlens.
std::function<Bytes(Rng&)> lpm_keys(uint32_t data_size, uint64_t seed) {
  Rng r(seed);
  auto bases = std::make_shared<std::vector<Bytes>>();
  for (int i = 0; i < 6; ++i) bases->push_back(random_bytes(r, data_size));
  return [bases, data_size](Rng& g) {
    uint32_t max = 8 * data_size;
    uint32_t len = g() % 4 == 0 ? max : uint32_t(g() % (max + 1));
    if (g() % 20 == 0) len = max + 1 + uint32_t(g() % 8);
    Bytes data = (*bases)[g() % bases->size()];
    if (g() % 2) {  // perturb one bit, possibly inside the prefix
      uint32_t bit = uint32_t(g() % max);
      data[bit / 8] ^= uint8_t(0x80 >> (bit % 8));
    }
    Bytes k(4 + data.size());
    std::memcpy(k.data(), &len, 4);
    std::memcpy(k.data() + 4, data.data(), data.size());
    return k;
  };
}

TEST(maps_kernel, LpmTrie) {
  DiffCase c = simple_case("lpm_trie4", def(BPF_MAP_TYPE_LPM_TRIE, 8, 8, 40, BPF_F_NO_PREALLOC),
                           lpm_keys(4, 12), true);
  c.must_see = {"update 0",  "update -17", "update -2", "update -28", "update -22", "delete 0",
                "delete -2", "delete -22", "lookup 0",  "lookup -2",  "next 0",     "next -2"};
  run_diff(c);
}

TEST(maps_kernel, LpmTrieShortAndLong) {
  run_diff(simple_case("lpm_trie1", def(BPF_MAP_TYPE_LPM_TRIE, 5, 3, 6, BPF_F_NO_PREALLOC),
                       lpm_keys(1, 13), true));
  run_diff(simple_case("lpm_trie16", def(BPF_MAP_TYPE_LPM_TRIE, 20, 4, 64, BPF_F_NO_PREALLOC),
                       lpm_keys(16, 14), true));
}

// ifindex 1 is the loopback device, which every network namespace has.
std::function<Bytes(Rng&)> dev_values(uint32_t value_size) {
  return [value_size](Rng& g) {
    int32_t v[2] = {int32_t(g() % 4 != 0), g() % 2 ? 0 : -1};
    Bytes b(value_size);
    std::memcpy(b.data(), v, value_size);
    return b;
  };
}

TEST(maps_kernel, DevMap) {
  DiffCase c = simple_case("devmap", def(BPF_MAP_TYPE_DEVMAP, 4, 4, 8), index_keys(8), true);
  c.value = dev_values(4);
  c.must_see = {"update 0", "update -17", "update -7", "update -22",
                "delete 0", "delete -22", "lookup 0",  "lookup -2"};
  run_diff(c);
  DiffCase c8 = simple_case("devmap8", def(BPF_MAP_TYPE_DEVMAP, 4, 8, 8), index_keys(8), true);
  c8.value = dev_values(8);
  c8.must_see = c.must_see;
  run_diff(c8, 2);
}

TEST(maps_kernel, DevMapHash) {
  DiffCase c = simple_case("devmap_hash", def(BPF_MAP_TYPE_DEVMAP_HASH, 4, 4, 8),
                           universe_keys(4, 12, 15), false);
  c.value = dev_values(4);
  c.must_see = {"update 0",  "update -17", "update -7", "update -22", "delete 0",
                "delete -2", "lookup 0",   "lookup -2", "next 0"};
  run_diff(c);
}

TEST(maps_kernel, CpuMap) {
  DiffCase c = simple_case("cpumap", def(BPF_MAP_TYPE_CPUMAP, 4, 4, 4), index_keys(4), true);
  c.value = [](Rng& g) {
    static const uint32_t kSizes[] = {0, 1, 64, 16384, 16385};
    uint32_t q = kSizes[g() % 5];
    Bytes b(4);
    std::memcpy(b.data(), &q, 4);
    return b;
  };
  c.ops = 400;  // every entry starts a kernel thread
  c.must_see = {"update 0", "update -17", "update -7", "update -75", "update -22",
                "delete 0", "delete -22", "lookup 0",  "lookup -2"};
  if (libbpf_num_possible_cpus() < 4) c.must_see.push_back("update -19");
  run_diff(c);
}

// Element operations the kernel can do without sockets or perf events.
TEST(maps_kernel, XskMapAndPerfEventArray) {
  for (uint32_t type : {BPF_MAP_TYPE_XSKMAP, BPF_MAP_TYPE_PERF_EVENT_ARRAY}) {
    DiffCase c = simple_case(type == BPF_MAP_TYPE_XSKMAP ? "xskmap" : "perf_event_array",
                             def(type, 4, 4, 4), index_keys(4), true);
    c.ops = 1000;
    c.can_update = [type](const Bytes& k, uint64_t flags) {
      bool bad_flags = type == BPF_MAP_TYPE_XSKMAP ? flags > BPF_EXIST : flags != BPF_ANY;
      return bad_flags || (flags & BPF_F_LOCK) || u32(k.data()) >= 4;
    };
    c.must_see = {
        "update -7", "update -22",
        "lookup " + std::to_string(type == BPF_MAP_TYPE_XSKMAP ? -EOPNOTSUPP : -ref::kENOTSUPP)};
    run_diff(c);
  }
}

TEST(maps_kernel, RingBuf) {
  DiffCase c = simple_case("ringbuf", def(BPF_MAP_TYPE_RINGBUF, 0, 0, 4096), nullptr, true);
  c.key = [](Rng& g) { return g() % 2 ? Bytes{} : Bytes{1, 2, 3, 4}; };
  c.ops = 500;
  c.must_see = {"update -524", "update -22", "lookup -524", "delete -524", "next -524", "next -22"};
  run_diff(c);
}

// Programs to store: r0 = XDP_PASS; exit.
int load_xdp_prog() {
  struct bpf_insn insns[2] = {};
  insns[0].code = BPF_ALU64 | BPF_MOV | BPF_K;
  insns[0].imm = XDP_PASS;
  insns[1].code = BPF_JMP | BPF_EXIT;
  return bpf_prog_load(BPF_PROG_TYPE_XDP, "npu_diff", "GPL", insns, 2, nullptr);
}

TEST(maps_kernel, ProgArray) {
  int p1 = load_xdp_prog();
  if (p1 < 0 && bpf_refused(errno)) GTEST_SKIP() << "bpf(BPF_PROG_LOAD) refused";
  ASSERT_GE(p1, 0) << strerror(errno);
  Fd g1(p1), g2(load_xdp_prog());
  ASSERT_GE(g2.fd, 0);
  auto ids = std::make_shared<std::map<uint32_t, uint32_t>>();  // program id -> fd
  for (int fd : {g1.fd, g2.fd}) {
    bpf_prog_info info{};
    uint32_t len = sizeof info;
    ASSERT_EQ(bpf_obj_get_info_by_fd(fd, &info, &len), 0);
    (*ids)[info.id] = uint32_t(fd);
  }
  DiffCase c =
      simple_case("prog_array", def(BPF_MAP_TYPE_PROG_ARRAY, 4, 4, 8), index_keys(8), true);
  c.value = [fds = std::vector<int>{g1.fd, g2.fd}](Rng& g) {
    Bytes b(4);
    std::memcpy(b.data(), &fds[g() % 2], 4);
    return b;
  };
  c.translate = [ids](Bytes& v) {
    auto it = ids->find(u32(v.data()));
    if (it != ids->end()) std::memcpy(v.data(), &it->second, 4);
  };
  c.ops = 2000;
  c.must_see = {"update 0",  "update -22", "update -7", "delete 0",
                "delete -2", "delete -7",  "lookup 0",  "lookup -2"};
  run_diff(c);
}

TEST(maps_kernel, Freeze) {
  LIBBPF_OPTS(bpf_map_create_opts, opts);
  int fd = bpf_map_create(BPF_MAP_TYPE_HASH, "npu_freeze", 4, 4, 4, &opts);
  if (fd < 0 && bpf_refused(errno)) GTEST_SKIP() << "bpf(BPF_MAP_CREATE) refused";
  ASSERT_GE(fd, 0);
  Fd guard(fd);
  auto m = mk(BPF_MAP_TYPE_HASH, 4, 4, 4, 0, unsigned(libbpf_num_possible_cpus()));
  uint32_t k = 1, v = 2;
  EXPECT_EQ(kerr(bpf_map_update_elem(fd, &k, &v, BPF_ANY)), m->sys_update(&k, &v, BPF_ANY));
  EXPECT_EQ(kerr(bpf_map_freeze(fd)), m->freeze());
  EXPECT_EQ(kerr(bpf_map_freeze(fd)), m->freeze());
  EXPECT_EQ(kerr(bpf_map_update_elem(fd, &k, &v, BPF_ANY)), m->sys_update(&k, &v, BPF_ANY));
  EXPECT_EQ(kerr(bpf_map_delete_elem(fd, &k)), m->sys_delete(&k));
  EXPECT_EQ(kerr(bpf_map_update_elem(fd, &k, &v, BPF_F_LOCK)), m->sys_update(&k, &v, BPF_F_LOCK));
  EXPECT_EQ(kerr(bpf_map_lookup_elem(fd, &k, &v)), m->sys_lookup(&k, &v));
}

// check_map_def against bpf(BPF_MAP_CREATE) over a grid of attributes.
TEST(maps_kernel, CreateChecks) {
  const unsigned ncpus = unsigned(libbpf_num_possible_cpus());
  // A cpumap may not exceed the kernel build's NR_CPUS (kernel_max + 1), which
  // check_map_def does not know.
  uint32_t nr_cpus = 0;
  std::ifstream("/sys/devices/system/cpu/kernel_max") >> nr_cpus;
  ++nr_cpus;
  LIBBPF_OPTS(bpf_map_create_opts, probe_opts);
  int probe = bpf_map_create(BPF_MAP_TYPE_ARRAY, "npu_probe", 4, 4, 1, &probe_opts);
  if (probe < 0 && bpf_refused(errno)) GTEST_SKIP() << "bpf(BPF_MAP_CREATE) refused";
  close(probe);
  const uint32_t types[] = {
      BPF_MAP_TYPE_ARRAY,       BPF_MAP_TYPE_PERCPU_ARRAY, BPF_MAP_TYPE_HASH,
      BPF_MAP_TYPE_PERCPU_HASH, BPF_MAP_TYPE_LRU_HASH,     BPF_MAP_TYPE_LRU_PERCPU_HASH,
      BPF_MAP_TYPE_LPM_TRIE,    BPF_MAP_TYPE_PROG_ARRAY,   BPF_MAP_TYPE_PERF_EVENT_ARRAY,
      BPF_MAP_TYPE_DEVMAP,      BPF_MAP_TYPE_DEVMAP_HASH,  BPF_MAP_TYPE_CPUMAP,
      BPF_MAP_TYPE_XSKMAP,      BPF_MAP_TYPE_RINGBUF};
  const uint32_t flag_sets[] = {0,
                                BPF_F_NO_PREALLOC,
                                BPF_F_NO_COMMON_LRU,
                                BPF_F_NUMA_NODE,
                                BPF_F_RDONLY,
                                BPF_F_RDONLY | BPF_F_WRONLY,
                                BPF_F_RDONLY_PROG,
                                BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG,
                                BPF_F_MMAPABLE,
                                BPF_F_PRESERVE_ELEMS,
                                BPF_F_INNER_MAP,
                                BPF_F_ZERO_SEED,
                                BPF_F_NO_PREALLOC | BPF_F_RDONLY_PROG,
                                1u << 13};
  int mismatches = 0, created = 0;
  for (uint32_t type : types)
    for (uint32_t ks : {0, 4, 5, 8})
      for (uint32_t vs : {0, 4, 8, 12})
        for (uint32_t max : {0, 1, 4096})
          for (uint32_t flags : flag_sets) {
            if (type == BPF_MAP_TYPE_CPUMAP && max > nr_cpus) continue;
            LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = flags);
            int fd = bpf_map_create(bpf_map_type(type), "npu_create", ks, vs, max, &opts);
            int kr = fd < 0 ? -errno : 0;
            if (fd >= 0) {
              close(fd);
              ++created;
            }
            std::string why;
            int orr = ref::check_map_def(def(type, ks, vs, max, flags), ncpus, &why);
            if (kr != orr && ++mismatches <= 20)
              ADD_FAILURE() << "type " << type << " key " << ks << " value " << vs << " max " << max
                            << " flags 0x" << std::hex << flags << std::dec << ": kernel " << kr
                            << " ours " << orr << " (" << why << ")";
          }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(created, 0);
}

}  // namespace
