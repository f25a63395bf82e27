// Index-keyed maps: ARRAY, PERCPU_ARRAY, the fd arrays (PROG_ARRAY,
// PERF_EVENT_ARRAY) and the redirect targets (DEVMAP, CPUMAP, XSKMAP).
// They share the kernel's get_next_key: an index past the end restarts at 0.
#include "sim/ref/maps.h"

#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace ref {
namespace {

size_t round8(size_t n) {
  return (n + 7) & ~size_t(7);
}

uint32_t load_u32(const void* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

// array_map_get_next_key and its copies in devmap/cpumap/xskmap.
int index_next_key(uint32_t max_entries, const void* key, void* next) {
  uint32_t index = key ? load_u32(key) : UINT32_MAX;
  uint32_t n = 0;
  if (index < max_entries) {
    if (index == max_entries - 1) return -ENOENT;
    n = index + 1;
  }
  std::memcpy(next, &n, 4);
  return 0;
}

// ARRAY and PERCPU_ARRAY: every index always holds a value; elements are
// round_up(value_size, 8) apart as in the kernel, percpu copies back to back.
class ArrayMap : public Map {
 public:
  ArrayMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus),
        stride_(round8(def.value_size)),
        elem_(percpu() ? stride_ * ncpus : stride_),
        arena_((uint64_t(def.max_entries) * elem_ + 7) / 8) {
    // Global data (.data/.rodata/...) starts with its section's bytes.
    if (!percpu() && !def.initial.empty())
      std::memcpy(base(), def.initial.data(), std::min<size_t>(def.initial.size(), def.value_size));
  }

  uint8_t* lookup(const void* key, unsigned cpu) override {
    check_cpu(cpu);
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return nullptr;
    return base() + i * elem_ + (percpu() ? cpu * stride_ : 0);
  }

  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    if ((flags & ~uint64_t(BPF_F_LOCK)) > BPF_EXIST) return -EINVAL;
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -E2BIG;
    if (flags & BPF_NOEXIST) return -EEXIST;  // every index exists
    if (flags & BPF_F_LOCK) return -EINVAL;   // no bpf_spin_lock in the value
    std::memcpy(base() + i * elem_ + (percpu() ? cpu * stride_ : 0), value, def_.value_size);
    return 0;
  }

  int remove(const void*) override { return -EINVAL; }

  int get_next_key(const void* key, void* next) override {
    return index_next_key(def_.max_entries, key, next);
  }

  const uint8_t* peek(const void* key, unsigned cpu) override { return lookup(key, cpu); }
  size_t count() const override { return def_.max_entries; }

  std::vector<Region> regions() override {
    return {Region{base(), size_t(def_.max_entries) * elem_, !(def_.flags & BPF_F_RDONLY_PROG)}};
  }

 protected:
  // bpf_percpu_array_update: every CPU's copy, padding included, from the buffer.
  int host_update(const void* key, const void* value, uint64_t flags) override {
    if (!percpu()) return update(key, value, flags, 0);
    if (flags > BPF_EXIST) return -EINVAL;
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -E2BIG;
    if (flags == BPF_NOEXIST) return -EEXIST;
    std::memcpy(base() + i * elem_, value, elem_);
    return 0;
  }

 private:
  uint8_t* base() { return reinterpret_cast<uint8_t*>(arena_.data()); }

  size_t stride_, elem_;
  std::vector<uint64_t> arena_;  // 8-byte aligned, never resized
};

// PROG_ARRAY and PERF_EVENT_ARRAY. The host stores a u32 naming a program (our
// program index, where the kernel takes an fd) or an event; programs never get a
// pointer. The kernel's syscall lookup gives the program (its id there, our
// index here) and is not supported for perf event arrays.
class FdArrayMap : public Map {
 public:
  FdArrayMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus), vals_(def.max_entries), used_(def.max_entries) {}

  uint8_t* lookup(const void*, unsigned cpu) override {
    check_cpu(cpu);
    return nullptr;
  }

  // bpf_fd_array_map_update_elem: only BPF_ANY.
  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    if (flags != BPF_ANY) return -EINVAL;
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -E2BIG;
    vals_[i] = load_u32(value);
    count_ += !used_[i];
    used_[i] = 1;
    return 0;
  }

  int remove(const void* key) override {
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -E2BIG;
    if (!used_[i]) return -ENOENT;
    used_[i] = 0;
    --count_;
    return 0;
  }

  int get_next_key(const void* key, void* next) override {
    return index_next_key(def_.max_entries, key, next);
  }

  const uint8_t* peek(const void* key, unsigned) override {
    uint32_t i = load_u32(key);
    return i < def_.max_entries && used_[i] ? reinterpret_cast<const uint8_t*>(&vals_[i]) : nullptr;
  }

  size_t count() const override { return count_; }
  std::vector<Region> regions() override { return {}; }

 protected:
  int host_lookup(const void* key, void* value) override {
    if (def_.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY) return -kENOTSUPP;
    return Map::host_lookup(key, value);
  }

 private:
  std::vector<uint32_t> vals_;
  std::vector<uint8_t> used_;
  size_t count_ = 0;
};

// DEVMAP ({ifindex, prog}), CPUMAP ({qsize, prog}) and XSKMAP (a socket):
// slots that are empty or filled, 8 bytes each. Any ifindex, program or socket
// is accepted (the device model owns them); a prog field <= 0 means none and
// reads back as 0, like the kernel's program id.
class SlotArrayMap : public Map {
 public:
  SlotArrayMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus), vals_(size_t(def.max_entries) * 2), used_(def.max_entries) {}

  // The verifier refuses lookups in a cpumap; devmap and xskmap lookups give
  // read-only pointers (the kernel forces BPF_F_RDONLY_PROG on devmaps).
  uint8_t* lookup(const void* key, unsigned cpu) override {
    check_cpu(cpu);
    if (def_.type == BPF_MAP_TYPE_CPUMAP) return nullptr;
    return slot(key);
  }

  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    uint32_t v[2] = {0, uint32_t(-1)};  // the prog fd defaults to -1 (none)
    std::memcpy(v, value, def_.value_size);
    if (flags > BPF_EXIST) return -EINVAL;
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -E2BIG;
    if (def_.type == BPF_MAP_TYPE_XSKMAP) {
      // xsk_map_update_elem: the same socket again is fine whatever the flags.
      if (used_[i] && vals_[2 * i] == v[0]) return 0;
      if (used_[i] && flags == BPF_NOEXIST) return -EEXIST;
      if (!used_[i] && flags == BPF_EXIST) return -ENOENT;
      set(i, v[0], 0);
      return 0;
    }
    if (flags == BPF_NOEXIST) return -EEXIST;  // dev/cpu maps: every slot "exists"
    int32_t prog = int32_t(v[1]);
    if (def_.type == BPF_MAP_TYPE_CPUMAP) {
      if (v[0] > 16384) return -EOVERFLOW;  // the kernel's qsize sanity limit
      if (i >= ncpus_) return -ENODEV;      // not a possible CPU
    } else if (v[0] == 0 && prog > 0) {
      return -EINVAL;  // a devmap program needs a device
    }
    if (v[0] == 0) {
      clear(i);  // ifindex or qsize 0 empties the slot
    } else {
      set(i, v[0], prog > 0 ? uint32_t(prog) : 0);
    }
    return 0;
  }

  // Deleting an empty slot succeeds; an index past the end is -EINVAL.
  int remove(const void* key) override {
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries) return -EINVAL;
    clear(i);
    return 0;
  }

  int get_next_key(const void* key, void* next) override {
    return index_next_key(def_.max_entries, key, next);
  }

  const uint8_t* peek(const void* key, unsigned) override { return slot(key); }
  size_t count() const override { return count_; }

  std::vector<Region> regions() override {
    if (def_.type == BPF_MAP_TYPE_CPUMAP) return {};
    return {Region{reinterpret_cast<uint8_t*>(vals_.data()), vals_.size() * 4, false}};
  }

 protected:
  // xsk_map_lookup_elem_sys_only: sockets cannot be read back.
  int host_lookup(const void* key, void* value) override {
    if (def_.type == BPF_MAP_TYPE_XSKMAP) return -EOPNOTSUPP;
    return Map::host_lookup(key, value);
  }

 private:
  uint8_t* slot(const void* key) {
    uint32_t i = load_u32(key);
    if (i >= def_.max_entries || !used_[i]) return nullptr;
    return reinterpret_cast<uint8_t*>(&vals_[2 * size_t(i)]);
  }
  void set(uint32_t i, uint32_t a, uint32_t b) {
    vals_[2 * size_t(i)] = a;
    vals_[2 * size_t(i) + 1] = b;
    count_ += !used_[i];
    used_[i] = 1;
  }
  void clear(uint32_t i) {
    count_ -= used_[i];
    used_[i] = 0;
  }

  std::vector<uint32_t> vals_;
  std::vector<uint8_t> used_;
  size_t count_ = 0;
};

}  // namespace

namespace detail {

std::unique_ptr<Map> make_array_map(const bpf::MapDef& def, unsigned ncpus) {
  switch (def.type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
      return std::make_unique<ArrayMap>(def, ncpus);
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return std::make_unique<FdArrayMap>(def, ncpus);
    default:  // DEVMAP, CPUMAP, XSKMAP
      return std::make_unique<SlotArrayMap>(def, ncpus);
  }
}

}  // namespace detail
}  // namespace ref
