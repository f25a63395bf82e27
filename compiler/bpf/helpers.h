// Names of the kernel's BPF helper functions, from the UAPI helper list.
#pragma once

#include <cstdint>

namespace bpf {

// "map_lookup_elem" for 1, ...; nullptr for ids the UAPI headers do not know.
const char* helper_name(int32_t id);

}  // namespace bpf
