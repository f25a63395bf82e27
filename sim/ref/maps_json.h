// Map contents as JSON, in the one format every engine and tool shares:
//   { "maps": { "<map name>": [ {"key": "<hex>", "value": "<hex>"}, ... ] } }
// Hex strings are raw bytes in memory order (spaces allowed on input). Percpu
// values: "value" (one CPU's value, replicated on input) or "values" (a list,
// one per CPU). Prog arrays: {"key": "<hex>", "prog": "<program name>"}.
#pragma once

#include "compiler/bpf/hex.h"
#include "sim/ref/vm.h"

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ref {

using bpf::parse_hex;
using bpf::to_hex;

// Applies init (the format above) to the interpreter's maps with BPF_ANY. Throws
// bpf::LoadError("<source>: map '<m>' entry <i>: <reason>") on a bad entry.
void load_maps_json(Interpreter& ip, const nlohmann::json& init, const std::string& source);
void load_maps_file(Interpreter& ip, const std::string& path);

// Every map's contents, keys sorted, percpu maps with "values".
nlohmann::json dump_maps_json(Interpreter& ip);

}  // namespace ref
