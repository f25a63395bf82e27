// array-inline: a lookup in a plain ARRAY map needs no map engine command:
// the value of key k sits at k * round_up(value_size, 8) in the map's value
// window (firmware/abi.h), so the lookup becomes a bounds check of the key
// and an address computation, as the kernel's JIT inlines array lookups
// (array_map_gen_lookup).
#include "compiler/backend/passes.h"

namespace npucc {

void pass_array_inline(Module& m) {
  for (InsnMeta& mt : m.meta) {
    if (mt.skip || !mt.facts || !mt.facts->reached) continue;
    const bpf::Insn& in = mt.insn;
    if (!in.is_helper_call() || in.imm != BPF_FUNC_map_lookup_elem) continue;
    const int32_t map = mt.facts->call_map;
    if (map < 0) continue;  // several maps reach this call
    const bpf::MapDef& d = m.obj->maps.at(size_t(map));
    if (d.type != BPF_MAP_TYPE_ARRAY || d.key_size != 4 || d.inner_map >= 0) continue;
    mt.fuse = Fuse::INLINE_ARRAY;
    m.stats["array-inline.lookups"]++;
  }
}

}  // namespace npucc
