// BPF maps of the reference interpreter, with the kernel's semantics.
//
// Two faces, as in the kernel: the program side (helpers: lookup returns a
// pointer into stable storage, update/delete return 0 or -errno) and the host
// side (syscall: values are copied, percpu maps carry one value per possible
// CPU, each rounded up to 8 bytes, as bpf(BPF_MAP_LOOKUP_ELEM) does).
//
// Every map keeps its values in one preallocated arena, as the kernel does by
// default, so the interpreter can check a pointer against a handful of
// regions and a value pointer stays valid (possibly reused) after a delete.
//
// docs/maps.md lists, per map type, the kernel behaviour modelled and where
// (LRU eviction order, iteration order) the model differs from the kernel.
#pragma once

#include "compiler/bpf/program.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace ref {

// The kernel-internal errno that bpf() hands to user space for operations a
// map type does not implement (ringbuf, perf event array lookup); not in <errno.h>.
constexpr int kENOTSUPP = 524;

// A contiguous piece of host memory a program may touch.
struct Region {
  uint8_t* base = nullptr;
  size_t size = 0;
  bool writable = true;
};

class Map {
 public:
  Map(const bpf::MapDef& def, unsigned ncpus) : def_(def), ncpus_(ncpus) {}
  virtual ~Map() = default;
  Map(const Map&) = delete;
  Map& operator=(const Map&) = delete;

  const bpf::MapDef& def() const { return def_; }
  unsigned ncpus() const { return ncpus_; }
  bool percpu() const;
  // Bytes of one host-side value: value_size, or round_up(value_size, 8) * ncpus for percpu maps.
  size_t sys_value_size() const;

  // ---- program side (helpers), running on `cpu` (< ncpus(), else std::out_of_range) ----
  // Pointer to the value for key (this cpu's copy for percpu maps), or nullptr.
  // nullptr also for the types whose lookup the verifier refuses (prog/perf event
  // arrays, cpumap, ringbuf). LRU maps mark the element as recently used.
  virtual uint8_t* lookup(const void* key, unsigned cpu) = 0;
  // BPF_ANY/BPF_NOEXIST/BPF_EXIST semantics; 0 or -errno (-EEXIST, -ENOENT, -E2BIG, -EINVAL).
  // Percpu maps write this cpu's copy (a new element's other copies are zeroed).
  virtual int update(const void* key, const void* value, uint64_t flags, unsigned cpu) = 0;
  virtual int remove(const void* key) = 0;  // 0, -ENOENT, or -EINVAL (arrays)

  // ---- host side (syscall semantics) ----
  // Each checks what the syscall layer checks before the map's own code runs
  // (-EPERM for BPF_F_WRONLY lookups, BPF_F_RDONLY or frozen writes; -EINVAL for
  // BPF_F_LOCK, as no map here has a bpf_spin_lock), then calls host_lookup/host_update.
  virtual int sys_lookup(const void* key, void* value);  // value: sys_value_size() bytes
  virtual int sys_update(const void* key, const void* value, uint64_t flags);
  int sys_delete(const void* key);
  // Next key after key (or the first when key is nullptr); -ENOENT at the end.
  virtual int get_next_key(const void* key, void* next) = 0;

  // BPF_MAP_FREEZE: later host-side writes fail with -EPERM (programs may still
  // write unless BPF_F_RDONLY_PROG). 0, or -EPERM when already frozen or BPF_F_RDONLY.
  int freeze();
  bool frozen() const { return frozen_; }

  // The stored value for key as the map's own code sees it (cpu's copy for percpu
  // maps; longest prefix match for LPM tries), or nullptr: no side effects (no LRU
  // touch) and also for types whose program lookup or syscall lookup the kernel
  // refuses. For tail calls, bpf_redirect_map() (XSKMAP has no syscall lookup)
  // and bpf_perf_event_output() (a perf event array has none either).
  virtual const uint8_t* peek(const void* key, unsigned cpu = 0) = 0;

  // Elements present (for arrays: max_entries).
  virtual size_t count() const = 0;

  // Memory the program may reach through pointers this map hands out.
  virtual std::vector<Region> regions() = 0;

 protected:
  // The map's own syscall code, after sys_lookup/sys_update's generic checks.
  // Defaults: host_lookup copies sys_value_size() bytes from peek(key, 0) (percpu
  // copies are laid out one after another), host_update is update(..., cpu 0).
  virtual int host_lookup(const void* key, void* value);
  virtual int host_update(const void* key, const void* value, uint64_t flags);
  // Throws std::out_of_range unless cpu < ncpus().
  void check_cpu(unsigned cpu) const;

  bpf::MapDef def_;
  unsigned ncpus_;
  bool frozen_ = false;
};

// Creates a map for def; throws bpf::LoadError("map '<name>': unsupported map type <t>")
// for types the interpreter does not implement, and "map '<name>': <reason>" for
// attributes no map of that type can have (check_map_def, flags not checked).
std::unique_ptr<Map> make_map(const bpf::MapDef& def, unsigned ncpus);

// True for the map types make_map accepts.
bool map_type_supported(uint32_t type);

// What bpf(BPF_MAP_CREATE) would say about def: 0 or -errno (-EINVAL, -E2BIG,
// -ENOTSUPP as kENOTSUPP), with a one-line reason in *why. Checks the kernel's
// attribute and flag rules for the supported types; not memory limits, BTF, or
// a cpumap's max_entries against the kernel build's NR_CPUS (-E2BIG there).
// Unsupported types give -EINVAL.
int check_map_def(const bpf::MapDef& def, unsigned ncpus, std::string* why = nullptr);

// One element as the host sees it: key_size and sys_value_size() bytes.
struct MapEntry {
  std::vector<uint8_t> key, value;
};

// Every element a host can read with get_next_key + sys_lookup, in
// get_next_key order (arrays: every index; devmaps: the filled slots; XSKMAP,
// perf event arrays and ringbufs: none, as their syscall lookup fails).
std::vector<MapEntry> dump(Map& m);

namespace detail {
// The map_<kind>.cpp factories behind make_map; def is already checked.
std::unique_ptr<Map> make_array_map(const bpf::MapDef& def, unsigned ncpus);
std::unique_ptr<Map> make_hash_map(const bpf::MapDef& def, unsigned ncpus);
std::unique_ptr<Map> make_lpm_map(const bpf::MapDef& def, unsigned ncpus);
}  // namespace detail

}  // namespace ref
