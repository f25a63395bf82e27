#include "sim/nic/engine_block.h"

#include "firmware/abi.h"

#include <linux/bpf.h>

#include <algorithm>

namespace npu::nic {

const char* pool_name(Pool p) {
  static const char* const kNames[] = {"map hash units", "map array units", "map LPM units",
                                       "atomic unit",    "checksum units",  "hash units",
                                       "other"};
  return kNames[size_t(p)];
}

EngineBlock::EngineBlock(sc_core::sc_module_name name, const NicConfig& cfg, iss::MemoryPort& mem)
    : sc_module(name),
      socket("socket"),
      map_socket("map_socket"),
      cfg_(cfg),
      engines_(std::make_unique<iss::Engines>(mem, cfg.timing, cfg.threads, cfg.percpu_copies(),
                                              cfg.seed)),
      map_mem_(cfg.map, cfg.timing.mem_latency[size_t(iss::Region::MAP)]),
      period_(sc_core::sc_time(cfg.period_ps(), sc_core::SC_PS)) {
  socket.register_b_transport(this, &EngineBlock::b_transport);
  // A freed map's values are gone: cores drop their DMI regions through the bus.
  engines_->set_unmap_hook([this] {
    for (unsigned i = 0; i < map_socket.size(); ++i)
      map_socket[i]->invalidate_direct_mem_ptr(NPU_MAP_BASE, UINT64_MAX);
  });
  map_socket.register_get_direct_mem_ptr(this, &EngineBlock::get_direct_mem_ptr);
  const UnitPoolConfig* c[] = {&cfg.map_hash, &cfg.map_array, &cfg.map_lpm,
                               &cfg.atomic,   &cfg.csum,      &cfg.hash};
  for (size_t i = 0; i < size_t(Pool::kNone); ++i) {
    pools_[i].cfg = *c[i];
    pools_[i].units.emplace_back(c[i]->units);
  }
}

void EngineBlock::reset_stats() {
  for (UnitPool& p : pools_) p.stats = {};
  map_mem_.reset_stats();
}

Pool EngineBlock::pool_of(const iss::Command& cmd) {
  switch (npu::op_info(cmd.op).unit) {
    case npu::Unit::ATOMIC:
      return Pool::kAtomic;
    case npu::Unit::CSUM:
      return Pool::kCsum;
    case npu::Unit::HASH:
      return Pool::kHash;
    case npu::Unit::MAP: {
      if (cmd.op == npu::Op::MALLOC || cmd.op == npu::Op::MFREE) return Pool::kMapHash;
      const ref::Map* m = engines_->map(uint32_t(cmd.b));
      if (!m) return Pool::kMapHash;
      switch (m->def().type) {
        case BPF_MAP_TYPE_ARRAY:
        case BPF_MAP_TYPE_PERCPU_ARRAY:
        case BPF_MAP_TYPE_PROG_ARRAY:
        case BPF_MAP_TYPE_DEVMAP:
        case BPF_MAP_TYPE_CPUMAP:
          return Pool::kMapArray;
        case BPF_MAP_TYPE_LPM_TRIE:
          return Pool::kMapLpm;
        default:
          return Pool::kMapHash;
      }
    }
    default:
      return Pool::kNone;
  }
}

uint64_t EngineBlock::queue(Pool p, uint64_t cycle, uint64_t* start) {
  UnitPool& u = pools_[size_t(p)];
  *start = u.units[0].reserve(cycle, u.cfg.occupancy);
  uint64_t wait = *start - cycle;
  // Commands ahead of this one: every unit is busy for `wait` more cycles.
  uint64_t depth = (wait * u.cfg.units + u.cfg.occupancy - 1) / u.cfg.occupancy;
  PoolStats& s = u.stats;
  s.commands++;
  s.busy_cycles += u.cfg.occupancy;
  s.wait_cycles += wait;
  s.max_wait = std::max(s.max_wait, wait);
  s.max_depth = std::max(s.max_depth, depth);
  if (depth > u.cfg.queue_depth) s.over_depth++;
  return wait;
}

void EngineBlock::b_transport(int, tlm::tlm_generic_payload& trans, sc_core::sc_time& delay) {
  CommandExtension* x = trans.get_extension<CommandExtension>();
  if (!x) {
    trans.set_response_status(tlm::TLM_COMMAND_ERROR_RESPONSE);
    return;
  }
  // The pool is chosen before the command runs: a map it frees is gone after.
  Pool p = pool_of(x->cmd);
  x->done = engines_->command(x->cmd);
  if (p != Pool::kNone) {
    uint64_t start = 0;
    uint64_t wait = queue(p, x->cmd.cycle, &start);
    x->done.latency = uint32_t(std::min<uint64_t>(UINT32_MAX, x->done.latency + wait));
    if (on_command) on_command(p, x->cmd, start, x->done.latency - wait);
  }
  trans.set_response_status(tlm::TLM_OK_RESPONSE);
}

bool EngineBlock::get_direct_mem_ptr(int, tlm::tlm_generic_payload& trans, tlm::tlm_dmi& dmi) {
  iss::Dmi d;
  if (!engines_->map_dmi(trans.get_address(), &d)) return false;
  dmi.set_dmi_ptr(d.host);
  dmi.set_start_address(d.lo);
  dmi.set_end_address(d.hi - 1);
  if (d.writable)
    dmi.allow_read_write();
  else
    dmi.allow_read();
  dmi.set_read_latency(period_ * double(d.latency));
  if (TimerExtension* t = trans.get_extension<TimerExtension>()) {
    t->timer = &map_mem_;
    t->region = iss::Region::MAP;
  }
  return true;
}

}  // namespace npu::nic
