// The ISS and the RTL core side by side: two devices of the same shape load
// the same code and data, take the same host queue entries and run quantum
// by quantum; every retired instruction of every thread is compared (pc,
// word, register written and its value, fault, and the issue cycle). The
// first difference stops the run with a LockstepError naming the
// instruction, the thread, and the registers of both. As an iss::Backend it
// runs the firmware and programs under driver::Device.
#pragma once

#include "sim/iss/machine.h"
#include "sim/rtl/rtl_machine.h"

#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace npu::rtl {

class LockstepError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Lockstep : public iss::Backend {
 public:
  // cycles: compare issue cycles too (timing), not only architectural state.
  explicit Lockstep(const iss::MachineConfig& cfg, bool cycles = true);
  ~Lockstep() override;

  void load(const std::vector<uint64_t>& code, const std::vector<iss::DataSection>& data) override;
  void boot(uint64_t pc) override;
  Stop run(uint64_t max_cycles) override;
  uint64_t cycle() const override { return iss_.cycle(); }
  void host_push(uint32_t queue, uint64_t value) override;
  bool host_pop(uint32_t mask, uint64_t* value) override;
  unsigned ncores() const override { return iss_.ncores(); }
  unsigned nthreads() const override { return iss_.nthreads(); }
  iss::Engines& engines() override { return iss_.engines(); }
  iss::CoreCounters counters(unsigned core) override;
  uint64_t csr(unsigned core, unsigned thread, Csr n) override;
  void set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) override;

  uint64_t compared() const { return compared_; }  // instructions checked so far
  iss::Machine& iss() { return iss_; }
  RtlMachine& rtl() { return *rtl_; }

 protected:
  void host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write) override;

 private:
  struct Stream : iss::Tracer {
    std::map<std::pair<unsigned, unsigned>, std::deque<iss::Retired>> q;
    void retired(const iss::Retired& r) override { q[{r.core, r.thread}].push_back(r); }
  };
  bool host_dmi(unsigned core, uint64_t addr, iss::Dmi* out) override {
    return iss_.dmi(core, addr, out);
  }
  // Compares what both sides retired so far; at_rest: both stopped, so
  // neither may have retired more than the other.
  void compare(bool at_rest);
  [[noreturn]] void diverged(const std::string& what, unsigned core, unsigned thread);

  bool cycles_;
  iss::Machine iss_;
  std::unique_ptr<RtlMachine> rtl_;
  Stream iss_stream_, rtl_stream_;
  uint64_t compared_ = 0;
};

}  // namespace npu::rtl
