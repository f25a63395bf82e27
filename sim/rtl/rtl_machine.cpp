#include "sim/rtl/rtl_machine.h"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>
#include <utility>

namespace npu::rtl {

RtlMachine::RtlMachine(sc_core::sc_module_name name, const iss::MachineConfig& cfg)
    : sc_module(name), cfg_(cfg), m_(cfg) {
  if (cfg.threads > max_threads())
    throw std::invalid_argument(
        fmt::format("machine: the RTL core has at most {} threads", max_threads()));
  for (unsigned c = 0; c < cfg.cores; ++c) {
    cores_.push_back(std::make_unique<RtlCore>(fmt::format("core{}", c).c_str(), c, cfg.cores,
                                               cfg.threads, m_.config().timing, m_, m_.engines(),
                                               m_.queues()));
    clocked_.push_back(cores_.back().get());
  }
  period_ = sc_core::sc_time(1000.0 / cfg.timing.clock_mhz, sc_core::SC_NS);
  SC_THREAD(drive);
}

RtlMachine::~RtlMachine() = default;

void RtlMachine::drive() {
  for (;;) {
    sc_core::wait(go_);
    // An error goes back to the caller of step(); the driver lives on.
    try {
      for (auto& c : cores_) c->apply_host();
      if (fn_) {
        auto fn = std::move(fn_);
        fn_ = nullptr;
        fn();
      }
    } catch (...) {
      error_ = std::current_exception();
      todo_ = 0;
    }
    for (; todo_ > 0; --todo_) last_idle_ = RtlCore::clock(clocked_, now_++, period_);
  }
}

void RtlMachine::step(uint64_t cycles) {
  // The first call elaborates and lets the driver reach its wait.
  if (!sc_core::sc_is_running() && sc_core::sc_get_status() == sc_core::SC_ELABORATION)
    sc_core::sc_start(sc_core::SC_ZERO_TIME);
  todo_ = cycles;
  go_.notify(sc_core::SC_ZERO_TIME);
  sc_core::sc_start();  // until the driver waits again: nothing else is scheduled
  if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
}

void RtlMachine::in_thread(std::function<void()> fn) {
  fn_ = std::move(fn);
  step(0);
}

void RtlMachine::load(const std::vector<uint64_t>& code,
                      const std::vector<iss::DataSection>& data) {
  m_.load(code, data);
  for (auto& c : cores_) c->load_code(code);
}

void RtlMachine::boot(uint64_t pc) {
  for (auto& c : cores_)
    for (unsigned t = 0; t < c->nthreads(); ++t) c->start(t, pc);
}

RtlMachine::Stop RtlMachine::run(uint64_t max_cycles) {
  const uint64_t end = now_ + max_cycles;
  while (now_ < end) {
    uint64_t to = std::min(end, now_ + cfg_.quantum);
    uint64_t pushes = m_.queues().pushes();
    step(to - now_);
    // Idle in the quantum's last cycle (as the ISS sees it: a core whose
    // last instruction ends with the quantum is not idle yet). A core's
    // idle output counts threads that a queued entry would wake; entries
    // pushed during the quantum may not have reached it yet.
    if (last_idle_ && m_.queues().pushes() == pushes) return Stop::kIdle;
  }
  return Stop::kLimit;
}

void RtlMachine::host_push(uint32_t queue, uint64_t value) {
  m_.queues().push(queue, value, now_);
}

bool RtlMachine::host_pop(uint32_t mask, uint64_t* value) {
  return m_.queues().pop(mask, value);
}

iss::CoreCounters RtlMachine::counters(unsigned core) {
  return cores_.at(core)->counters();
}

uint64_t RtlMachine::csr(unsigned core, unsigned thread, Csr n) {
  return cores_.at(core)->peek_csr(thread, n);
}

void RtlMachine::set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) {
  cores_.at(core)->set_csr(thread, n, v);
  step(0);
}

std::vector<uint64_t> RtlMachine::registers(unsigned core, unsigned thread) {
  std::vector<uint64_t> r(33);
  RtlCore& c = *cores_.at(core);
  in_thread([&] {
    for (unsigned i = 0; i < 33; ++i) r[i] = c.read_debug(thread, i);
  });
  return r;
}

void RtlMachine::set_tracer(iss::Tracer* t) {
  for (auto& c : cores_) c->set_tracer(t);
}

void RtlMachine::trace_to(const std::string& path, unsigned core) {
  step(0);  // the trace opens on an elaborated model
  cores_.at(core)->trace_to(path);
}

void RtlMachine::close_trace() {
  for (auto& c : cores_) c->close_trace();
}

}  // namespace npu::rtl

// libsystemc's main() calls sc_main; our programs have their own main, but
// the shared library needs the symbol (weak: the NIC model defines it too).
extern "C" __attribute__((weak)) int sc_main(int, char**) {
  return 1;
}
