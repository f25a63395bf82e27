// Map base class, creation checks, dump, and the ringbuf (no elements at all).
#include "sim/ref/maps.h"

#include <linux/bpf.h>

#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace ref {
namespace {

size_t round8(size_t n) {
  return (n + 7) & ~size_t(7);
}

// Kernel limits on x86-64 (4 KiB pages, SLUB): KMALLOC_MAX_SIZE, PCPU_MIN_UNIT_SIZE.
constexpr uint64_t kPageSize = 4096;
constexpr uint64_t kKmallocMax = uint64_t(1) << 22;
constexpr uint64_t kPcpuMinUnit = 32 << 10;
constexpr uint64_t kHtabElemSize = 48;  // sizeof(struct htab_elem)
constexpr uint64_t kLpmNodeSize = 40;   // sizeof(struct lpm_trie_node)
constexpr uint32_t kMapTypeArena = 33;  // BPF_MAP_TYPE_ARENA, newer than the 6.1 headers

constexpr uint32_t kAccessMask =
    BPF_F_RDONLY | BPF_F_RDONLY_PROG | BPF_F_WRONLY | BPF_F_WRONLY_PROG;
constexpr uint32_t kArrayFlags =
    BPF_F_NUMA_NODE | BPF_F_MMAPABLE | kAccessMask | BPF_F_PRESERVE_ELEMS | BPF_F_INNER_MAP;
constexpr uint32_t kHashFlags =
    BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_NUMA_NODE | kAccessMask | BPF_F_ZERO_SEED;
constexpr uint32_t kLpmFlags = BPF_F_NO_PREALLOC | BPF_F_NUMA_NODE | kAccessMask;
constexpr uint32_t kDevFlags = BPF_F_NUMA_NODE | BPF_F_RDONLY | BPF_F_WRONLY;

// Program access flags may not forbid both reads and writes (bpf_map_flags_access_ok).
bool access_ok(uint32_t f) {
  return (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG)) != (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG);
}

// Returns -err after recording why; used as `return fail(...)`.
int fail(std::string* why, int err, const char* reason) {
  if (why) *why = reason;
  return -err;
}

// with_flags = false skips the rules about map_flags: make_map accepts any flags
// (an LPM trie without BPF_F_NO_PREALLOC, say) as long as the geometry works.
int check_def(const bpf::MapDef& d, unsigned ncpus, std::string* why, bool with_flags) {
  const uint32_t f = with_flags ? d.flags : 0;
  if (ncpus == 0) return fail(why, EINVAL, "no CPUs");
  if (d.extra != 0 && d.type != BPF_MAP_TYPE_BLOOM_FILTER && d.type != kMapTypeArena)
    return fail(why, EINVAL, "map_extra is only for bloom filters and arenas");
  if ((f & BPF_F_RDONLY) && (f & BPF_F_WRONLY))
    return fail(why, EINVAL, "BPF_F_RDONLY and BPF_F_WRONLY together");
  switch (d.type) {
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      if (d.value_size != 4) return fail(why, EINVAL, "value_size must be 4 (a program or event)");
      if (f & (BPF_F_RDONLY_PROG | BPF_F_WRONLY_PROG))
        return fail(why, EINVAL, "program access flags on an fd array");
      [[fallthrough]];
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY: {
      bool percpu = d.type == BPF_MAP_TYPE_PERCPU_ARRAY;
      if (d.max_entries == 0) return fail(why, EINVAL, "max_entries is 0");
      if (d.key_size != 4) return fail(why, EINVAL, "key_size must be 4");
      if (d.value_size == 0) return fail(why, EINVAL, "value_size is 0");
      if ((f & ~kArrayFlags) || !access_ok(f) || (percpu && (f & BPF_F_NUMA_NODE)))
        return fail(why, EINVAL, "flags not allowed for an array");
      if (d.type != BPF_MAP_TYPE_ARRAY && (f & (BPF_F_MMAPABLE | BPF_F_INNER_MAP)))
        return fail(why, EINVAL, "BPF_F_MMAPABLE/BPF_F_INNER_MAP are for plain arrays");
      if (d.type != BPF_MAP_TYPE_PERF_EVENT_ARRAY && (f & BPF_F_PRESERVE_ELEMS))
        return fail(why, EINVAL, "BPF_F_PRESERVE_ELEMS is for perf event arrays");
      if (d.value_size > INT_MAX) return fail(why, E2BIG, "value_size too large");
      if (percpu && round8(d.value_size) > kPcpuMinUnit)
        return fail(why, E2BIG, "percpu value_size above 32 KiB");
      return 0;
    }
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH: {
      bool percpu = d.type == BPF_MAP_TYPE_PERCPU_HASH || d.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
      bool lru = d.type == BPF_MAP_TYPE_LRU_HASH || d.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
      if ((f & ~kHashFlags) || !access_ok(f))
        return fail(why, EINVAL, "flags not allowed for a hash");
      if (!lru && (f & BPF_F_NO_COMMON_LRU))
        return fail(why, EINVAL, "BPF_F_NO_COMMON_LRU on a non-LRU hash");
      if (lru && (f & BPF_F_NO_PREALLOC))
        return fail(why, kENOTSUPP, "LRU hashes are always preallocated");
      if ((f & BPF_F_NUMA_NODE) && (percpu || (f & BPF_F_NO_COMMON_LRU)))
        return fail(why, EINVAL, "BPF_F_NUMA_NODE on a percpu map");
      if (d.max_entries == 0) return fail(why, EINVAL, "max_entries is 0");
      if (d.key_size == 0) return fail(why, EINVAL, "key_size is 0");
      if (d.value_size == 0) return fail(why, EINVAL, "value_size is 0");
      if (uint64_t(d.key_size) + d.value_size >= kKmallocMax - kHtabElemSize)
        return fail(why, E2BIG, "key_size + value_size too large");
      if (percpu && round8(d.value_size) > kPcpuMinUnit)
        return fail(why, E2BIG, "percpu value_size above 32 KiB");
      if (d.max_entries > (1u << 31)) return fail(why, E2BIG, "max_entries above 2^31");
      return 0;
    }
    case BPF_MAP_TYPE_LPM_TRIE:
      if (d.max_entries == 0) return fail(why, EINVAL, "max_entries is 0");
      if (with_flags && !(f & BPF_F_NO_PREALLOC))
        return fail(why, EINVAL, "an LPM trie needs BPF_F_NO_PREALLOC");
      if ((f & ~kLpmFlags) || !access_ok(f))
        return fail(why, EINVAL, "flags not allowed for an LPM trie");
      if (d.key_size < 4 + 1 || d.key_size > 4 + 256)
        return fail(why, EINVAL, "key_size must be 4 + 1..256 data bytes");
      if (d.value_size < 1 || d.value_size > kKmallocMax - 256 - kLpmNodeSize)
        return fail(why, EINVAL, "bad value_size for an LPM trie");
      return 0;
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
      if (d.max_entries == 0 || d.key_size != 4 || (d.value_size != 4 && d.value_size != 8))
        return fail(why, EINVAL, "a devmap needs key_size 4, value_size 4 or 8");
      if (f & ~kDevFlags) return fail(why, EINVAL, "flags not allowed for a devmap");
      if (d.type == BPF_MAP_TYPE_DEVMAP_HASH && d.max_entries > (1u << 31))
        return fail(why, EINVAL, "max_entries above 2^31");
      return 0;
    case BPF_MAP_TYPE_CPUMAP:
      if (d.max_entries == 0 || d.key_size != 4 || (d.value_size != 4 && d.value_size != 8))
        return fail(why, EINVAL, "a cpumap needs key_size 4, value_size 4 or 8");
      if (f & ~uint32_t(BPF_F_NUMA_NODE))
        return fail(why, EINVAL, "flags not allowed for a cpumap");
      return 0;
    case BPF_MAP_TYPE_XSKMAP:
      if (d.max_entries == 0 || d.key_size != 4 || d.value_size != 4)
        return fail(why, EINVAL, "an xskmap needs key_size 4, value_size 4");
      if (f & ~kDevFlags) return fail(why, EINVAL, "flags not allowed for an xskmap");
      return 0;
    case BPF_MAP_TYPE_RINGBUF:
      if (f & ~uint32_t(BPF_F_NUMA_NODE))
        return fail(why, EINVAL, "flags not allowed for a ringbuf");
      if (d.key_size || d.value_size)
        return fail(why, EINVAL, "a ringbuf has key_size and value_size 0");
      if (d.max_entries == 0 || (d.max_entries & (d.max_entries - 1)) || d.max_entries % kPageSize)
        return fail(why, EINVAL, "ringbuf size must be a power of two and a multiple of 4096");
      return 0;
    default:
      return fail(why, EINVAL, "unsupported map type");
  }
}

// BPF_MAP_TYPE_RINGBUF: the interpreter records output itself; the map only
// refuses element operations the way the kernel does.
class RingBufMap : public Map {
 public:
  using Map::Map;
  uint8_t* lookup(const void*, unsigned cpu) override {
    check_cpu(cpu);
    return nullptr;
  }
  int update(const void*, const void*, uint64_t, unsigned cpu) override {
    check_cpu(cpu);
    return -kENOTSUPP;
  }
  int remove(const void*) override { return -kENOTSUPP; }
  // A key pointer for a map with key_size 0 is refused before the map code runs.
  int get_next_key(const void* key, void*) override { return key ? -EINVAL : -kENOTSUPP; }
  const uint8_t* peek(const void*, unsigned) override { return nullptr; }
  size_t count() const override { return 0; }
  std::vector<Region> regions() override { return {}; }

 protected:
  int host_lookup(const void*, void*) override { return -kENOTSUPP; }
  int host_update(const void*, const void*, uint64_t) override { return -kENOTSUPP; }
};

}  // namespace

bool Map::percpu() const {
  return def_.type == BPF_MAP_TYPE_PERCPU_ARRAY || def_.type == BPF_MAP_TYPE_PERCPU_HASH ||
         def_.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

size_t Map::sys_value_size() const {
  return percpu() ? round8(def_.value_size) * ncpus_ : def_.value_size;
}

void Map::check_cpu(unsigned cpu) const {
  if (cpu >= ncpus_)
    throw std::out_of_range("map '" + def_.name + "': cpu " + std::to_string(cpu) + " of " +
                            std::to_string(ncpus_));
}

// The syscall layer's checks, in the kernel's order: permissions, then flags,
// then the key copy (a key pointer for key_size 0 is -EINVAL).
int Map::sys_lookup(const void* key, void* value) {
  if (def_.flags & BPF_F_WRONLY) return -EPERM;
  if (def_.key_size == 0 && key) return -EINVAL;
  return host_lookup(key, value);
}

int Map::sys_update(const void* key, const void* value, uint64_t flags) {
  if (frozen_ || (def_.flags & BPF_F_RDONLY)) return -EPERM;
  if (flags & BPF_F_LOCK) return -EINVAL;
  if (def_.key_size == 0 && key) return -EINVAL;
  return host_update(key, value, flags);
}

int Map::sys_delete(const void* key) {
  if (frozen_ || (def_.flags & BPF_F_RDONLY)) return -EPERM;
  if (def_.key_size == 0 && key) return -EINVAL;
  return remove(key);
}

// A frozen map's fd has lost its write permission, which map_freeze checks
// before its own -EBUSY: freezing twice is -EPERM.
int Map::freeze() {
  if (frozen_ || (def_.flags & BPF_F_RDONLY)) return -EPERM;
  frozen_ = true;
  return 0;
}

int Map::host_lookup(const void* key, void* value) {
  const uint8_t* p = peek(key, 0);
  if (!p) return -ENOENT;
  std::memcpy(value, p, sys_value_size());
  return 0;
}

int Map::host_update(const void* key, const void* value, uint64_t flags) {
  return update(key, value, flags, 0);
}

bool map_type_supported(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
    case BPF_MAP_TYPE_PROG_ARRAY:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_RINGBUF:
      return true;
    default:
      return false;
  }
}

int check_map_def(const bpf::MapDef& def, unsigned ncpus, std::string* why) {
  return check_def(def, ncpus, why, true);
}

std::unique_ptr<Map> make_map(const bpf::MapDef& def, unsigned ncpus) {
  if (!map_type_supported(def.type))
    throw bpf::LoadError("map '" + def.name + "': unsupported map type " +
                         std::to_string(def.type));
  std::string why;
  if (check_def(def, ncpus, &why, false) != 0)
    throw bpf::LoadError("map '" + def.name + "': " + why);
  switch (def.type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_DEVMAP_HASH:
      return detail::make_hash_map(def, ncpus);
    case BPF_MAP_TYPE_LPM_TRIE:
      return detail::make_lpm_map(def, ncpus);
    case BPF_MAP_TYPE_RINGBUF:
      return std::make_unique<RingBufMap>(def, ncpus);
    default:
      return detail::make_array_map(def, ncpus);
  }
}

std::vector<MapEntry> dump(Map& m) {
  std::vector<MapEntry> out;
  const size_t ks = m.def().key_size;
  std::vector<uint8_t> key(ks), next(ks), value(m.sys_value_size());
  bool first = true;
  // No map holds more than max_entries keys: the bound only guards against a bug.
  for (uint64_t n = 0; n <= uint64_t(m.def().max_entries); ++n) {
    if (m.get_next_key(first ? nullptr : key.data(), next.data()) != 0) break;
    first = false;
    key = next;
    if (m.sys_lookup(key.data(), value.data()) == 0) out.push_back(MapEntry{key, value});
  }
  return out;
}

}  // namespace ref
