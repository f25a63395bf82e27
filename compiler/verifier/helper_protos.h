// The helper prototype table (helper_protos.def) as C++.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace verifier {

enum class RetType : uint8_t { INTEGER, VOID, MAP_VALUE_OR_NULL };
enum class ArgType : uint8_t {
  NONE,
  ANYTHING,
  CTX,
  CONST_MAP_PTR,
  MAP_KEY,
  MAP_VALUE,
  MEM,
  MEM_OR_NULL,
  UNINIT_MEM,
  SIZE,
  SIZE_OR_ZERO,
  FUNC,
  STACK_OR_NULL
};

struct HelperProto {
  const char* name;  // without the bpf_ prefix
  int32_t id;
  RetType ret;
  std::array<ArgType, 5> args;
  unsigned nargs() const;
};

// The prototype of helper `id`, or nullptr for a helper the verifier refuses.
const HelperProto* helper_proto(int32_t id);
const std::vector<HelperProto>& helper_protos();

}  // namespace verifier
