#include "compiler/bpf/hex.h"

#include <fmt/format.h>

#include <cctype>
#include <stdexcept>

namespace bpf {

std::vector<uint8_t> parse_hex(const std::string& s, const std::string& what) {
  std::vector<uint8_t> out;
  int hi = -1;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) continue;
    if (!std::isxdigit(static_cast<unsigned char>(c)))
      throw std::runtime_error(fmt::format("{}: '{}' is not a hex digit", what, c));
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : std::tolower(c) - 'a' + 10;
    if (hi < 0) {
      hi = v;
    } else {
      out.push_back(uint8_t(hi << 4 | v));
      hi = -1;
    }
  }
  if (hi >= 0) throw std::runtime_error(fmt::format("{}: odd number of hex digits", what));
  return out;
}

std::string to_hex(const uint8_t* p, size_t n) {
  std::string s;
  s.reserve(n * 2);
  for (size_t i = 0; i < n; ++i) s += fmt::format("{:02x}", p[i]);
  return s;
}

}  // namespace bpf
