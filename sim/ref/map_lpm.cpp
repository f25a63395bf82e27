// LPM_TRIE: keys are {u32 prefixlen; u8 data[key_size - 4]}, bits counted from
// the most significant bit of data[0], as in the kernel's lpm_trie.c.
//
// Instead of a path-compressed trie, prefixes live in an ordered map whose order
// is the kernel trie's post-order walk (a prefix after all its extensions, the
// 0 side before the 1 side), so get_next_key returns exactly what the kernel's
// does; lookups probe each stored prefix length, longest first.
#include "sim/ref/maps.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace ref {
namespace {

size_t round8(size_t n) {
  return (n + 7) & ~size_t(7);
}

uint32_t prefixlen(const void* key) {
  uint32_t v;
  std::memcpy(&v, key, 4);
  return v;
}

// Order of canonical keys (prefixlen + data with the bits past it cleared).
struct PostOrder {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const {
    uint32_t la = prefixlen(a.data()), lb = prefixlen(b.data());
    const auto* da = reinterpret_cast<const uint8_t*>(a.data()) + 4;
    const auto* db = reinterpret_cast<const uint8_t*>(b.data()) + 4;
    uint32_t common = la < lb ? la : lb;
    for (uint32_t i = 0; i * 8 < common; ++i) {
      unsigned bits = common - i * 8 < 8 ? common - i * 8 : 8;
      unsigned diff = (da[i] ^ db[i]) & (0xff00u >> bits);
      if (diff) {
        unsigned top = 0x80;
        while (!(diff & top)) top >>= 1;
        return !(da[i] & top);  // the 0 side comes first
      }
    }
    return la > lb;  // one extends the other: the longer first
  }
};

class LpmMap : public Map {
 public:
  LpmMap(const bpf::MapDef& def, unsigned ncpus)
      : Map(def, ncpus),
        data_size_(def.key_size - 4),
        max_prefixlen_(8 * data_size_),
        stride_(round8(def.value_size)),
        keys_((size_t(def.max_entries) + 1) * def.key_size),
        arena_(((uint64_t(def.max_entries) + 1) * stride_ + 7) / 8) {
    for (uint32_t s = 0; s <= def.max_entries; ++s) free_.push_back(s);
  }

  uint8_t* lookup(const void* key, unsigned cpu) override {
    check_cpu(cpu);
    return match(key);
  }

  // trie_update_elem. A replaced prefix gets a fresh slot and the old one is
  // reused last (the kernel frees the old node after an RCU grace period), so a
  // pointer from an earlier lookup reads the old value during a run.
  int update(const void* key, const void* value, uint64_t flags, unsigned cpu) override {
    check_cpu(cpu);
    if (flags > BPF_EXIST) return -EINVAL;
    uint32_t len = prefixlen(key);
    if (len > max_prefixlen_) return -EINVAL;
    canonical(key, len);
    auto it = index_.find(std::string_view(scratch_));
    if (it != index_.end()) {
      if (flags == BPF_NOEXIST) return -EEXIST;
      uint32_t s = take(key, value);  // max_entries + 1 slots: one is always free
      free_.push_back(it->second);
      it->second = s;
      return 0;
    }
    if (flags == BPF_EXIST) return -ENOENT;
    if (index_.size() >= def_.max_entries) return -ENOSPC;
    index_.emplace(scratch_, take(key, value));
    ++lens_[len];
    return 0;
  }

  int remove(const void* key) override {
    uint32_t len = prefixlen(key);
    if (len > max_prefixlen_) return -EINVAL;
    canonical(key, len);
    auto it = index_.find(std::string_view(scratch_));
    if (it == index_.end()) return -ENOENT;
    free_.push_back(it->second);
    index_.erase(it);
    if (--lens_[len] == 0) lens_.erase(len);
    return 0;
  }

  // trie_get_next_key: an absent key, or one with a bad prefixlen, restarts at
  // the first prefix. The returned data is the key as last written, bits past
  // prefixlen included.
  int get_next_key(const void* key, void* next) override {
    if (index_.empty()) return -ENOENT;
    auto it = index_.end();
    if (key && prefixlen(key) <= max_prefixlen_) {
      canonical(key, prefixlen(key));
      it = index_.find(std::string_view(scratch_));
    }
    if (it == index_.end()) {
      it = index_.begin();
    } else if (++it == index_.end()) {
      return -ENOENT;
    }
    std::memcpy(next, &keys_[size_t(it->second) * def_.key_size], def_.key_size);
    return 0;
  }

  const uint8_t* peek(const void* key, unsigned) override { return match(key); }
  size_t count() const override { return index_.size(); }

  std::vector<Region> regions() override {
    return {Region{value(0), arena_.size() * 8, !(def_.flags & BPF_F_RDONLY_PROG)}};
  }

 private:
  uint8_t* value(uint32_t s) {
    return reinterpret_cast<uint8_t*>(arena_.data()) + size_t(s) * stride_;
  }

  // scratch_ = the canonical form of key cut to len bits.
  void canonical(const void* key, uint32_t len) {
    scratch_.assign(static_cast<const char*>(key), 4 + data_size_);
    std::memcpy(scratch_.data(), &len, 4);
    for (uint32_t i = 0; i < data_size_; ++i) {
      uint32_t bit = i * 8;
      if (bit >= len) {
        scratch_[4 + i] = 0;
      } else if (len - bit < 8) {
        scratch_[4 + i] = char(uint8_t(scratch_[4 + i]) & (0xff00u >> (len - bit)));
      }
    }
  }

  uint32_t take(const void* key, const void* v) {
    uint32_t s = free_.front();
    free_.pop_front();
    std::memcpy(&keys_[size_t(s) * def_.key_size], key, def_.key_size);
    std::memcpy(value(s), v, def_.value_size);
    return s;
  }

  // trie_lookup_elem: the longest stored prefix no longer than the key's
  // prefixlen that matches the key's data.
  uint8_t* match(const void* key) {
    uint32_t len = prefixlen(key);
    if (len > max_prefixlen_) return nullptr;
    for (const auto& [l, n] : lens_) {
      if (l > len) continue;
      canonical(key, l);
      auto it = index_.find(std::string_view(scratch_));
      if (it != index_.end()) return value(it->second);
    }
    return nullptr;
  }

  uint32_t data_size_, max_prefixlen_;
  size_t stride_;
  std::vector<uint8_t> keys_;    // per slot: the key as written
  std::vector<uint64_t> arena_;  // max_entries + 1 slots
  std::map<std::string, uint32_t, PostOrder> index_;
  std::map<uint32_t, uint32_t, std::greater<uint32_t>> lens_;  // prefix lengths in use
  std::deque<uint32_t> free_;  // FIFO: a freed slot is reused as late as possible
  std::string scratch_;
};

}  // namespace

namespace detail {

std::unique_ptr<Map> make_lpm_map(const bpf::MapDef& def, unsigned ncpus) {
  return std::make_unique<LpmMap>(def, ncpus);
}

}  // namespace detail
}  // namespace ref
