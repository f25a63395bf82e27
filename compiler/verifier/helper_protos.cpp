#include "compiler/verifier/helper_protos.h"

namespace verifier {

unsigned HelperProto::nargs() const {
  unsigned n = 0;
  while (n < args.size() && args[n] != ArgType::NONE) ++n;
  return n;
}

const std::vector<HelperProto>& helper_protos() {
  static const std::vector<HelperProto> v = {
#define NPU_HELPER(name, id, ret, a1, a2, a3, a4, a5) \
  {#name, id, RetType::ret, {ArgType::a1, ArgType::a2, ArgType::a3, ArgType::a4, ArgType::a5}},
#include "compiler/verifier/helper_protos.def"
#undef NPU_HELPER
  };
  return v;
}

const HelperProto* helper_proto(int32_t id) {
  for (const HelperProto& p : helper_protos())
    if (p.id == id) return &p;
  return nullptr;
}

}  // namespace verifier
