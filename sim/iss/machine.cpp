#include "sim/iss/machine.h"

#include "firmware/abi.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace npu::iss {

bool Queues::pop(uint32_t mask, uint64_t* value, uint64_t) {
  for (unsigned q = 0; q < kCount; ++q)
    if ((mask >> q) & 1 && !q_[q].empty()) {
      *value = q_[q].front();
      q_[q].pop_front();
      return true;
    }
  return false;
}

bool Queues::ready(uint32_t mask) const {
  for (unsigned q = 0; q < kCount; ++q)
    if ((mask >> q) & 1 && !q_[q].empty()) return true;
  return false;
}

uint32_t Queues::nonempty() const {
  uint32_t m = 0;
  for (unsigned q = 0; q < kCount; ++q)
    if (!q_[q].empty()) m |= 1u << q;
  return m;
}

void Queues::push(uint32_t queue, uint64_t value, uint64_t) {
  // An undefined queue number drops the entry, as a write to no queue would.
  if (queue >= kCount) return;
  q_[queue].push_back(value);
  ++pushes_;
}

Machine::Machine(const MachineConfig& cfg)
    : cfg_(cfg),
      lm_size_(uint64_t(cfg.threads) * NPU_LM_SLOT),
      pkt_(cfg.pkt_size),
      cls_(cfg.cls_size),
      emem_(cfg.emem_size) {
  if (cfg.cores == 0 || cfg.threads == 0 || cfg.threads > 64)
    throw std::invalid_argument("machine: need 1 or more cores and 1 to 64 threads per core");
  if (cfg.cls_size < NPU_CLS_FW_DATA)
    throw std::invalid_argument("machine: shared SRAM smaller than the firmware's fixed layout");
  // A zero quantum would never move run()'s clock; a zero clock divides by zero in `time`.
  if (cfg.quantum == 0) throw std::invalid_argument("machine: quantum must be at least 1 cycle");
  if (cfg.timing.clock_mhz == 0) throw std::invalid_argument("machine: clock_mhz must not be 0");
  engines_ = std::make_unique<Engines>(*this, cfg_.timing, cfg.threads, cfg.map_cpus, cfg.seed);
  engines_->set_unmap_hook([this] {
    for (auto& c : cores_) c->invalidate_dmi();
  });
  for (unsigned c = 0; c < cfg.cores; ++c) {
    lm_.emplace_back(lm_size_);
    cores_.push_back(
        std::make_unique<Core>(c, cfg.cores, cfg.threads, cfg_.timing, *this, *engines_, queues_));
  }
}

Machine::~Machine() = default;

bool Machine::dmi(unsigned core, uint64_t addr, Dmi* out) {
  auto region = [&](std::vector<uint8_t>& v, uint64_t base, Region r) {
    if (addr < base || addr - base >= v.size()) return false;
    *out = Dmi{v.data(), base, base + v.size(), true, cfg_.timing.mem_latency[size_t(r)], r};
    return true;
  };
  if (core < lm_.size() && region(lm_[core], NPU_LM_BASE, Region::LM)) return true;
  if (region(pkt_, NPU_PKT_BASE, Region::PKT)) return true;
  if (region(cls_, NPU_CLS_BASE, Region::CLS)) return true;
  if (region(emem_, NPU_EMEM_BASE, Region::EMEM)) return true;
  return engines_->map_dmi(addr, out);
}

void Machine::load(const std::vector<uint64_t>& code, const std::vector<DataSection>& data) {
  for (auto& c : cores_) c->load_code(code);
  for (const DataSection& d : data) {
    Dmi m;
    if (d.bytes.empty()) continue;
    // Local memory is per core: a section there is copied into every core's.
    if (!dmi(0, d.addr, &m) || d.addr + d.bytes.size() > m.hi)
      throw std::runtime_error(fmt::format("section at 0x{:x} ({} bytes) is outside device memory",
                                           d.addr, d.bytes.size()));
    if (m.region == Region::LM)
      for (auto& lm : lm_) std::memcpy(lm.data() + d.addr, d.bytes.data(), d.bytes.size());
    else
      write(d.addr, d.bytes.data(), d.bytes.size());
  }
}

void Machine::boot(uint64_t pc) {
  for (auto& c : cores_)
    for (unsigned t = 0; t < c->nthreads(); ++t) c->start(t, pc);
}

Machine::Stop Machine::run(uint64_t max_cycles) {
  const uint64_t end = now_ + max_cycles;
  while (now_ < end) {
    uint64_t to = std::min(end, now_ + cfg_.quantum);
    uint64_t pushes = queues_.pushes();
    bool all_idle = true;
    for (auto& c : cores_) {
      if (c->run(to) == Core::Stop::kUntil) all_idle = false;
    }
    // An idle core's clock still moves, so that work arriving later starts at
    // the right time.
    for (auto& c : cores_) c->advance(to);
    now_ = to;
    if (all_idle && queues_.pushes() == pushes) {
      bool woken = false;
      for (auto& c : cores_)
        for (unsigned t = 0; t < c->nthreads(); ++t) {
          const Thread& th = c->thread(t);
          if (th.state == ThreadState::kQueue && queues_.ready(th.qmask)) woken = true;
        }
      if (!woken) return Stop::kIdle;
    }
  }
  return Stop::kLimit;
}

void Machine::set_tracer(Tracer* t) {
  for (auto& c : cores_) c->set_tracer(t);
}

}  // namespace npu::iss
