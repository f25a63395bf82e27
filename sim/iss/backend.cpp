#include "sim/iss/backend.h"

#include <fmt/format.h>

#include <cstring>
#include <stdexcept>

namespace npu::iss {
namespace {

void check_thread(const Core& core, unsigned thread) {
  if (thread >= core.nthreads())
    throw std::out_of_range(
        fmt::format("core {}: no thread {} (there are {})", core.id(), thread, core.nthreads()));
}

}  // namespace

uint8_t* Backend::host_bytes(uint64_t addr, size_t n, unsigned core, const char* what) {
  Dmi d;
  if (core >= ncores() || !host_dmi(core, addr, &d) || addr + n > d.hi || addr + n < addr)
    throw std::out_of_range(
        fmt::format("device {} of {} bytes at 0x{:x}: no memory there", what, n, addr));
  return d.host + (addr - d.lo);
}

void Backend::host_copy(uint64_t addr, void* p, size_t n, unsigned core, bool write) {
  uint8_t* h = host_bytes(addr, n, core, write ? "write" : "read");
  if (write)
    std::memcpy(h, p, n);
  else
    std::memcpy(p, h, n);
}

CoreCounters counters_of(const Core& core) {
  CoreCounters c;
  c.instret = core.stats().ended_instret + core.instret();
  c.busy = core.stats().ended_busy + core.stats().swap_cycles;
  for (unsigned t = 0; t < core.nthreads(); ++t) {
    const ThreadStats& st = core.thread(t).stats;
    c.busy += st.issue_cycles;
    for (uint64_t s : st.stall_on) c.busy += s;
  }
  return c;
}

uint64_t csr_of(const Core& core, unsigned thread, Csr n) {
  check_thread(core, thread);
  uint64_t v;
  if (!core.csr(thread, n, &v))
    throw std::out_of_range(
        fmt::format("core {} thread {}: no CSR {}", core.id(), thread, unsigned(n)));
  return v;
}

void set_csr_of(Core& core, unsigned thread, Csr n, uint64_t v) {
  check_thread(core, thread);
  const CsrInfo* info = csr_info(unsigned(n));
  if (!info)
    throw std::out_of_range(
        fmt::format("core {} thread {}: no CSR {}", core.id(), thread, unsigned(n)));
  if (!info->writable || !core.set_csr(thread, n, v))
    throw std::invalid_argument(
        fmt::format("core {} thread {}: CSR {} is read-only", core.id(), thread, info->name));
}

}  // namespace npu::iss
