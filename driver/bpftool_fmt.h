// bpftool's command-line syntax and output formats for maps and programs, so
// that `npu dev map ...` and `npu dev prog show` accept what bpftool accepts
// and print, byte for byte, what bpftool v7.1 (Debian 12) prints for a map
// without BTF and for a program. Pure parsing and formatting: the caller reads
// the device and prints the strings (stdout, or stderr for error_text).
//
// Argument errors throw std::invalid_argument whose what() is bpftool's own
// message (what bpftool prints after "Error: ", or as {"error": ...} with -j).
//
// JSON values are nlohmann::ordered_json, which keeps bpftool's field order;
// json_text() writes them the way bpftool's json_writer does (-j, -j -p).
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace npu::driver::bpftool {

using Bytes = std::vector<uint8_t>;
// key, value; percpu value = ncpus copies, each padded to 8 bytes (kernel layout).
using Entries = std::vector<std::pair<Bytes, Bytes>>;
using Json = nlohmann::ordered_json;

// Update flags of BPF_MAP_UPDATE_ELEM (linux/bpf.h), as bpftool's keywords set them.
constexpr uint64_t kAny = 0;      // "any"
constexpr uint64_t kNoExist = 1;  // "noexist" (BPF_NOEXIST)
constexpr uint64_t kExist = 2;    // "exist" (BPF_EXIST)

struct MapDesc {
  uint32_t id = 0;
  std::string name;   // printed only when not empty, as bpftool does
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  unsigned ncpus = 1;    // copies in a percpu value
  uint64_t memlock = 0;  // bytes_memlock to print
  // "offloaded to" device: offloaded when ifindex != 0 or ifname is not empty.
  // An empty ifname prints bpftool's fallback "ifindex N ns_dev D ns_ino I".
  std::string ifname;
  uint32_t ifindex = 0;
  uint64_t ns_dev = 0, ns_ino = 0;  // the netns of the device, for JSON "dev"
  std::vector<std::string> pinned;  // pinned paths (bpftool -f)
  std::vector<uint32_t> pids;       // not printed: Debian's bpftool prints no pids
  bool frozen = false;              // BPF_MAP_FREEZE was called
  uint32_t btf_id = 0;              // shown by map show only; dumps stay hex
  // prog_array only: the type of the program that owns it ("xdp"), empty = none.
  std::string owner_prog_type;
  bool owner_jited = false;
};

struct ProgDesc {
  uint32_t id = 0;
  std::string type = "xdp";  // bpftool's name of the program type
  std::string name;          // printed only when not empty
  std::string tag;           // 16 hex chars
  bool gpl = false;
  int64_t loaded_at = 0;  // unix seconds; 0 = no "loaded_at"/"uid" (as bpftool without load_time)
  uint32_t uid = 0;
  uint32_t xlated = 0, jited = 0;  // jited 0 prints "not jited"
  uint64_t memlock = 0;
  std::vector<uint32_t> map_ids;
  std::string ifname;  // offloaded when ifindex != 0 or ifname not empty (see MapDesc)
  uint32_t ifindex = 0;
  uint64_t ns_dev = 0, ns_ino = 0;
  std::vector<std::string> pinned;
  uint32_t btf_id = 0;
  uint64_t run_time_ns = 0, run_cnt = 0;  // with kernel.bpf_stats_enabled; 0 = not printed
  uint64_t recursion_misses = 0;
};

// --- map types ---------------------------------------------------------------

// Percpu maps hold one value per possible CPU: bpftool prints "value (CPU NN)"
// and takes one value on update that it copies to every CPU.
bool is_percpu(uint32_t type);
// bpftool's name of a map type ("hash", "lru_percpu_hash", ...) for every type
// in Debian 12's linux/bpf.h; "" for others (bpftool then prints "type N").
std::string map_type_name(uint32_t type);

// --- parsing bpftool's arguments ----------------------------------------------

// bpftool's keyword match: `word` is a prefix of `keyword`, so "k", "val",
// "he", "noex" and even "" abbreviate keywords as they do on bpftool's line.
bool is_prefix(const std::string& word, const std::string& keyword);

// The bytes of a key or value at args[pos]: an optional "hex" (or prefix of
// it) makes every byte base 16 ("0a", "ff", "0x1f"), else each token is a C
// literal (0x.., 0.. octal, decimal). Tokens are read like bpftool's strtoul:
// leading blanks and a sign allowed, the result truncated to 8 bits ("256" is
// 0, "-1" 0xff; no range check), "0a0b" is one token = 0x0b. Reads exactly n
// bytes, or fewer at the end of args; advances pos. Throws "error parsing
// byte: TOKEN" or "WHAT expected N bytes got M".
Bytes parse_bytes(const std::vector<std::string>& args, size_t& pos, size_t n,
                  const std::string& what);

// The optional update-flags keyword at args[pos] ("any", "noexist", "exist" or
// a prefix, tried in that order): returns the flag and advances pos; returns
// kAny without advancing when args[pos] is no such keyword or is missing.
uint64_t parse_update_flags(const std::vector<std::string>& args, size_t& pos);

// One copy of a percpu value expanded to ncpus copies, each padded with zeros
// to a multiple of 8 bytes: the kernel layout bpftool writes on update.
Bytes expand_percpu(const Bytes& one, uint32_t value_size, unsigned ncpus);

// What bpftool's parse_elem reads after MAP in lookup/delete/getnext (key
// only) and update (key, value, flags, in any order, each once).
struct Elem {
  Bytes key;
  Bytes value;  // update: kernel layout (expanded for percpu maps)
  // update of a prog_array / array_of_maps / hash_of_maps: the value is a
  // reference to resolve to an id, e.g. {"id", "7"} or {"pinned", "/sys/fs/bpf/p"}
  // (PROG: id|pinned|tag|name, MAP: id|pinned|name); value then stays empty.
  std::vector<std::string> value_ref;
  uint64_t flags = kAny;
};
// args[pos..] to the end; `update` selects update's grammar. Throws bpftool's
// messages: "did not find key", "duplicate key", "unnecessary value",
// "flags specified multiple times: any", "expected key or value, got: X", ...
Elem parse_elem(const MapDesc& map, const std::vector<std::string>& args, size_t pos, bool update);

// --- output ------------------------------------------------------------------
// Text functions return the complete stdout text including the final newline.
// JSON functions return the value bpftool writes; print it with json_text().

// `map show`: the id line, key/value line, and with -f one "pinned" line per
// path. bpffs = -f was given and some map is pinned: JSON then carries
// "pinned" even when empty, as bpftool does. Non-empty `pinned` implies it.
std::string show_map_text(const MapDesc& map, bool bpffs = false);
Json show_map_json(const MapDesc& map, bool bpffs = false);

// `map dump`: every entry then "Found N element(s)"; JSON: an array of entries.
std::string dump_text(const MapDesc& map, const Entries& entries);
Json dump_json(const MapDesc& map, const Entries& entries);

// `map lookup`: value null = ENOENT, which bpftool reports as "Not found"
// (text) or null (JSON), exiting non-zero. Other errors: op_error("lookup").
std::string lookup_text(const MapDesc& map, const Bytes& key, const Bytes* value);
Json lookup_json(const MapDesc& map, const Bytes& key, const Bytes* value);

// `map getnext`: key null = no key given (the first key). When there is no
// next key bpftool fails with op_error("getnext", ENOENT).
std::string getnext_text(const MapDesc& map, const Bytes* key, const Bytes& next);
Json getnext_json(const MapDesc& map, const Bytes* key, const Bytes& next);

// `prog show`; loaded_at is printed in local time ("%FT%T%z") as bpftool
// does. bpffs as for show_map_text.
std::string show_prog_text(const ProgDesc& prog, bool bpffs = false);
Json show_prog_json(const ProgDesc& prog, bool bpffs = false);

// bpftool's message for an errno from a map operation: op "update", "delete",
// "lookup" give "update failed: File exists"; op "getnext" gives "can't get
// next key: No such file or directory". err is a positive errno.
std::string op_error(const std::string& op, int err);
// How bpftool reports any message: "Error: MSG\n" on stderr, or {"error": MSG}
// on stdout with -j. With -j a successful update/delete prints json_text(nullptr).
std::string error_text(const std::string& msg);
Json error_json(const std::string& msg);

// A JSON value as bpftool's json_writer writes it, with the final newline:
// compact for -j, and for -j -p its own layout (4-space indent, array items
// on one line, closing bracket on its own line).
std::string json_text(const Json& value, bool pretty = false);

}  // namespace npu::driver::bpftool
