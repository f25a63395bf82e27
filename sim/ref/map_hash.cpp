// Byte-keyed hash maps: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH and
// DEVMAP_HASH, over preallocated slots as the kernel's default (prealloc) maps.
#include "sim/ref/maps.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <string_view>
#include <unordered_map>

namespace ref {
namespace {

constexpr uint32_t kNil = UINT32_MAX;

size_t round8(size_t n) {
  return (n + 7) & ~size_t(7);
}

// An intrusive doubly linked list over slot numbers.
class SlotList {
 public:
  explicit SlotList(uint32_t n) : links_(n) {}
  uint32_t front() const { return head_; }
  uint32_t next(uint32_t s) const { return links_[s].next; }
  void push_back(uint32_t s) {
    links_[s] = {tail_, kNil};
    (tail_ == kNil ? head_ : links_[tail_].next) = s;
    tail_ = s;
  }
  void unlink(uint32_t s) {
    Link l = links_[s];
    (l.prev == kNil ? head_ : links_[l.prev].next) = l.next;
    (l.next == kNil ? tail_ : links_[l.next].prev) = l.prev;
  }
  // s takes old's place in the list.
  void substitute(uint32_t old, uint32_t s) {
    Link l = links_[old];
    links_[s] = l;
    (l.prev == kNil ? head_ : links_[l.prev].next) = s;
    (l.next == kNil ? tail_ : links_[l.next].prev) = s;
  }

 private:
  struct Link {
    uint32_t prev = kNil, next = kNil;
  };
  std::vector<Link> links_;
  uint32_t head_ = kNil, tail_ = kNil;
};

// Slots holding keys: an index by key bytes, a LIFO free list (the kernel's
// pcpu_freelist hands a freed element to the next insert on the same CPU),
// the insertion order that get_next_key walks, and a recency order for LRU.
class Table {
 public:
  // Slots [0, nfree) start on the free list; the rest belong to the caller.
  Table(uint32_t nslots, uint32_t nfree, uint32_t key_size)
      : ks_(key_size), keys_(size_t(nslots) * key_size), order_(nslots), recency_(nslots) {
    index_.reserve(nfree);
    for (uint32_t s = nfree; s-- > 0;) free_.push_back(s);
  }

  uint32_t find(const void* key) const {
    auto it = index_.find(std::string_view(static_cast<const char*>(key), ks_));
    return it == index_.end() ? kNil : it->second;
  }
  const uint8_t* key(uint32_t s) const { return &keys_[size_t(s) * ks_]; }
  size_t size() const { return index_.size(); }
  uint32_t first() const { return order_.front(); }
  uint32_t next(uint32_t s) const { return order_.next(s); }
  uint32_t least_recent() const { return recency_.front(); }

  uint32_t pop_free() {
    if (free_.empty()) return kNil;
    uint32_t s = free_.back();
    free_.pop_back();
    return s;
  }
  void push_free(uint32_t s) { free_.push_back(s); }

  void insert(uint32_t s, const void* key) {
    std::memcpy(&keys_[size_t(s) * ks_], key, ks_);
    index_.emplace(view(s), s);
    order_.push_back(s);
    recency_.push_back(s);
  }
  void erase(uint32_t s) {
    index_.erase(view(s));
    order_.unlink(s);
    recency_.unlink(s);
  }
  // Slot s takes over old's key and its places in both orders.
  void substitute(uint32_t old, uint32_t s) {
    std::memcpy(&keys_[size_t(s) * ks_], key(old), ks_);
    index_.erase(view(old));
    index_.emplace(view(s), s);
    order_.substitute(old, s);
    recency_.substitute(old, s);
  }
  void touch(uint32_t s) {
    recency_.unlink(s);
    recency_.push_back(s);
  }

  // Kernel get_next_key for hashes: the first key when key is absent.
  int next_key(const void* key, void* next) const {
    uint32_t s = key ? find(key) : kNil;
    uint32_t n = s == kNil ? first() : this->next(s);
    if (n == kNil) return -ENOENT;
    std::memcpy(next, this->key(n), ks_);
    return 0;
  }

 private:
  std::string_view view(uint32_t s) const {
    return std::string_view(reinterpret_cast<const char*>(key(s)), ks_);
  }

  uint32_t ks_;
  std::vector<uint8_t> keys_;  // never resized: index_ views point into it
  std::unordered_map<std::string_view, uint32_t> index_;
  std::vector<uint32_t> free_;
  SlotList order_, recency_;
};

// HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH.
//
// Replacing an element of a HASH or LRU_HASH writes the new value into a spare
// slot of the updating CPU and keeps the old slot as the new spare, as the
// kernel's extra_elems (LRU: a fresh node) do: a pointer from an earlier lookup
// still reads the old value. Percpu maps update in place, as the kernel does.
class HashMap : public Map {
 public:
  HashMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus),
        lru_(def.type == BPF_MAP_TYPE_LRU_HASH || def.type == BPF_MAP_TYPE_LRU_PERCPU_HASH),
        spare_(!percpu()),
        stride_(round8(def.value_size)),
        elem_(percpu() ? stride_ * ncpus : stride_),
        limit_(max_entries(def, ncpus)),
        table_(limit_ + (spare_ ? ncpus : 0), limit_, def.key_size),
        arena_(((uint64_t(limit_) + (spare_ ? ncpus : 0)) * elem_ + 7) / 8) {
    def_.max_entries = limit_;
    if (spare_)
      for (unsigned c = 0; c < ncpus; ++c) spares_.push_back(limit_ + c);
  }

  uint8_t* lookup(const void* key, unsigned cpu) override {
    check_cpu(cpu);
    uint32_t s = table_.find(key);
    if (s == kNil) return nullptr;
    if (lru_) table_.touch(s);  // bpf_lru_node_set_ref
    return value(s) + (percpu() ? cpu * stride_ : 0);
  }

  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    return store(key, static_cast<const uint8_t*>(value), flags, cpu, false);
  }

  int remove(const void* key) override {
    uint32_t s = table_.find(key);
    if (s == kNil) return -ENOENT;
    table_.erase(s);
    table_.push_free(s);
    return 0;
  }

  int get_next_key(const void* key, void* next) override { return table_.next_key(key, next); }

  const uint8_t* peek(const void* key, unsigned cpu) override {
    uint32_t s = table_.find(key);
    return s == kNil ? nullptr : value(s) + (percpu() ? cpu * stride_ : 0);
  }

  size_t count() const override { return table_.size(); }

  std::vector<Region> regions() override {
    return {Region{value(0), arena_.size() * 8, !(def_.flags & BPF_F_RDONLY_PROG)}};
  }

 protected:
  int host_update(const void* key, const void* value, uint64_t flags) override {
    return store(key, static_cast<const uint8_t*>(value), flags, 0, percpu());
  }

 private:
  // BPF_F_NO_COMMON_LRU rounds max_entries up to a multiple of the CPU count
  // (down if that overflows), so that every CPU's list gets the same share.
  static uint32_t max_entries(const bpf::MapDef& def, unsigned ncpus) {
    bool per_cpu_lru =
        (def.type == BPF_MAP_TYPE_LRU_HASH || def.type == BPF_MAP_TYPE_LRU_PERCPU_HASH) &&
        (def.flags & BPF_F_NO_COMMON_LRU);
    if (!per_cpu_lru) return def.max_entries;
    uint64_t up = (uint64_t(def.max_entries) + ncpus - 1) / ncpus * ncpus;
    return up <= UINT32_MAX ? uint32_t(up) : def.max_entries / ncpus * ncpus;
  }

  uint8_t* value(uint32_t s) {
    return reinterpret_cast<uint8_t*>(arena_.data()) + size_t(s) * elem_;
  }

  // Writes a value into slot s: from a program (this cpu's copy, value_size bytes;
  // a new percpu element has its other copies zeroed, pcpu_init_value) or from
  // the host for percpu maps (all copies with their padding, from the buffer).
  void write(uint32_t s, const uint8_t* v, unsigned cpu, bool all_cpus, bool fresh) {
    uint8_t* dst = value(s);
    if (all_cpus) {
      std::memcpy(dst, v, elem_);
    } else if (percpu()) {
      if (fresh) std::memset(dst, 0, elem_);
      std::memcpy(dst + cpu * stride_, v, def_.value_size);
    } else {
      std::memcpy(dst, v, def_.value_size);
    }
  }

  int store(const void* key, const uint8_t* v, uint64_t flags, unsigned cpu, bool all_cpus) {
    if (def_.type == BPF_MAP_TYPE_HASH) {
      if ((flags & ~uint64_t(BPF_F_LOCK)) > BPF_EXIST) return -EINVAL;
      if (flags & BPF_F_LOCK) return -EINVAL;  // no bpf_spin_lock in the value
    } else if (flags > BPF_EXIST) {
      return -EINVAL;
    }
    uint32_t s = table_.find(key);
    if (s != kNil && flags == BPF_NOEXIST) return -EEXIST;
    if (s == kNil && flags == BPF_EXIST) return -ENOENT;
    if (s != kNil) {
      if (spare_) {
        uint32_t n = spares_[cpu];
        write(n, v, cpu, all_cpus, true);
        table_.substitute(s, n);
        spares_[cpu] = s;
        s = n;
      } else {
        write(s, v, cpu, all_cpus, false);
      }
      if (lru_) table_.touch(s);
      return 0;
    }
    if (table_.size() >= limit_) {
      if (!lru_) return -E2BIG;
      uint32_t victim = table_.least_recent();
      table_.erase(victim);
      table_.push_free(victim);
    }
    uint32_t n = table_.pop_free();
    write(n, v, cpu, all_cpus, true);
    table_.insert(n, key);
    return 0;
  }

  bool lru_, spare_;
  size_t stride_, elem_;
  uint32_t limit_;
  Table table_;
  std::vector<uint64_t> arena_;   // limit_ slots, then one spare per CPU
  std::vector<uint32_t> spares_;  // per CPU: the slot the next replace writes
};

// DEVMAP_HASH: u32 keys to {ifindex, prog}; no -ENOENT for BPF_EXIST (the
// kernel does not check it), ifindex 0 is -EINVAL, a full map -E2BIG.
class DevHashMap : public Map {
 public:
  DevHashMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus),
        table_(def.max_entries, def.max_entries, 4),
        vals_(size_t(def.max_entries) * 2) {}

  uint8_t* lookup(const void* key, unsigned cpu) override {
    check_cpu(cpu);
    return slot(key);
  }

  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    uint32_t v[2] = {0, uint32_t(-1)};
    std::memcpy(v, value, def_.value_size);
    if (flags > BPF_EXIST || v[0] == 0) return -EINVAL;
    uint32_t s = table_.find(key);
    if (s != kNil && (flags & BPF_NOEXIST)) return -EEXIST;
    if (s == kNil) {
      if (table_.size() >= def_.max_entries) return -E2BIG;
      s = table_.pop_free();
      table_.insert(s, key);
    }
    int32_t prog = int32_t(v[1]);
    vals_[2 * size_t(s)] = v[0];
    vals_[2 * size_t(s) + 1] = prog > 0 ? uint32_t(prog) : 0;
    return 0;
  }

  int remove(const void* key) override {
    uint32_t s = table_.find(key);
    if (s == kNil) return -ENOENT;
    table_.erase(s);
    table_.push_free(s);
    return 0;
  }

  int get_next_key(const void* key, void* next) override { return table_.next_key(key, next); }
  const uint8_t* peek(const void* key, unsigned) override { return slot(key); }
  size_t count() const override { return table_.size(); }

  std::vector<Region> regions() override {
    return {Region{reinterpret_cast<uint8_t*>(vals_.data()), vals_.size() * 4, false}};
  }

 private:
  uint8_t* slot(const void* key) {
    uint32_t s = table_.find(key);
    return s == kNil ? nullptr : reinterpret_cast<uint8_t*>(&vals_[2 * size_t(s)]);
  }

  Table table_;
  std::vector<uint32_t> vals_;
};

}  // namespace

namespace detail {

std::unique_ptr<Map> make_hash_map(const bpf::MapDef& def, unsigned ncpus) {
  if (def.type == BPF_MAP_TYPE_DEVMAP_HASH) return std::make_unique<DevHashMap>(def, ncpus);
  return std::make_unique<HashMap>(def, ncpus);
}

}  // namespace detail
}  // namespace ref
