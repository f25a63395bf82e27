// Little-endian loads and stores of 1 to 8 bytes at any alignment, with the
// BPF sizes as single moves; shared by the reference interpreter and the ISS.
#pragma once

#include <cstdint>
#include <cstring>

namespace ref {

inline uint64_t load_le(const uint8_t* p, unsigned n) {
  switch (n) {
    case 1:
      return p[0];
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return v;
    }
    case 8: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return v;
    }
  }
  uint64_t v = 0;
  std::memcpy(&v, p, n);
  return v;
}

inline void store_le(uint8_t* p, uint64_t v, unsigned n) {
  switch (n) {
    case 1:
      p[0] = uint8_t(v);
      return;
    case 2: {
      uint16_t x = uint16_t(v);
      std::memcpy(p, &x, 2);
      return;
    }
    case 4: {
      uint32_t x = uint32_t(v);
      std::memcpy(p, &x, 4);
      return;
    }
    case 8:
      std::memcpy(p, &v, 8);
      return;
  }
  std::memcpy(p, &v, n);
}

}  // namespace ref
