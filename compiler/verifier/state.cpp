#include "compiler/verifier/state.h"

#include <fmt/format.h>

namespace verifier {

const char* reg_type_name(RegType t) {
  switch (t) {
    case RegType::NOT_INIT:
      return "?";
    case RegType::SCALAR:
      return "scalar";
    case RegType::CTX:
      return "ctx";
    case RegType::PACKET:
      return "pkt";
    case RegType::PACKET_END:
      return "pkt_end";
    case RegType::PACKET_META:
      return "pkt_meta";
    case RegType::STACK:
      return "fp";
    case RegType::MAP_PTR:
      return "map_ptr";
    case RegType::MAP_VALUE:
      return "map_value";
    case RegType::MAP_VALUE_OR_NULL:
      return "map_value_or_null";
    case RegType::FUNC:
      return "func";
  }
  return "?";
}

bool Reg::operator==(const Reg& o) const {
  if (type != o.type) return false;
  switch (type) {
    case RegType::NOT_INIT:
      return true;
    case RegType::SCALAR:
      return s == o.s && id == o.id;
    default:
      return s == o.s && off == o.off && id == o.id && range == o.range && map == o.map &&
             frame == o.frame;
  }
}

std::string Reg::str() const {
  switch (type) {
    case RegType::NOT_INIT:
      return "?";
    case RegType::SCALAR:
      return s.str();
    default: {
      std::string r = fmt::format("{}(off={}", reg_type_name(type), off);
      if (!s.is_const() || s.const_value()) r += ",var=" + s.str();
      if (is_packet(type)) r += fmt::format(",r={}", range);
      if (map >= 0) r += fmt::format(",map={}", map);
      if (id) r += fmt::format(",id={}", id);
      return r + ")";
    }
  }
}

bool Frame::operator==(const Frame& o) const {
  if (regs != o.regs || bytes != o.bytes || callsite != o.callsite || callback != o.callback)
    return false;
  for (int j = 0; j < kSlots; j++)
    if (bytes[size_t(j * 8)] == Slot::SPILL && spilled[size_t(j)] != o.spilled[size_t(j)])
      return false;
  return true;
}

}  // namespace verifier
