// What a host driver needs of hardware that runs the firmware: memory to
// fill, queues to exchange entries with, and a clock to run until the
// firmware waits for the host again. The ISS Machine and the SystemC NIC
// model (sim/nic) are both one, so driver::Device loads images and serves
// map operations on either.
#pragma once

#include "sim/iss/core.h"
#include "sim/iss/engines.h"

#include <cstdint>
#include <cstring>
#include <vector>

namespace npu::iss {

// An allocated section of an image: bytes at a device address.
struct DataSection {
  uint64_t addr;
  std::vector<uint8_t> bytes;
};

// A core's counters since it was made, as a driver measures work with them.
struct CoreCounters {
  uint64_t instret = 0;  // instructions retired by the core's threads
  uint64_t busy = 0;     // swap cycles + for every thread (issue cycles + stall cycles)
  // Both count from the core's making, across restarts of its threads.
};

class Backend {
 public:
  virtual ~Backend() = default;

  // Code into every core's store; data sections into device memory (throws
  // std::runtime_error when a section does not fit a writable region).
  virtual void load(const std::vector<uint64_t>& code, const std::vector<DataSection>& data) = 0;
  // Starts every thread of every core at pc.
  virtual void boot(uint64_t pc) = 0;

  enum class Stop { kIdle, kLimit };
  // Runs until no core can go on without a queue entry from the host (kIdle)
  // or max_cycles more cycles have passed.
  virtual Stop run(uint64_t max_cycles) = 0;
  virtual uint64_t cycle() const = 0;

  // Host access to device memory. Local memory addresses reach core `core`'s
  // (the others are device-wide); std::out_of_range where no memory is.
  void write(uint64_t addr, const void* p, size_t n, unsigned core = 0) {
    if (n) host_copy(addr, const_cast<void*>(p), n, core, true);
  }
  void read(uint64_t addr, void* p, size_t n, unsigned core = 0) {
    if (n) host_copy(addr, p, n, core, false);
  }
  std::vector<uint8_t> read(uint64_t addr, size_t n) {
    std::vector<uint8_t> v(n);
    read(addr, v.data(), n);
    return v;
  }
  uint64_t read64(uint64_t addr) {
    uint64_t v;
    read(addr, &v, 8);
    return v;
  }

  // The host's end of the queues (firmware/abi.h's NPU_Q_*): it pushes
  // packets and control messages, and pops finished ones and replies.
  virtual void host_push(uint32_t queue, uint64_t value) = 0;
  virtual bool host_pop(uint32_t mask, uint64_t* value) = 0;

  virtual unsigned ncores() const = 0;
  virtual unsigned nthreads() const = 0;  // threads per core
  virtual CoreCounters counters(unsigned core) = 0;
  // A thread's CSR; set_csr takes the writable ones only (isa.def's NPU_CSR
  // list). Both throw std::out_of_range for a core, thread or CSR that does
  // not exist, and set_csr std::invalid_argument for a read-only CSR.
  virtual uint64_t csr(unsigned core, unsigned thread, Csr n) = 0;
  virtual void set_csr(unsigned core, unsigned thread, Csr n, uint64_t v) = 0;
  virtual Engines& engines() = 0;

 protected:
  // The region holding addr as core `core` sees it (MemoryPort::dmi of the hardware).
  virtual bool host_dmi(unsigned core, uint64_t addr, Dmi* out) = 0;
  // What write (write = true: from p to the device) and read (into p) do, for
  // n > 0 bytes: by default through host_dmi. A backend that mirrors another
  // (two devices in lockstep) copies to both.
  virtual void host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write);

 private:
  // Host bytes of [addr, addr + n) as core sees them; throws std::out_of_range
  // "device <what> of N bytes at 0x...: no memory there".
  uint8_t* host_bytes(uint64_t addr, size_t n, unsigned core, const char* what);
};

// The core queries of a backend made of ISS cores (Machine, nic::Nic), with
// the errors Backend::csr and set_csr give; busy is what CoreCounters says.
CoreCounters counters_of(const Core& core);
uint64_t csr_of(const Core& core, unsigned thread, Csr n);
void set_csr_of(Core& core, unsigned thread, Csr n, uint64_t v);

}  // namespace npu::iss
