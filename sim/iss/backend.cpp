#include "sim/iss/backend.h"

#include <fmt/format.h>

#include <stdexcept>

namespace npu::iss {

uint8_t* Backend::host_bytes(uint64_t addr, size_t n, unsigned core, const char* what) {
  Dmi d;
  if (core >= ncores() || !host_dmi(core, addr, &d) || addr + n > d.hi || addr + n < addr)
    throw std::out_of_range(
        fmt::format("device {} of {} bytes at 0x{:x}: no memory there", what, n, addr));
  return d.host + (addr - d.lo);
}

}  // namespace npu::iss
