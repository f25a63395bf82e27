#include "sim/iss/engines.h"

#include "firmware/abi.h"
#include "sim/ref/csum.h"

#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

namespace npu::iss {
namespace {

uint32_t rol32(uint32_t w, unsigned s) {
  return (w << s) | (w >> (32 - s));
}

void jhash_mix(uint32_t& a, uint32_t& b, uint32_t& c) {
  a -= c, a ^= rol32(c, 4), c += b;
  b -= a, b ^= rol32(a, 6), a += c;
  c -= b, c ^= rol32(b, 8), b += a;
  a -= c, a ^= rol32(c, 16), c += b;
  b -= a, b ^= rol32(a, 19), a += c;
  c -= b, c ^= rol32(b, 4), b += a;
}

void jhash_final(uint32_t& a, uint32_t& b, uint32_t& c) {
  c ^= b, c -= rol32(b, 14);
  a ^= c, a -= rol32(c, 11);
  b ^= a, b -= rol32(a, 25);
  c ^= b, c -= rol32(b, 16);
  a ^= c, a -= rol32(c, 4);
  b ^= a, b -= rol32(a, 14);
  c ^= b, c -= rol32(b, 24);
}

uint64_t neg(int e) {
  return uint64_t(int64_t(-e));
}

constexpr size_t kSmallKey = 64;  // keys up to this size need no allocation
constexpr uint64_t kWindowMask = (uint64_t(1) << NPU_MAP_SHIFT) - 1;

}  // namespace

uint32_t jhash(const uint8_t* k, size_t n, uint32_t seed) {
  uint32_t a, b, c;
  a = b = c = 0xdeadbeefu + uint32_t(n) + seed;
  auto u32 = [](const uint8_t* p) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    return v;
  };
  for (; n > 12; n -= 12, k += 12) {
    a += u32(k), b += u32(k + 4), c += u32(k + 8);
    jhash_mix(a, b, c);
  }
  if (n == 0) return c;
  uint8_t t[12] = {};
  std::memcpy(t, k, n);
  a += u32(t), b += u32(t + 4), c += u32(t + 8);
  jhash_final(a, b, c);
  return c;
}

Engines::Engines(MemoryPort& mem, const Timing& timing, unsigned threads_per_core,
                 unsigned map_cpus, uint64_t seed)
    : mem_(mem),
      timing_(timing),
      threads_per_core_(threads_per_core),
      map_cpus_(map_cpus ? map_cpus : 1),
      maps_(NPU_MAX_MAPS),
      rand_state_(seed) {}

uint8_t* Engines::view(unsigned core, uint64_t addr, uint64_t n, bool write) {
  Dmi d;
  if (!mem_.dmi(core, addr, &d) || (write && !d.writable) || addr + n > d.hi || addr + n < addr)
    return nullptr;
  return d.host + (addr - d.lo);
}

bool Engines::read(unsigned core, uint64_t addr, size_t n, void* out) {
  if (n == 0) return true;
  const uint8_t* p = view(core, addr, n, false);
  if (p) std::memcpy(out, p, n);
  return p != nullptr;
}

bool Engines::write(unsigned core, uint64_t addr, size_t n, const void* in) {
  if (n == 0) return true;
  uint8_t* p = view(core, addr, n, true);
  if (p) std::memcpy(p, in, n);
  return p != nullptr;
}

ref::Map* Engines::map(uint32_t id) {
  return id < maps_.size() ? maps_[id].get() : nullptr;
}

std::vector<uint32_t> Engines::map_ids() const {
  std::vector<uint32_t> v;
  for (uint32_t i = 0; i < maps_.size(); ++i)
    if (maps_[i]) v.push_back(i);
  return v;
}

uint64_t Engines::map_addr(uint32_t id, const uint8_t* value) {
  if (!value) return 0;
  for (const ref::Region& r : maps_[id]->regions())
    if (value >= r.base && value < r.base + r.size)
      return NPU_MAP_BASE + (uint64_t(id) << NPU_MAP_SHIFT) + uint64_t(value - r.base);
  return 0;  // not in the map's memory (cannot happen with the reference maps)
}

bool Engines::map_dmi(uint64_t addr, Dmi* out) {
  if (addr < NPU_MAP_BASE) return false;
  uint64_t id = (addr - NPU_MAP_BASE) >> NPU_MAP_SHIFT;
  if (id >= maps_.size() || !maps_[id]) return false;
  std::vector<ref::Region> regs = maps_[id]->regions();
  if (regs.empty()) return false;
  uint64_t lo = NPU_MAP_BASE + (id << NPU_MAP_SHIFT);
  if ((addr & kWindowMask) >= regs[0].size) return false;
  *out = Dmi{regs[0].base,
             lo,
             lo + regs[0].size,
             regs[0].writable,
             timing_.mem_latency[size_t(Region::MAP)],
             Region::MAP};
  return true;
}

Completion Engines::command(const Command& cmd) {
  Completion c;
  const OpInfo& o = op_info(cmd.op);
  switch (o.unit) {
    case Unit::ATOMIC:
      return atomic(cmd);
    case Unit::MAP:
      return map_command(cmd);
    case Unit::CSUM:
    case Unit::HASH: {
      // Both read the bytes where they are: one region, no copy.
      uint64_t len = cmd.c;
      const uint8_t* p = view(cmd.core, cmd.b, len, false);
      if (!p && len) {
        c.fault = true;
        c.fault_addr = cmd.b;
        return c;
      }
      if (o.unit == Unit::CSUM) {
        c.value = ref::csum_partial(p, len, uint32_t(cmd.d));
        c.latency = timing_.unit_latency(Unit::CSUM, len);
      } else {
        c.value = jhash(p, len, uint32_t(cmd.d));
        c.latency = timing_.hash;
      }
      return c;
    }
    case Unit::RAND: {
      // splitmix64, as the reference interpreter's bpf_get_prandom_u32.
      uint64_t z = (rand_state_ += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      c.value = uint32_t(z ^ (z >> 31));
      c.latency = timing_.rand;
      return c;
    }
    case Unit::TIME:
      c.value = cmd.cycle * 1000 / timing_.clock_mhz;
      c.latency = timing_.time;
      return c;
    default:
      c.fault = true;
      return c;
  }
}

Completion Engines::atomic(const Command& cmd) {
  Completion c;
  c.latency = timing_.atomic;
  unsigned n = cmd.width;
  uint8_t* p = view(cmd.core, cmd.addr, n, true);
  if (!p) {
    c.fault = true;
    c.fault_addr = cmd.addr;
    return c;
  }
  uint64_t mask = n == 8 ? ~0ull : 0xffffffffull;
  uint64_t old = 0;
  std::memcpy(&old, p, n);
  uint64_t nv = old;
  switch (cmd.op) {
    case Op::AADD:
    case Op::AFADD:
      nv = old + cmd.d;
      break;
    case Op::AOR:
    case Op::AFOR:
      nv = old | cmd.d;
      break;
    case Op::AAND:
    case Op::AFAND:
      nv = old & cmd.d;
      break;
    case Op::AXOR:
    case Op::AFXOR:
      nv = old ^ cmd.d;
      break;
    case Op::AXCHG:
      nv = cmd.d;
      break;
    case Op::ACMPXCHG:
      nv = (old == (cmd.e & mask)) ? cmd.d : old;
      break;
    default:
      break;
  }
  nv &= mask;
  std::memcpy(p, &nv, n);
  c.value = old;
  return c;
}

Completion Engines::map_command(const Command& cmd) {
  Completion c;
  c.latency = timing_.map;
  auto fail_at = [&](uint64_t addr) {
    c.fault = true;
    c.fault_addr = addr;
    return c;
  };
  if (cmd.op == Op::MALLOC) {
    npu_map_def def;
    if (!read(cmd.core, cmd.b, sizeof def, &def)) return fail_at(cmd.b);
    bpf::MapDef md;
    md.name = "map";
    md.type = def.type;
    md.key_size = def.key_size;
    md.value_size = def.value_size;
    md.max_entries = def.max_entries;
    md.flags = def.flags;
    int err = ref::check_map_def(md, map_cpus_);
    if (err == 0 && !ref::map_type_supported(md.type)) err = -EINVAL;
    uint64_t per_cpu = md.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
                               md.type == BPF_MAP_TYPE_PERCPU_HASH ||
                               md.type == BPF_MAP_TYPE_LRU_PERCPU_HASH
                           ? map_cpus_
                           : 1;
    if (err == 0 &&
        (uint64_t(md.key_size) + uint64_t(md.value_size) * per_cpu) * md.max_entries > kMaxMapBytes)
      err = -E2BIG;
    if (err) {
      c.value = neg(-err);
      return c;
    }
    uint32_t id = 1;
    while (id < maps_.size() && maps_[id]) ++id;
    if (id >= maps_.size()) {
      c.value = neg(ENOSPC);
      return c;
    }
    try {
      maps_[id] = ref::make_map(md, map_cpus_);
    } catch (const std::exception&) {
      c.value = neg(ENOMEM);
      return c;
    }
    def.sys_value_size = uint32_t(maps_[id]->sys_value_size());
    if (!write(cmd.core, cmd.b, sizeof def, &def)) {
      maps_[id].reset();
      return fail_at(cmd.b);
    }
    c.value = id;
    return c;
  }

  ref::Map* m = cmd.b < maps_.size() ? maps_[cmd.b].get() : nullptr;
  if (!m) {
    // No such map: lookups miss, everything else fails as the kernel's bad fd.
    c.value = cmd.op == Op::MLOOKUP || cmd.op == Op::MPEEK ? 0 : neg(EBADF);
    return c;
  }
  const bpf::MapDef& def = m->def();
  unsigned cpu = (cmd.core * threads_per_core_ + cmd.thread) % map_cpus_;
  uint8_t small[kSmallKey];
  std::vector<uint8_t> big;
  uint8_t* key = small;
  if (def.key_size > kSmallKey) {
    big.resize(def.key_size);
    key = big.data();
  }
  auto get_key = [&](uint64_t addr) { return read(cmd.core, addr, def.key_size, key); };

  switch (cmd.op) {
    case Op::MFREE:
      maps_[cmd.b].reset();
      if (unmap_hook_) unmap_hook_();
      c.value = 0;
      return c;
    case Op::MLOOKUP: {
      if (!get_key(cmd.c)) return fail_at(cmd.c);
      c.value = map_addr(uint32_t(cmd.b), m->lookup(key, cpu));
      return c;
    }
    case Op::MPEEK: {
      // For maps whose values programs never point at (prog arrays, devmaps):
      // the value's first word, with bit 32 saying it exists.
      if (!get_key(cmd.c)) return fail_at(cmd.c);
      const uint8_t* v = m->peek(key, cpu);
      uint32_t w = 0;
      if (v) std::memcpy(&w, v, std::min<size_t>(4, def.value_size));
      c.value = v ? (uint64_t(1) << 32) | w : 0;
      return c;
    }
    case Op::MUPDATE:
    case Op::MSYSUPDATE: {
      if (!get_key(cmd.c)) return fail_at(cmd.c);
      size_t vs = cmd.op == Op::MUPDATE ? def.value_size : m->sys_value_size();
      std::vector<uint8_t> val(vs);
      if (!read(cmd.core, cmd.d, vs, val.data())) return fail_at(cmd.d);
      int r = cmd.op == Op::MUPDATE ? m->update(key, val.data(), cmd.e, cpu)
                                    : m->sys_update(key, val.data(), cmd.e);
      c.value = uint64_t(int64_t(r));
      return c;
    }
    case Op::MDELETE:
    case Op::MSYSDELETE: {
      if (!get_key(cmd.c)) return fail_at(cmd.c);
      int r = cmd.op == Op::MDELETE ? m->remove(key) : m->sys_delete(key);
      c.value = uint64_t(int64_t(r));
      return c;
    }
    case Op::MSYSLOOKUP: {
      if (!get_key(cmd.c)) return fail_at(cmd.c);
      std::vector<uint8_t> val(m->sys_value_size());
      int r = m->sys_lookup(key, val.data());
      if (r == 0 && !write(cmd.core, cmd.d, val.size(), val.data())) return fail_at(cmd.d);
      c.value = uint64_t(int64_t(r));
      return c;
    }
    case Op::MNEXTKEY: {
      bool first = cmd.c == 0;
      if (!first && !get_key(cmd.c)) return fail_at(cmd.c);
      std::vector<uint8_t> next(def.key_size);
      int r = m->get_next_key(first ? nullptr : key, next.data());
      if (r == 0 && !write(cmd.core, cmd.d, next.size(), next.data())) return fail_at(cmd.d);
      c.value = uint64_t(int64_t(r));
      return c;
    }
    default:
      return fail_at(0);
  }
}

}  // namespace npu::iss
