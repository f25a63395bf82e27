// Hex strings of raw bytes, the form map keys and values take in JSON.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bpf {

// Parses "0a 00 00 01" or "0a000001"; throws std::runtime_error("<what>: <reason>").
std::vector<uint8_t> parse_hex(const std::string& s, const std::string& what);
std::string to_hex(const uint8_t* p, size_t n);
inline std::string to_hex(const std::vector<uint8_t>& v) {
  return to_hex(v.data(), v.size());
}

}  // namespace bpf
