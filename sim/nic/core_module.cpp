#include "sim/nic/core_module.h"

#include "firmware/abi.h"
#include "sim/nic/engine_block.h"
#include "sim/nic/memory.h"

#include <algorithm>

namespace npu::nic {

CoreModule::CoreModule(sc_core::sc_module_name name, unsigned id, const NicConfig& cfg,
                       iss::QueuePort& queues)
    : sc_module(name),
      mem("mem"),
      eng("eng"),
      cfg_(cfg),
      lm_(uint64_t(cfg.threads) * NPU_LM_SLOT),
      core_(id, cfg.cores, cfg.threads, cfg.timing, *this, *this, queues),
      period_(sc_core::sc_time(cfg.period_ps(), sc_core::SC_PS)) {
  mem.register_invalidate_direct_mem_ptr(this, &CoreModule::invalidate);
  if (cfg.rtl_core(id))
    rtl_ = std::make_unique<rtl::RtlCore>("rtl", id, cfg.cores, cfg.threads, cfg.timing, *this,
                                          *this, queues);
  SC_THREAD(run);
}

void CoreModule::load_code(const std::vector<uint64_t>& code) {
  if (rtl_)
    rtl_->load_code(code);
  else
    core_.load_code(code);
}

void CoreModule::start(unsigned thread, uint64_t pc) {
  if (rtl_)
    rtl_->start(thread, pc);
  else
    core_.start(thread, pc);
}

unsigned CoreModule::current() const {
  return rtl_ ? rtl_->current() : core_.current();
}

uint64_t CoreModule::cycle_now() const {
  return uint64_t(sc_core::sc_time_stamp() / period_);
}

void CoreModule::run_rtl() {
  const std::vector<rtl::RtlCore*> core{rtl_.get()};
  for (;;) {
    if (!rtl::RtlCore::clock(core, cycle_now(), period_)) continue;
    // No thread can issue without a queue entry: sleep until the dispatcher
    // or the host has one, then start at the next cycle boundary.
    sleeping_ = idle_ = true;
    sc_core::wait(wake_);
    sleeping_ = idle_ = false;
    const sc_core::sc_time t = sc_core::sc_time_stamp();
    const sc_core::sc_time next = period_ * double(cycle_now() + 1);
    if (t != period_ * double(cycle_now())) sc_core::wait(next - t);
  }
}

void CoreModule::run() {
  if (rtl_) {
    run_rtl();
    return;
  }
  const uint64_t quantum = cfg_.quantum_cycles;
  for (;;) {
    uint64_t now = cycle_now();
    core_.advance(now);
    if (core_.run(now + quantum) == iss::Core::Stop::kIdle && core_.cycle() <= now + quantum) {
      // Every thread waits for a queue entry (or has stopped): sleep until
      // the dispatcher or the host has one, at that time.
      sleeping_ = idle_ = true;
      sc_core::wait(wake_);
      sleeping_ = idle_ = false;
      continue;
    }
    // Every runnable thread waits for a result beyond this quantum: nothing
    // issues before the first of them is due, unless a queue entry wakes a
    // sleeping thread first. Skipping there saves the quanta in between.
    uint64_t next = UINT64_MAX;
    bool waiter = false;  // a thread that would take a queue entry
    for (unsigned t = 0; t < core_.nthreads(); ++t) {
      const iss::Thread& th = core_.thread(t);
      if (th.state == iss::ThreadState::kReady) next = std::min(next, th.wake);
      waiter |= th.state == iss::ThreadState::kQueue;
    }
    if (next != UINT64_MAX && next > core_.cycle()) {
      // Only a core with a waiting thread offers itself to the dispatcher.
      sleeping_ = waiter;
      if (waiter)
        sc_core::wait(period_ * double(next - now), wake_);
      else
        sc_core::wait(period_ * double(next - now));
      sleeping_ = false;
      continue;
    }
    // Ran ahead of the card: let the rest catch up.
    sc_core::wait(period_ * double(core_.cycle() - now));
  }
}

bool CoreModule::dmi(unsigned, uint64_t addr, iss::Dmi* out) {
  if (addr - NPU_LM_BASE < lm_.size()) {
    *out = iss::Dmi{lm_.data(),
                    NPU_LM_BASE,
                    NPU_LM_BASE + lm_.size(),
                    true,
                    cfg_.timing.mem_latency[size_t(iss::Region::LM)],
                    iss::Region::LM,
                    nullptr};
    return true;
  }
  tlm::tlm_generic_payload t;
  TimerExtension timer;
  t.set_address(addr);
  t.set_command(tlm::TLM_READ_COMMAND);
  t.set_extension(&timer);
  tlm::tlm_dmi d;
  bool ok = mem->get_direct_mem_ptr(t, d);
  t.clear_extension(&timer);
  if (!ok || !d.get_dmi_ptr() || !d.is_read_allowed()) return false;
  *out = iss::Dmi{d.get_dmi_ptr(),
                  d.get_start_address(),
                  d.get_end_address() + 1,
                  d.is_write_allowed(),
                  uint32_t(d.get_read_latency() / period_),
                  timer.region,
                  timer.timer};
  return true;
}

iss::Completion CoreModule::command(const iss::Command& cmd) {
  CommandExtension x;
  x.cmd = cmd;
  cmd_trans_.set_command(tlm::TLM_IGNORE_COMMAND);
  cmd_trans_.set_address(0);
  cmd_trans_.set_data_length(0);
  cmd_trans_.set_extension(&x);
  sc_core::sc_time delay = sc_core::SC_ZERO_TIME;
  eng->b_transport(cmd_trans_, delay);
  cmd_trans_.clear_extension(&x);
  return x.done;
}

void CoreModule::invalidate(sc_dt::uint64, sc_dt::uint64) {
  core_.invalidate_dmi();
}

}  // namespace npu::nic
