// bpftool's argument syntax and output formats (driver/bpftool_fmt.h). The
// layouts were taken from runs of bpftool v7.1.0 on Debian 12 against kernel
// maps and programs; the offload ("offloaded_to", "dev") parts from bpftool's
// documented source behaviour only, as no offload-capable device was at hand.
#include "driver/bpftool_fmt.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>
#include <limits>
#include <stdexcept>

namespace npu::driver::bpftool {

namespace {

// enum bpf_map_type values whose meaning the formatter needs.
constexpr uint32_t kProgArray = 3;
constexpr uint32_t kPercpuHash = 5;
constexpr uint32_t kPercpuArray = 6;
constexpr uint32_t kLruPercpuHash = 10;
constexpr uint32_t kArrayOfMaps = 12;
constexpr uint32_t kHashOfMaps = 13;
constexpr uint32_t kPercpuCgroupStorage = 21;

// Names indexed by enum bpf_map_type, BPF_MAP_TYPE_UNSPEC .. USER_RINGBUF
// (the types of Debian 12's linux/bpf.h and of bpftool 7.1's libbpf).
const char* const kMapTypeNames[] = {
    "unspec",
    "hash",
    "array",
    "prog_array",
    "perf_event_array",
    "percpu_hash",
    "percpu_array",
    "stack_trace",
    "cgroup_array",
    "lru_hash",
    "lru_percpu_hash",
    "lpm_trie",
    "array_of_maps",
    "hash_of_maps",
    "devmap",
    "sockmap",
    "cpumap",
    "xskmap",
    "sockhash",
    "cgroup_storage",
    "reuseport_sockarray",
    "percpu_cgroup_storage",
    "queue",
    "stack",
    "sk_storage",
    "devmap_hash",
    "struct_ops",
    "ringbuf",
    "inode_storage",
    "task_storage",
    "bloom_filter",
    "user_ringbuf",
};

[[noreturn]] void fail(const std::string& msg) {
  throw std::invalid_argument(msg);
}

size_t round_up8(size_t n) {
  return (n + 7) / 8 * 8;
}

int digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'z') return c - 'a' + 10;
  if (c >= 'A' && c <= 'Z') return c - 'A' + 10;
  return 99;
}

// glibc strtoul(s, &end, base) for base 0 or 16, as bpftool calls it: returns
// false where bpftool sees a non-empty rest (*endptr != 0).
bool c_strtoul(const std::string& s, int base, unsigned long& out) {
  size_t i = 0;
  const size_t n = s.size();
  while (i < n && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  bool neg = false;
  if (i < n && (s[i] == '+' || s[i] == '-')) {
    neg = s[i] == '-';
    ++i;
  }
  if ((base == 0 || base == 16) && i + 2 < n && s[i] == '0' &&
      (s[i + 1] == 'x' || s[i + 1] == 'X') && digit_value(s[i + 2]) < 16) {
    i += 2;
    base = 16;
  } else if (base == 0) {
    base = (i < n && s[i] == '0') ? 8 : 10;
  }
  const unsigned long max = std::numeric_limits<unsigned long>::max();
  unsigned long v = 0;
  bool overflow = false;
  size_t start = i;
  for (; i < n && digit_value(s[i]) < base; ++i) {
    unsigned d = static_cast<unsigned>(digit_value(s[i]));
    if (v > (max - d) / static_cast<unsigned long>(base)) overflow = true;
    v = v * static_cast<unsigned long>(base) + d;
  }
  if (i == start) {  // no digits: strtoul leaves endptr at the start of s
    out = 0;
    return s.empty();
  }
  if (i != n) return false;
  out = overflow ? max : (neg ? 0 - v : v);
  return true;
}

// fprint_hex: bytes as "%02x" separated by a space, two spaces after every 8th
// byte, a newline after every 16th.
std::string hex_text(const uint8_t* data, size_t n) {
  std::string out;
  out.reserve(n * 3);
  for (size_t i = 0; i < n; ++i) {
    if (i == 0) {
    } else if (i % 16 == 0) {
      out += '\n';
    } else if (i % 8 == 0) {
      out += "  ";
    } else {
      out += ' ';
    }
    out += fmt::format("{:02x}", data[i]);
  }
  return out;
}

std::string hex_text(const Bytes& b, size_t n) {
  return hex_text(b.data(), std::min(n, b.size()));
}

// print_hex_data_json: ["0x0a", ...].
Json hex_json(const uint8_t* data, size_t n) {
  Json a = Json::array();
  for (size_t i = 0; i < n; ++i) a.push_back(fmt::format("0x{:02x}", data[i]));
  return a;
}

Json hex_json(const Bytes& b, size_t n) {
  return hex_json(b.data(), std::min(n, b.size()));
}

// A value padded to the kernel layout, so that short values print as zeros.
Bytes sized(const Bytes& b, size_t n) {
  Bytes out(b);
  if (out.size() < n) out.resize(n, 0);
  return out;
}

size_t value_bytes(const MapDesc& m) {
  return is_percpu(m.type) ? round_up8(m.value_size) * std::max(1u, m.ncpus) : m.value_size;
}

// print_entry_plain: the text of one entry in dump and lookup.
std::string entry_text(const MapDesc& m, const Bytes& key_in, const Bytes& value_in) {
  const Bytes key = sized(key_in, m.key_size);
  const Bytes value = sized(value_in, value_bytes(m));
  std::string out;
  if (!is_percpu(m.type)) {
    const bool break_names = m.key_size > 16 || m.value_size > 16;
    const bool single_line = m.key_size + m.value_size <= 24 && !break_names;
    out += break_names ? "key:\n" : "key: ";
    out += hex_text(key, m.key_size);
    out += single_line ? "  " : "\n";
    out += break_names ? "value:\n" : "value: ";
    out += hex_text(value, m.value_size);
    out += '\n';
    return out;
  }
  const size_t step = round_up8(m.value_size);
  out += "key:\n";
  out += hex_text(key, m.key_size);
  out += '\n';
  for (unsigned cpu = 0; cpu < std::max(1u, m.ncpus); ++cpu) {
    out += fmt::format("value (CPU {:02d}):{}", cpu, m.value_size > 16 ? '\n' : ' ');
    out += hex_text(value.data() + cpu * step, m.value_size);
    out += '\n';
  }
  return out;
}

// print_entry_json for a map without BTF.
Json entry_json(const MapDesc& m, const Bytes& key_in, const Bytes& value_in) {
  const Bytes key = sized(key_in, m.key_size);
  const Bytes value = sized(value_in, value_bytes(m));
  Json e = Json::object();
  e["key"] = hex_json(key, m.key_size);
  if (!is_percpu(m.type)) {
    e["value"] = hex_json(value, m.value_size);
    return e;
  }
  const size_t step = round_up8(m.value_size);
  Json values = Json::array();
  for (unsigned cpu = 0; cpu < std::max(1u, m.ncpus); ++cpu) {
    Json v = Json::object();
    v["cpu"] = cpu;
    v["value"] = hex_json(value.data() + cpu * step, m.value_size);
    values.push_back(std::move(v));
  }
  e["values"] = std::move(values);
  return e;
}

bool offloaded(const std::string& ifname, uint32_t ifindex) {
  return ifindex != 0 || !ifname.empty();
}

// print_dev_plain, after the id line's last field.
std::string dev_text(const std::string& ifname, uint32_t ifindex, uint64_t ns_dev,
                     uint64_t ns_ino) {
  if (!offloaded(ifname, ifindex)) return "";
  if (!ifname.empty()) return "  offloaded_to " + ifname;
  return fmt::format("  offloaded_to ifindex {} ns_dev {} ns_ino {}", ifindex, ns_dev, ns_ino);
}

// print_dev_json: "dev": {ifindex, ns_dev, ns_inode[, ifname]}.
void dev_json(Json& obj, const std::string& ifname, uint32_t ifindex, uint64_t ns_dev,
              uint64_t ns_ino) {
  if (!offloaded(ifname, ifindex)) return;
  Json d = Json::object();
  d["ifindex"] = ifindex;
  d["ns_dev"] = ns_dev;
  d["ns_inode"] = ns_ino;
  if (!ifname.empty()) d["ifname"] = ifname;
  obj["dev"] = std::move(d);
}

// bpftool's json_writer string: C escapes for \t \n \r \f \b \\ \" and the
// rest as is; other control characters become \u00XX so the output stays JSON.
void put_string(std::string& out, const std::string& s) {
  out += '"';
  for (char c : s) {
    switch (c) {
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20)
          out += fmt::format("\\u{:04x}", static_cast<unsigned char>(c));
        else
          out += c;
    }
  }
  out += '"';
}

void indent(std::string& out, unsigned depth) {
  out += '\n';
  out.append(depth * 4, ' ');
}

// jsonw: a newline and indent before every object member and before the
// closing bracket of a non-empty object or array; array items follow "," only.
void put_json(std::string& out, const Json& v, bool pretty, unsigned depth) {
  switch (v.type()) {
    case Json::value_t::object: {
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.items()) {
        if (!first) out += ',';
        first = false;
        if (pretty) indent(out, depth + 1);
        put_string(out, k);
        out += pretty ? ": " : ":";
        put_json(out, item, pretty, depth + 1);
      }
      if (pretty && !first) indent(out, depth);
      out += '}';
      break;
    }
    case Json::value_t::array: {
      out += '[';
      bool first = true;
      for (const auto& item : v) {
        if (!first) out += ',';
        first = false;
        put_json(out, item, pretty, depth + 1);
      }
      if (pretty && !first) indent(out, depth);
      out += ']';
      break;
    }
    case Json::value_t::string:
      put_string(out, v.get_ref<const std::string&>());
      break;
    default:
      out += v.dump();
      break;
  }
}

// The pinned paths, as "pinned" lines (text) or array (JSON).
std::string pinned_text(const std::vector<std::string>& pinned) {
  std::string out;
  for (const auto& p : pinned) out += "\n\tpinned " + p;
  return out;
}

void pinned_json(Json& obj, const std::vector<std::string>& pinned, bool bpffs) {
  if (!bpffs && pinned.empty()) return;
  Json a = Json::array();
  for (const auto& p : pinned) a.push_back(p);
  obj["pinned"] = std::move(a);
}

}  // namespace

// --- map types ---------------------------------------------------------------

bool is_percpu(uint32_t type) {
  return type == kPercpuHash || type == kPercpuArray || type == kLruPercpuHash ||
         type == kPercpuCgroupStorage;
}

std::string map_type_name(uint32_t type) {
  if (type < sizeof kMapTypeNames / sizeof kMapTypeNames[0]) return kMapTypeNames[type];
  return "";
}

// --- parsing -----------------------------------------------------------------

bool is_prefix(const std::string& word, const std::string& keyword) {
  return word.size() <= keyword.size() && keyword.compare(0, word.size(), word) == 0;
}

Bytes parse_bytes(const std::vector<std::string>& args, size_t& pos, size_t n,
                  const std::string& what) {
  int base = 0;
  if (pos < args.size() && is_prefix(args[pos], "hex")) {
    base = 16;
    ++pos;
  }
  Bytes out;
  out.reserve(n);
  while (out.size() < n && pos < args.size()) {
    unsigned long v = 0;
    if (!c_strtoul(args[pos], base, v)) fail("error parsing byte: " + args[pos]);
    out.push_back(static_cast<uint8_t>(v));
    ++pos;
  }
  if (out.size() != n) fail(fmt::format("{} expected {} bytes got {}", what, n, out.size()));
  return out;
}

uint64_t parse_update_flags(const std::vector<std::string>& args, size_t& pos) {
  if (pos >= args.size()) return kAny;
  const std::string& w = args[pos];
  uint64_t flags;
  if (is_prefix(w, "any"))
    flags = kAny;
  else if (is_prefix(w, "noexist"))
    flags = kNoExist;
  else if (is_prefix(w, "exist"))
    flags = kExist;
  else
    return kAny;
  ++pos;
  return flags;
}

Bytes expand_percpu(const Bytes& one, uint32_t value_size, unsigned ncpus) {
  const size_t step = round_up8(value_size);
  Bytes out(step * std::max(1u, ncpus), 0);
  const size_t n = std::min<size_t>(one.size(), value_size);
  for (unsigned cpu = 0; cpu < std::max(1u, ncpus); ++cpu)
    std::copy(one.begin(), one.begin() + static_cast<std::ptrdiff_t>(n), out.begin() + cpu * step);
  return out;
}

Elem parse_elem(const MapDesc& map, const std::vector<std::string>& args, size_t pos, bool update) {
  Elem e;
  bool want_key = true, want_value = update, flags_open = update;
  // bpftool passes a value size only to update: lookup's "value" is "unnecessary".
  const uint32_t value_size = update ? map.value_size : 0;
  for (;;) {
    if (pos >= args.size()) {
      if (!want_key && !want_value) return e;
      fail(std::string("did not find ") + (want_key ? "key" : "value"));
    }
    const std::string& w = args[pos];
    if (is_prefix(w, "key")) {
      if (!want_key) fail(map.key_size ? "duplicate key" : "unnecessary key");
      ++pos;
      e.key = parse_bytes(args, pos, map.key_size, "key");
      want_key = false;
    } else if (is_prefix(w, "value")) {
      if (!want_value) fail(value_size ? "duplicate value" : "unnecessary value");
      ++pos;
      const bool of_maps = map.type == kArrayOfMaps || map.type == kHashOfMaps;
      const bool of_progs = map.type == kProgArray;
      if (of_maps || of_progs) {
        const char* kind = of_maps ? "map in map" : "map of progs";
        if (value_size != 4) fail(fmt::format("value smaller than 4B for {}?", kind));
        if (pos + 1 >= args.size()) fail(fmt::format("not enough value arguments for {}", kind));
        const std::string& how = args[pos];
        const bool ok = is_prefix(how, "id") || is_prefix(how, "pinned") ||
                        is_prefix(how, "name") || (of_progs && is_prefix(how, "tag"));
        if (!ok)
          fail(of_progs ? fmt::format("expected 'id', 'tag', 'name' or 'pinned', got: '{}'?", how)
                        : fmt::format("expected 'id', 'name' or 'pinned', got: '{}'?", how));
        e.value_ref = {args[pos], args[pos + 1]};
        pos += 2;
      } else {
        e.value = parse_bytes(args, pos, value_size, "value");
        if (is_percpu(map.type)) e.value = expand_percpu(e.value, value_size, map.ncpus);
      }
      want_value = false;
    } else if (is_prefix(w, "any") || is_prefix(w, "noexist") || is_prefix(w, "exist")) {
      if (!flags_open) fail("flags specified multiple times: " + w);
      e.flags = parse_update_flags(args, pos);
      flags_open = false;
    } else {
      fail("expected key or value, got: " + w);
    }
  }
}

// --- output ------------------------------------------------------------------

std::string show_map_text(const MapDesc& m, bool bpffs) {
  std::string out = fmt::format("{}: ", m.id);
  const std::string type = map_type_name(m.type);
  out += type.empty() ? fmt::format("type {}  ", m.type) : type + "  ";
  if (!m.name.empty()) out += "name " + m.name + "  ";
  out += fmt::format("flags 0x{:x}", m.flags);
  out += dev_text(m.ifname, m.ifindex, m.ns_dev, m.ns_ino);
  out += fmt::format("\n\tkey {}B  value {}B  max_entries {}  memlock {}B", m.key_size,
                     m.value_size, m.max_entries, m.memlock);
  if (m.type == kProgArray && !m.owner_prog_type.empty())
    out += fmt::format("\n\towner_prog_type {}  owner{} jited", m.owner_prog_type,
                       m.owner_jited ? "" : " not");
  out += pinned_text(m.pinned);
  if (m.btf_id || m.frozen) out += "\n\t";
  if (m.btf_id) out += fmt::format("btf_id {}", m.btf_id);
  if (m.frozen) out += m.btf_id ? "  frozen" : "frozen";
  out += '\n';
  return out;
}

Json show_map_json(const MapDesc& m, bool bpffs) {
  Json j = Json::object();
  j["id"] = m.id;
  const std::string type = map_type_name(m.type);
  if (type.empty())
    j["type"] = m.type;
  else
    j["type"] = type;
  if (!m.name.empty()) j["name"] = m.name;
  j["flags"] = m.flags;
  dev_json(j, m.ifname, m.ifindex, m.ns_dev, m.ns_ino);
  j["bytes_key"] = m.key_size;
  j["bytes_value"] = m.value_size;
  j["max_entries"] = m.max_entries;
  j["bytes_memlock"] = m.memlock;
  if (m.type == kProgArray && !m.owner_prog_type.empty()) {
    j["owner_prog_type"] = m.owner_prog_type;
    j["owner_jited"] = m.owner_jited;
  }
  j["frozen"] = m.frozen ? 1 : 0;
  if (m.btf_id) j["btf_id"] = m.btf_id;
  pinned_json(j, m.pinned, bpffs);
  return j;
}

std::string dump_text(const MapDesc& m, const Entries& entries) {
  std::string out;
  for (const auto& [k, v] : entries) out += entry_text(m, k, v);
  out += fmt::format("Found {} element{}\n", entries.size(), entries.size() != 1 ? "s" : "");
  return out;
}

Json dump_json(const MapDesc& m, const Entries& entries) {
  Json a = Json::array();
  for (const auto& [k, v] : entries) a.push_back(entry_json(m, k, v));
  return a;
}

std::string lookup_text(const MapDesc& m, const Bytes& key, const Bytes* value) {
  if (value) return entry_text(m, key, *value);
  return "key:\n" + hex_text(sized(key, m.key_size), m.key_size) + "\n\nNot found\n";
}

Json lookup_json(const MapDesc& m, const Bytes& key, const Bytes* value) {
  if (value) return entry_json(m, key, *value);
  return nullptr;
}

std::string getnext_text(const MapDesc& m, const Bytes* key, const Bytes& next) {
  std::string out;
  if (key)
    out += "key:\n" + hex_text(sized(*key, m.key_size), m.key_size) + "\n";
  else
    out += "key: None\n";
  out += "next key:\n" + hex_text(sized(next, m.key_size), m.key_size) + "\n";
  return out;
}

Json getnext_json(const MapDesc& m, const Bytes* key, const Bytes& next) {
  Json j = Json::object();
  if (key)
    j["key"] = hex_json(sized(*key, m.key_size), m.key_size);
  else
    j["key"] = nullptr;
  j["next_key"] = hex_json(sized(next, m.key_size), m.key_size);
  return j;
}

namespace {

std::string local_time(int64_t secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!localtime_r(&t, &tm)) return std::to_string(secs);
  char buf[32];
  size_t n = std::strftime(buf, sizeof buf, "%FT%T%z", &tm);
  return std::string(buf, n);
}

}  // namespace

std::string show_prog_text(const ProgDesc& p, bool bpffs) {
  std::string out = fmt::format("{}: {}  ", p.id, p.type);
  if (!p.name.empty()) out += "name " + p.name + "  ";
  out += "tag " + p.tag;
  out += dev_text(p.ifname, p.ifindex, p.ns_dev, p.ns_ino);
  if (p.gpl) out += "  gpl";
  if (p.run_time_ns) out += fmt::format(" run_time_ns {} run_cnt {}", p.run_time_ns, p.run_cnt);
  if (p.recursion_misses) out += fmt::format(" recursion_misses {}", p.recursion_misses);
  out += '\n';
  if (p.loaded_at) out += fmt::format("\tloaded_at {}  uid {}\n", local_time(p.loaded_at), p.uid);
  out += fmt::format("\txlated {}B", p.xlated);
  out += p.jited ? fmt::format("  jited {}B", p.jited) : std::string("  not jited");
  out += fmt::format("  memlock {}B", p.memlock);
  if (!p.map_ids.empty()) out += fmt::format("  map_ids {}", fmt::join(p.map_ids, ","));
  out += pinned_text(p.pinned);
  if (p.btf_id) out += fmt::format("\n\tbtf_id {}", p.btf_id);
  out += '\n';
  return out;
}

Json show_prog_json(const ProgDesc& p, bool bpffs) {
  Json j = Json::object();
  j["id"] = p.id;
  j["type"] = p.type;
  if (!p.name.empty()) j["name"] = p.name;
  j["tag"] = p.tag;
  j["gpl_compatible"] = p.gpl;
  if (p.run_time_ns) {
    j["run_time_ns"] = p.run_time_ns;
    j["run_cnt"] = p.run_cnt;
  }
  if (p.recursion_misses) j["recursion_misses"] = p.recursion_misses;
  dev_json(j, p.ifname, p.ifindex, p.ns_dev, p.ns_ino);
  if (p.loaded_at) {
    j["loaded_at"] = p.loaded_at;
    j["uid"] = p.uid;
  }
  j["bytes_xlated"] = p.xlated;
  j["jited"] = p.jited != 0;
  if (p.jited) j["bytes_jited"] = p.jited;
  j["bytes_memlock"] = p.memlock;
  if (!p.map_ids.empty()) j["map_ids"] = p.map_ids;
  if (p.btf_id) j["btf_id"] = p.btf_id;
  pinned_json(j, p.pinned, bpffs);
  return j;
}

std::string op_error(const std::string& op, int err) {
  char buf[128];
  const char* what = strerror_r(err, buf, sizeof buf);  // GNU: returns the message
  if (op == "getnext") return fmt::format("can't get next key: {}", what);
  return fmt::format("{} failed: {}", op, what);
}

std::string error_text(const std::string& msg) {
  return "Error: " + msg + "\n";
}

Json error_json(const std::string& msg) {
  Json j = Json::object();
  j["error"] = msg;
  return j;
}

std::string json_text(const Json& value, bool pretty) {
  std::string out;
  put_json(out, value, pretty, 0);
  out += '\n';
  return out;
}

}  // namespace npu::driver::bpftool
