#include "sim/rtl/lockstep.h"

#include "sim/iss/trace.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <vector>

namespace npu::rtl {
namespace {

bool same(const iss::Retired& a, const iss::Retired& b, bool cycles) {
  return a.pc == b.pc && a.word == b.word && a.wreg == b.wreg && a.fault == b.fault &&
         (a.wreg < 0 || a.wval == b.wval) && (!cycles || a.cycle == b.cycle);
}

std::string regs_line(const std::vector<uint64_t>& r) {
  std::string s;
  for (unsigned i = 0; i < 32; ++i)
    s += fmt::format("{}r{}=0x{:x}", i % 8 ? " " : "\n    ", i, r[i]);
  return s;
}

// The ISS Machine runs its cores a quantum apart, the RTL machine cycle by
// cycle: with shared memory and queues between them, both are right and
// differ. So lockstep compares one core (with all its threads).
const iss::MachineConfig& one_core(const iss::MachineConfig& cfg) {
  if (cfg.cores != 1)
    throw std::invalid_argument(fmt::format(
        "lockstep: {} cores: the ISS interleaves cores by quantum and the RTL by cycle, so "
        "lockstep compares one core",
        cfg.cores));
  return cfg;
}

}  // namespace

Lockstep::Lockstep(const iss::MachineConfig& cfg, bool cycles)
    : cycles_(cycles), iss_(one_core(cfg)), rtl_(std::make_unique<RtlMachine>("rtl", cfg)) {
  iss_.set_tracer(&iss_stream_);
  rtl_->set_tracer(&rtl_stream_);
}

Lockstep::~Lockstep() = default;

void Lockstep::load(const std::vector<uint64_t>& code, const std::vector<iss::DataSection>& data) {
  iss_.load(code, data);
  rtl_->load(code, data);
}

void Lockstep::boot(uint64_t pc) {
  // What a run stopped by a divergence left behind is not compared.
  iss_stream_.q.clear();
  rtl_stream_.q.clear();
  iss_.boot(pc);
  rtl_->boot(pc);
}

void Lockstep::diverged(const std::string& what, unsigned core, unsigned thread) {
  std::vector<uint64_t> ri(33), rr = rtl_->registers(core, thread);
  const iss::Thread& th = iss_.core(core).thread(thread);
  std::copy(th.r.begin(), th.r.end(), ri.begin());
  ri[32] = th.pc;
  throw LockstepError(fmt::format(
      "lockstep: core {} thread {}: {}\n  ISS registers (pc {}):{}\n  RTL registers (pc "
      "{}):{}",
      core, thread, what, ri[32], regs_line(ri), rr[32], regs_line(rr)));
}

void Lockstep::compare(bool at_rest) {
  for (auto& [key, qi] : iss_stream_.q) {
    auto& qr = rtl_stream_.q[key];
    while (!qi.empty() && !qr.empty()) {
      const iss::Retired &a = qi.front(), &b = qr.front();
      if (!same(a, b, cycles_))
        diverged(fmt::format("first divergence after {} instructions\n  ISS: {}\n  RTL: {}",
                             compared_, iss::trace_line(a), iss::trace_line(b)),
                 key.first, key.second);
      ++compared_;
      qi.pop_front();
      qr.pop_front();
    }
  }
  if (!at_rest) return;
  for (auto* side : {&iss_stream_, &rtl_stream_})
    for (auto& [key, q] : side->q)
      if (!q.empty())
        diverged(fmt::format("the {} retired more instructions, the next: {}",
                             side == &iss_stream_ ? "ISS" : "RTL", iss::trace_line(q.front())),
                 key.first, key.second);
}

Lockstep::Stop Lockstep::run(uint64_t max_cycles) {
  const uint64_t quantum = iss_.config().quantum;
  const uint64_t end = iss_.cycle() + max_cycles;
  while (iss_.cycle() < end) {
    uint64_t q = std::min(quantum, end - iss_.cycle());
    Stop a = iss_.run(q);
    Stop b = rtl_->run(q);
    compare(a == Stop::kIdle && b == Stop::kIdle);
    if (a != b || iss_.cycle() != rtl_->cycle())
      throw LockstepError(fmt::format(
          "lockstep: the ISS {} at cycle {}, the RTL {} at cycle {} (after {} instructions agreed)",
          a == Stop::kIdle ? "went idle" : "ran on", iss_.cycle(),
          b == Stop::kIdle ? "went idle" : "ran on", rtl_->cycle(), compared_));
    if (a == Stop::kIdle) return Stop::kIdle;
  }
  return Stop::kLimit;
}

void Lockstep::host_push(uint32_t queue, uint64_t value) {
  iss_.host_push(queue, value);
  rtl_->host_push(queue, value);
}

bool Lockstep::host_pop(uint32_t mask, uint64_t* value) {
  uint64_t r = 0;
  bool a = iss_.host_pop(mask, value), b = rtl_->host_pop(mask, &r);
  if (a != b || (a && *value != r))
    throw LockstepError(fmt::format("lockstep: the host's queues differ: ISS {}, RTL {}",
                                    a ? fmt::format("0x{:x}", *value) : "empty",
                                    b ? fmt::format("0x{:x}", r) : "empty"));
  return a;
}

iss::CoreCounters Lockstep::counters(unsigned core) {
  iss::CoreCounters a = iss_.counters(core), b = rtl_->counters(core);
  if (cycles_ && (a.instret != b.instret || a.busy != b.busy))
    throw LockstepError(fmt::format(
        "lockstep: core {} counters differ: ISS {} instructions {} busy cycles, RTL {} and {}",
        core, a.instret, a.busy, b.instret, b.busy));
  return a;
}

uint64_t Lockstep::csr(unsigned core, unsigned thread, Csr n) {
  uint64_t a = iss_.csr(core, thread, n), b = rtl_->csr(core, thread, n);
  if (a != b)
    throw LockstepError(fmt::format("lockstep: core {} thread {} csr {}: ISS 0x{:x}, RTL 0x{:x}",
                                    core, thread, unsigned(n), a, b));
  return a;
}

void Lockstep::set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) {
  iss_.set_csr(core, thread, n, v);
  rtl_->set_csr(core, thread, n, v);
}

void Lockstep::host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write) {
  if (write) {
    iss_.write(addr, p, n, core);
    rtl_->write(addr, p, n, core);
    return;
  }
  std::vector<uint8_t> other(n);
  iss_.read(addr, p, n, core);
  rtl_->read(addr, other.data(), n, core);
  if (std::memcmp(p, other.data(), n) != 0)
    throw LockstepError(
        fmt::format("lockstep: device memory differs in [0x{:x}, 0x{:x})", addr, addr + n));
}

}  // namespace npu::rtl
