#include "sim/kernel/oracle.h"

#include "compiler/bpf/hex.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>

namespace kern {
namespace {

// Closes a file descriptor on scope exit.
struct Fd {
  int fd = -1;
  Fd() = default;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::string errno_text(int e) {
  return std::strerror(e < 0 ? -e : e);
}

// libbpf's own warnings while one object opens and loads. The print hook is
// process-wide, so opening objects is serialized.
std::mutex g_print_mu;
std::string* g_print_sink = nullptr;

int capture_print(enum libbpf_print_level level, const char* fmt, va_list ap) {
  if (level == LIBBPF_DEBUG || !g_print_sink) return 0;
  char buf[2048];
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  *g_print_sink += buf;
  return n;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

bool starts_with(const std::string& s, const char* p) {
  return s.rfind(p, 0) == 0;
}

// The verifier's reason from its log: the last line that is not its closing
// statistics, and the index of the last instruction it printed before it.
struct Reason {
  std::string text;
  long insn = -1;
};

Reason verifier_reason(const std::string& log) {
  std::vector<std::string> ls = lines_of(log);
  auto is_stats = [](const std::string& l) {
    return starts_with(l, "processed ") || starts_with(l, "verification time") ||
           starts_with(l, "stack depth") || starts_with(l, "max_states_per_insn");
  };
  // Instruction lines look like "12: (61) r0 = *(u32 *)(r1 +0)".
  auto insn_index = [](const std::string& l) -> long {
    size_t colon = l.find(": (");
    if (colon == std::string::npos || colon == 0 || colon > 9 ||
        l.find_first_not_of("0123456789") != colon)
      return -1;
    return std::stol(l.substr(0, colon));
  };
  for (size_t i = ls.size(); i-- > 0;) {
    if (is_stats(ls[i])) continue;
    Reason r{ls[i]};
    // Some kernel messages lack their newline ("expected prog array map for
    // tail call"), so the statistics follow on the same line: cut them off.
    if (size_t p = r.text.find("processed "); p != std::string::npos && p > 0)
      r.text.erase(r.text.find_last_not_of(' ', p - 1) + 1);
    for (size_t j = i; j-- > 0 && insn_index(r.text) < 0;) {
      if ((r.insn = insn_index(ls[j])) >= 0) break;
    }
    return r;
  }
  return {};
}

std::string with_insn(const Reason& r) {
  return r.insn < 0 ? r.text : fmt::format("{} (at insn {})", r.text, r.insn);
}

// The last libbpf warning, without its "libbpf: " prefix.
std::string last_libbpf_line(const std::string& text) {
  std::vector<std::string> ls = lines_of(text);
  for (size_t i = ls.size(); i-- > 0;) {
    std::string l = ls[i];
    if (starts_with(l, "libbpf: ")) l = l.substr(8);
    if (l.find("-- END PROG LOAD LOG --") != std::string::npos) continue;
    return l;
  }
  return "";
}

// "prog 'name': BPF program load failed: ..." or "prog 'name': failed to load: ...".
std::string failed_program(const std::string& libbpf_msgs) {
  for (const std::string& l : lines_of(libbpf_msgs)) {
    size_t at = l.find("prog '");
    if (at == std::string::npos) continue;
    size_t end = l.find("': ", at + 6);
    if (end == std::string::npos) continue;
    std::string rest = l.substr(end + 3);
    if (starts_with(rest, "BPF program load failed") || starts_with(rest, "failed to load"))
      return l.substr(at + 6, end - at - 6);
  }
  return "";
}

bool is_percpu(uint32_t t) {
  return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
         t == BPF_MAP_TYPE_LRU_PERCPU_HASH || t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

size_t round8(size_t n) {
  return (n + 7) / 8 * 8;
}

bool& thread_pinned() {
  static thread_local bool pinned = false;
  return pinned;
}

void ensure_pinned() {
  if (!thread_pinned()) pin_to_cpu0();
}

using bpf::Insn;

Insn mov_imm(int dst, int32_t imm) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm);
}
Insn mov_reg(int dst, int src) {
  return Insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, src, 0, 0);
}
Insn exit_insn() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

// r0 = bpf_map_lookup_elem(map_fd, &(u32)0), the key living at r10-4.
void emit_lookup_key0(std::vector<Insn>& out, int map_fd) {
  out.emplace_back(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0);
  out.push_back(mov_reg(2, 10));
  out.emplace_back(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, -4);
  out.emplace_back(BPF_LD | BPF_IMM | BPF_DW, 1, BPF_PSEUDO_MAP_FD, 0, map_fd);
  out.emplace_back(0, 0, 0, 0, 0);
  out.emplace_back(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_map_lookup_elem);
}

// Return codes of the conformance wrapper that are not the program's.
constexpr int kNoMemValue = 101;
constexpr int kNoResultValue = 102;

}  // namespace

std::string bpf_unavailable_reason() {
  static const std::string reason = []() -> std::string {
    Fd map(bpf_map_create(BPF_MAP_TYPE_ARRAY, "npu_probe", 4, 8, 1, nullptr));
    if (map.fd < 0) {
      int e = errno;
      if (e == EPERM || e == EACCES)
        return fmt::format("bpf() refused: {} (needs root or CAP_BPF+CAP_NET_ADMIN)",
                           errno_text(e));
      if (e == ENOSYS)
        return "bpf() is not available: the kernel has no BPF syscall (CONFIG_BPF_SYSCALL)";
      return fmt::format("bpf() refused to create an array map: {}", errno_text(e));
    }
    const Insn prog[] = {mov_imm(0, XDP_PASS), exit_insn()};
    Fd pfd(bpf_prog_load(BPF_PROG_TYPE_XDP, "npu_probe", "GPL",
                         reinterpret_cast<const bpf_insn*>(prog), 2, nullptr));
    if (pfd.fd < 0) {
      int e = errno;
      return fmt::format("bpf() refused to load a 2-instruction XDP program: {}{}", errno_text(e),
                         e == EPERM || e == EACCES ? " (needs root or CAP_BPF+CAP_NET_ADMIN)" : "");
    }
    uint8_t frame[64] = {};
    LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frame, .data_size_in = sizeof frame, .repeat = 1);
    if (bpf_prog_test_run_opts(pfd.fd, &ro) != 0)
      return fmt::format("BPF_PROG_TEST_RUN refused an XDP program: {}", errno_text(errno));
    return "";
  }();
  return reason;
}

bool pin_to_cpu0() {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(0, &set);
  bool ok = sched_setaffinity(0, sizeof set, &set) == 0;
  thread_pinned() = true;  // one attempt per thread: a refusal will not change
  return ok;
}

int possible_cpus() {
  static const int n = [] {
    int c = libbpf_num_possible_cpus();
    return c > 0 ? c : 1;
  }();
  return n;
}

// ---------------------------------------------------------------- objects

KernelObject KernelObject::open(const std::string& path) {
  std::lock_guard<std::mutex> lock(g_print_mu);
  std::string libbpf_msgs;
  g_print_sink = &libbpf_msgs;
  libbpf_print_fn_t old_print = libbpf_set_print(capture_print);
  struct Restore {
    libbpf_print_fn_t old;
    ~Restore() {
      libbpf_set_print(old);
      g_print_sink = nullptr;
    }
  } restore{old_print};

  bpf_object* o = bpf_object__open_file(path.c_str(), nullptr);
  if (long err = libbpf_get_error(o)) {
    char buf[256];
    libbpf_strerror(int(err), buf, sizeof buf);
    std::string why = last_libbpf_line(libbpf_msgs);
    throw std::runtime_error(fmt::format("{}: cannot open BPF object: {}{}", path, buf,
                                         why.empty() ? "" : " (" + why + ")"));
  }
  // One buffer for every program: libbpf asks for a log only when a load
  // fails, and stops at the first failure, so it holds that program's log.
  std::vector<char> log(4 << 20, '\0');
  bpf_program* p;
  bpf_object__for_each_program(p, o) bpf_program__set_log_buf(p, log.data(), log.size());

  if (int err = bpf_object__load(o)) {
    // A failed load unloads every program, so libbpf's warning names the culprit.
    std::string failed = failed_program(libbpf_msgs);
    std::string reason = with_insn(verifier_reason(std::string(log.data())));
    bpf_object__close(o);
    if (!failed.empty() && !reason.empty())
      throw std::runtime_error(
          fmt::format("{}: kernel verifier rejected program {}: {}", path, failed, reason));
    std::string why = last_libbpf_line(libbpf_msgs);
    throw std::runtime_error(fmt::format("{}: cannot load into the kernel: {}", path,
                                         why.empty() ? errno_text(err) : why));
  }
  // The buffer dies here: no later load may write into it.
  bpf_object__for_each_program(p, o) bpf_program__set_log_buf(p, nullptr, 0);
  return KernelObject(o, path);
}

KernelObject::KernelObject(KernelObject&& other) noexcept
    : obj_(other.obj_), path_(std::move(other.path_)) {
  other.obj_ = nullptr;
}

KernelObject& KernelObject::operator=(KernelObject&& other) noexcept {
  if (this != &other) {
    if (obj_) bpf_object__close(obj_);
    obj_ = other.obj_;
    path_ = std::move(other.path_);
    other.obj_ = nullptr;
  }
  return *this;
}

KernelObject::~KernelObject() {
  if (obj_) bpf_object__close(obj_);
}

bpf_program* KernelObject::find_prog(const std::string& name) const {
  bpf_program* p;
  std::string all;
  bpf_object__for_each_program(p, obj_) {
    if (name.empty() || name == bpf_program__name(p) || name == bpf_program__section_name(p))
      return p;
    all += (all.empty() ? "" : ", ") + std::string(bpf_program__name(p));
  }
  if (name.empty()) throw std::runtime_error(path_ + ": the object has no programs");
  throw std::runtime_error(fmt::format("{}: no program '{}' (programs: {})", path_, name, all));
}

int KernelObject::prog_fd(const std::string& name) const {
  bpf_program* p = find_prog(name);
  int fd = bpf_program__fd(p);
  if (fd < 0)
    throw std::runtime_error(
        fmt::format("{}: program '{}' is not loaded", path_, bpf_program__name(p)));
  return fd;
}

std::vector<std::string> KernelObject::prog_names() const {
  std::vector<std::string> out;
  bpf_program* p;
  bpf_object__for_each_program(p, obj_) out.push_back(bpf_program__name(p));
  return out;
}

bpf_map* KernelObject::find_map(const std::string& name) const {
  bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!m) {
    std::string all;
    for (const std::string& n : map_names()) all += (all.empty() ? "" : ", ") + n;
    throw std::runtime_error(
        fmt::format("{}: no map '{}' (maps: {})", path_, name, all.empty() ? "none" : all));
  }
  return m;
}

std::vector<std::string> KernelObject::map_names() const {
  std::vector<std::string> out;
  bpf_map* m;
  bpf_object__for_each_map(m, obj_) out.push_back(bpf_map__name(m));
  return out;
}

MapInfo KernelObject::map_info(const std::string& map) const {
  bpf_map* m = find_map(map);
  MapInfo i;
  i.name = bpf_map__name(m);
  i.type = bpf_map__type(m);
  i.key_size = bpf_map__key_size(m);
  i.value_size = bpf_map__value_size(m);
  i.max_entries = bpf_map__max_entries(m);
  i.flags = bpf_map__map_flags(m);
  i.percpu = is_percpu(i.type);
  i.sys_value_size = i.percpu ? round8(i.value_size) * size_t(possible_cpus()) : i.value_size;
  return i;
}

void KernelObject::map_update(const std::string& map, const std::vector<uint8_t>& key,
                              const std::vector<uint8_t>& value, uint64_t flags) {
  MapInfo info = map_info(map);
  if (key.size() != info.key_size)
    throw std::runtime_error(fmt::format("{}: map '{}': key has {} bytes, the map's key_size is {}",
                                         path_, map, key.size(), info.key_size));
  std::vector<uint8_t> v;
  if (info.percpu && value.size() == info.value_size) {
    // One CPU's value: every possible CPU gets a copy, each in an 8-byte-rounded slot.
    size_t stride = round8(info.value_size);
    v.assign(info.sys_value_size, 0);
    for (int c = 0; c < possible_cpus(); ++c)
      std::copy(value.begin(), value.end(), v.begin() + c * stride);
  } else if (value.size() == info.sys_value_size) {
    v = value;
  } else if (info.percpu) {
    throw std::runtime_error(fmt::format(
        "{}: map '{}': value has {} bytes, expected {} (one CPU) or {} (all {} CPUs)", path_, map,
        value.size(), info.value_size, info.sys_value_size, possible_cpus()));
  } else {
    throw std::runtime_error(
        fmt::format("{}: map '{}': value has {} bytes, the map's value_size is {}", path_, map,
                    value.size(), info.value_size));
  }
  if (bpf_map_update_elem(bpf_map__fd(find_map(map)), key.data(), v.data(), flags) != 0)
    throw std::runtime_error(
        fmt::format("{}: map '{}': update failed: {}", path_, map, errno_text(errno)));
}

void KernelObject::map_update_prog(const std::string& map, const std::vector<uint8_t>& key,
                                   const std::string& prog) {
  if (map_info(map).type != BPF_MAP_TYPE_PROG_ARRAY)
    throw std::runtime_error(fmt::format("{}: map '{}' is not a prog array", path_, map));
  uint32_t fd = uint32_t(prog_fd(prog));
  std::vector<uint8_t> v(sizeof fd);
  std::memcpy(v.data(), &fd, sizeof fd);
  map_update(map, key, v, BPF_ANY);
}

std::optional<std::vector<uint8_t>> KernelObject::map_lookup(
    const std::string& map, const std::vector<uint8_t>& key) const {
  MapInfo info = map_info(map);
  if (key.size() != info.key_size)
    throw std::runtime_error(fmt::format("{}: map '{}': key has {} bytes, the map's key_size is {}",
                                         path_, map, key.size(), info.key_size));
  std::vector<uint8_t> v(std::max<size_t>(info.sys_value_size, 8));
  if (bpf_map_lookup_elem(bpf_map__fd(find_map(map)), key.data(), v.data()) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(
        fmt::format("{}: map '{}': lookup failed: {}", path_, map, errno_text(errno)));
  }
  v.resize(info.sys_value_size);
  return v;
}

Entries KernelObject::map_dump(const std::string& map) const {
  MapInfo info = map_info(map);
  int fd = bpf_map__fd(find_map(map));
  Entries out;
  std::vector<uint8_t> key(std::max<uint32_t>(info.key_size, 1)), next(key.size());
  std::vector<uint8_t> val(std::max<size_t>(info.sys_value_size, 8));
  // Array maps list every index; a hash map restarts from its first key if
  // ours vanished, so a bound keeps a concurrently changing map from looping.
  size_t limit = size_t(info.max_entries) + 1;
  const void* prev = nullptr;
  while (out.size() < limit && bpf_map_get_next_key(fd, prev, next.data()) == 0) {
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(fd, key.data(), val.data()) != 0) continue;  // empty slot, or gone
    out.emplace_back(std::vector<uint8_t>(key.begin(), key.begin() + info.key_size),
                     std::vector<uint8_t>(val.begin(), val.begin() + info.sys_value_size));
  }
  return out;
}

void KernelObject::load_maps_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(fmt::format("{}: cannot open: {}", path, errno_text(errno)));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw std::runtime_error(path + ": not valid JSON");
  load_maps_json(j, path);
}

void KernelObject::load_maps_json(const nlohmann::json& init, const std::string& source) {
  if (!init.is_object() || !init.contains("maps") || !init["maps"].is_object())
    throw std::runtime_error(source + ": expected an object with a \"maps\" object");
  for (auto& [name, entries] : init["maps"].items()) {
    if (!bpf_object__find_map_by_name(obj_, name.c_str()))
      throw std::runtime_error(fmt::format("{}: no map named '{}' in {}", source, name, path_));
    if (!entries.is_array())
      throw std::runtime_error(fmt::format("{}: map '{}': expected a list", source, name));
    MapInfo info = map_info(name);
    size_t i = 0;
    for (const auto& e : entries) {
      std::string where = fmt::format("{}: map '{}' entry {}", source, name, i++);
      auto hex_field = [&](const nlohmann::json& v, const char* field) {
        if (!v.is_string())
          throw std::runtime_error(fmt::format("{}: \"{}\" must be a hex string", where, field));
        return bpf::parse_hex(v.get<std::string>(), where);
      };
      if (!e.is_object() || !e.contains("key"))
        throw std::runtime_error(where + ": needs a \"key\" hex string");
      std::vector<uint8_t> key = hex_field(e["key"], "key");
      if (key.size() != info.key_size)
        throw std::runtime_error(fmt::format("{}: key has {} bytes, the map's key_size is {}",
                                             where, key.size(), info.key_size));
      std::vector<uint8_t> value;
      if (e.contains("prog")) {
        if (info.type != BPF_MAP_TYPE_PROG_ARRAY || !e["prog"].is_string())
          throw std::runtime_error(where + ": \"prog\" (a program name) is only for prog arrays");
        try {
          map_update_prog(name, key, e["prog"].get<std::string>());
        } catch (const std::exception& ex) {
          throw std::runtime_error(fmt::format("{}: {}", where, ex.what()));
        }
        continue;
      } else if (e.contains("values")) {
        if (!info.percpu || !e["values"].is_array())
          throw std::runtime_error(where +
                                   ": \"values\" (a list, one per CPU) is only for percpu maps");
        if (e["values"].size() != size_t(possible_cpus()))
          throw std::runtime_error(fmt::format("{}: {} values for {} possible CPUs", where,
                                               e["values"].size(), possible_cpus()));
        size_t stride = round8(info.value_size);
        value.assign(info.sys_value_size, 0);
        for (size_t c = 0; c < e["values"].size(); ++c) {
          std::vector<uint8_t> one = hex_field(e["values"][c], "values");
          if (one.size() != info.value_size)
            throw std::runtime_error(
                fmt::format("{}: CPU {} value has {} bytes, the map's value_size is {}", where, c,
                            one.size(), info.value_size));
          std::copy(one.begin(), one.end(), value.begin() + c * stride);
        }
      } else if (e.contains("value")) {
        value = hex_field(e["value"], "value");
        if (value.size() != info.value_size)
          throw std::runtime_error(fmt::format("{}: value has {} bytes, the map's value_size is {}",
                                               where, value.size(), info.value_size));
      } else {
        throw std::runtime_error(where + ": needs a \"value\", \"values\" or \"prog\"");
      }
      try {
        map_update(name, key, value, BPF_ANY);
      } catch (const std::exception& ex) {
        throw std::runtime_error(fmt::format("{}: {}", where, ex.what()));
      }
    }
  }
}

nlohmann::json KernelObject::dump_maps_json() const {
  // A prog array reads back prog ids: name them by this object's programs.
  std::map<uint32_t, std::string> prog_by_id;
  bpf_program* p;
  bpf_object__for_each_program(p, obj_) {
    bpf_prog_info pi = {};
    uint32_t len = sizeof pi;
    if (bpf_program__fd(p) >= 0 && bpf_obj_get_info_by_fd(bpf_program__fd(p), &pi, &len) == 0)
      prog_by_id[pi.id] = bpf_program__name(p);
  }
  nlohmann::json maps = nlohmann::json::object();
  for (const std::string& name : map_names()) {
    MapInfo info = map_info(name);
    nlohmann::json list = nlohmann::json::array();
    for (auto& [key, value] : map_dump(name)) {
      nlohmann::json ent{{"key", bpf::to_hex(key)}};
      if (info.percpu) {
        nlohmann::json vals = nlohmann::json::array();
        for (int c = 0; c < possible_cpus(); ++c)
          vals.push_back(bpf::to_hex(value.data() + c * round8(info.value_size), info.value_size));
        ent["values"] = vals;
      } else if (info.type == BPF_MAP_TYPE_PROG_ARRAY && value.size() == 4) {
        uint32_t id;
        std::memcpy(&id, value.data(), 4);
        auto it = prog_by_id.find(id);
        if (it != prog_by_id.end())
          ent["prog"] = it->second;
        else
          ent["value"] = bpf::to_hex(value);
      } else {
        ent["value"] = bpf::to_hex(value);
      }
      list.push_back(ent);
    }
    std::sort(list.begin(), list.end(), [](const nlohmann::json& a, const nlohmann::json& b) {
      return a["key"].get<std::string>() < b["key"].get<std::string>();
    });
    maps[name] = list;
  }
  return nlohmann::json{{"maps", maps}};
}

XdpResult KernelObject::run_xdp(const std::string& prog, const std::vector<uint8_t>& packet) const {
  return run(prog, packet, nullptr);
}

XdpResult KernelObject::run_xdp(const std::string& prog, const std::vector<uint8_t>& packet,
                                const XdpContext& ctx) const {
  return run(prog, packet, &ctx);
}

XdpResult KernelObject::run(const std::string& prog, const std::vector<uint8_t>& packet,
                            const XdpContext* ctx) const {
  bpf_program* p = find_prog(prog);
  if (bpf_program__type(p) != BPF_PROG_TYPE_XDP)
    throw std::runtime_error(fmt::format("{}: program '{}' is not an XDP program (type {})", path_,
                                         bpf_program__name(p), int(bpf_program__type(p))));
  int fd = prog_fd(prog);
  ensure_pinned();
  XdpResult r;
  // data_out holds at most one 4 KiB frame plus the fragments the input
  // already needed: the copy is never cut short, so a run is never repeated.
  std::vector<uint8_t> out(packet.size() + 8192);
  // A zero xdp_md in and out costs nothing and tells where metadata ends.
  xdp_md in = {}, back = {};
  in.data = ctx ? ctx->meta_len : 0;
  in.data_end = uint32_t(packet.size());
  in.ingress_ifindex = ctx ? ctx->ingress_ifindex : 0;
  in.rx_queue_index = ctx ? ctx->rx_queue_index : 0;
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet.data(), .data_out = out.data(),
              .data_size_in = uint32_t(packet.size()), .data_size_out = uint32_t(out.size()),
              .ctx_in = &in, .ctx_out = &back, .ctx_size_in = sizeof in,
              .ctx_size_out = sizeof back, .repeat = 1);
  int rc = bpf_prog_test_run_opts(fd, &opts);
  if (rc != 0 && errno == EINVAL && !ctx && packet.size() >= 14) {
    // A kernel older than 5.12 takes no xdp_md; EINVAL comes before the run.
    LIBBPF_OPTS(bpf_test_run_opts, plain, .data_in = packet.data(), .data_out = out.data(),
                .data_size_in = uint32_t(packet.size()), .data_size_out = uint32_t(out.size()),
                .repeat = 1);
    rc = bpf_prog_test_run_opts(fd, &plain);
    opts.retval = plain.retval;
    opts.data_size_out = plain.data_size_out;
  }
  if (rc != 0) {
    r.err = -errno;
    return r;
  }
  r.verdict = opts.retval;
  out.resize(std::min<size_t>(opts.data_size_out, out.size()));
  r.packet = std::move(out);
  r.meta_len = back.data;
  return r;
}

// ---------------------------------------------------------------- conformance

std::vector<Insn> insert_insns(const std::vector<Insn>& prog, std::vector<Insertion> inserts,
                               std::vector<size_t>* new_index_out) {
  const size_t n = prog.size();
  std::stable_sort(inserts.begin(), inserts.end(),
                   [](const Insertion& a, const Insertion& b) { return a.at < b.at; });
  for (const Insertion& s : inserts)
    if (s.at > n)
      throw std::runtime_error(
          fmt::format("insertion at {} is past the program's end ({})", s.at, n));

  // Where every old slot lands; snippets at k come before old slot k.
  std::vector<size_t> new_index(n + 1);
  std::vector<Insn> out;
  out.reserve(n + 64);
  size_t k = 0;
  for (size_t i = 0; i <= n; ++i) {
    for (; k < inserts.size() && inserts[k].at == i; ++k)
      out.insert(out.end(), inserts[k].insns.begin(), inserts[k].insns.end());
    new_index[i] = out.size();
    if (i < n) out.push_back(prog[i]);
  }
  const int64_t total = int64_t(out.size());

  // New relative offset for a branch at old i whose old offset was rel.
  auto retarget = [&](size_t i, int64_t rel) {
    int64_t t = int64_t(i) + 1 + rel, nt;
    if (t < 0)
      nt = t;  // before the start: stays before it
    else if (t >= int64_t(n))
      nt = total + (t - int64_t(n));  // at or past the end: stays past it
    else
      nt = int64_t(new_index[size_t(t)]);
    return nt - int64_t(new_index[i]) - 1;
  };
  for (size_t i = 0; i < n; ++i) {
    Insn& in = out[new_index[i]];
    if (in.is_lddw()) {
      if (in.src == BPF_PSEUDO_FUNC) in.imm = int32_t(retarget(i, in.imm));
      ++i;  // the second slot carries no code
    } else if (in.is_pseudo_call()) {
      in.imm = int32_t(retarget(i, in.imm));
    } else if (in.is_jump()) {
      if (in.cls() == BPF_JMP32 && in.op() == BPF_JA) {
        in.imm = int32_t(retarget(i, in.imm));  // gotol: 32-bit offset in imm
      } else {
        int64_t off = retarget(i, in.off);
        if (off < INT16_MIN || off > INT16_MAX)
          throw std::runtime_error(
              fmt::format("insn {}: jump offset {} no longer fits in 16 bits", i, off));
        in.off = int16_t(off);
      }
    }
  }
  if (new_index_out) *new_index_out = std::move(new_index);
  return out;
}

ConformanceResult run_conformance(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem) {
  ConformanceResult res;
  ensure_pinned();
  Fd mem_map, result_map;
  result_map.fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "npu_conf_r0", 4, 8, 1, nullptr);
  if (result_map.fd < 0) {
    res.error = fmt::format("cannot create the result map: {}", errno_text(errno));
    return res;
  }
  std::vector<Insn> prologue;
  if (!mem.empty()) {
    // The program's buffer is the one value of an array map (at least 8
    // bytes: value sizes are never 0); the verifier bounds r1 by its size.
    std::vector<uint8_t> value(std::max<size_t>(mem.size(), 8), 0);
    std::copy(mem.begin(), mem.end(), value.begin());
    mem_map.fd =
        bpf_map_create(BPF_MAP_TYPE_ARRAY, "npu_conf_mem", 4, uint32_t(value.size()), 1, nullptr);
    uint32_t zero = 0;
    if (mem_map.fd < 0 || bpf_map_update_elem(mem_map.fd, &zero, value.data(), BPF_ANY) != 0) {
      res.error =
          fmt::format("cannot create the memory map ({} bytes): {}", mem.size(), errno_text(errno));
      return res;
    }
    emit_lookup_key0(prologue, mem_map.fd);
    prologue.emplace_back(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0);
    prologue.push_back(mov_imm(0, kNoMemValue));
    prologue.push_back(exit_insn());
    prologue.push_back(mov_reg(1, 0));
    prologue.push_back(mov_imm(2, int32_t(mem.size())));
  } else {
    prologue.push_back(mov_imm(1, 0));
    prologue.push_back(mov_imm(2, 0));
  }
  // r3..r9 stay untouched: the verifier sees them uninitialized, as at a real entry.

  std::vector<Insn> epilogue;
  epilogue.push_back(mov_reg(6, 0));
  emit_lookup_key0(epilogue, result_map.fd);
  epilogue.emplace_back(BPF_JMP | BPF_JNE | BPF_K, 0, 0, 2, 0);
  epilogue.push_back(mov_imm(0, kNoResultValue));
  epilogue.push_back(exit_insn());
  epilogue.emplace_back(BPF_STX | BPF_MEM | BPF_DW, 0, 6, 0, 0);
  epilogue.push_back(mov_imm(0, 0));
  epilogue.push_back(exit_insn());

  // The main function ends where the first BPF-to-BPF callee begins.
  const size_t n = prog.size();
  size_t main_end = n;
  for (size_t i = 0; i < n; ++i) {
    const Insn& in = prog[i];
    bool func_ref = in.is_pseudo_call() || (in.is_lddw() && in.src == BPF_PSEUDO_FUNC);
    if (func_ref) {
      int64_t t = int64_t(i) + 1 + in.imm;
      if (t > 0 && t < int64_t(main_end)) main_end = size_t(t);
    }
    if (in.is_lddw()) ++i;
  }

  std::vector<Insn> wrapped;
  std::vector<size_t> at;
  size_t epi = 0;  // where the epilogue starts
  try {
    wrapped = insert_insns(prog, {{0, prologue}, {main_end, epilogue}}, &at);
    epi = at[main_end] - epilogue.size();
    for (size_t i = 0; i < main_end; ++i) {
      if (prog[i].is_lddw()) {
        ++i;
        continue;
      }
      if (!prog[i].is_exit()) continue;
      int64_t off = int64_t(epi) - int64_t(at[i]) - 1;
      if (off >= INT16_MIN && off <= INT16_MAX)
        wrapped[at[i]] = Insn(BPF_JMP | BPF_JA, 0, 0, int16_t(off), 0);
      else
        wrapped[at[i]] = Insn(BPF_JMP32 | BPF_JA, 0, 0, 0, int32_t(off));
    }
  } catch (const std::exception& e) {
    res.error = fmt::format("cannot wrap the program: {}", e.what());
    return res;
  }

  // Load without a log first (fast); on refusal, again with one for the reason.
  auto load = [&](bpf_prog_load_opts* o) {
    return bpf_prog_load(BPF_PROG_TYPE_XDP, "npu_conf", "GPL",
                         reinterpret_cast<const bpf_insn*>(wrapped.data()), wrapped.size(), o);
  };
  Fd pfd(load(nullptr));
  if (pfd.fd < 0) {
    int first = errno;
    std::vector<char> log(1 << 20, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, lo, .log_level = 1, .log_size = uint32_t(log.size()),
                .log_buf = log.data());
    Fd again(load(&lo));
    Reason why = verifier_reason(std::string(log.data()));
    // Name the instruction as the caller numbers it, not as the wrapper does.
    std::string text = why.text.empty() ? errno_text(first) : why.text;
    if (why.insn >= 0) {
      auto it = std::find(at.begin(), at.end() - 1, size_t(why.insn));
      if (it != at.end() - 1)
        text += fmt::format(" (at insn {})", it - at.begin());
      else if (size_t(why.insn) == epi)
        text += " (at an exit of the main function)";  // the epilogue's first act reads r0
      else
        text += " (in the test wrapper's own code)";
    }
    res.error = "kernel rejected: " + text;
    return res;
  }
  uint8_t frame[64] = {};  // XDP wants at least an Ethernet header of data
  LIBBPF_OPTS(bpf_test_run_opts, ro, .data_in = frame, .data_size_in = sizeof frame, .repeat = 1);
  if (bpf_prog_test_run_opts(pfd.fd, &ro) != 0) {
    res.error = fmt::format("BPF_PROG_TEST_RUN failed: {}", errno_text(errno));
    return res;
  }
  if (ro.retval != 0) {
    res.error = fmt::format("the wrapper could not reach its {} map",
                            ro.retval == kNoMemValue ? "memory" : "result");
    return res;
  }
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(result_map.fd, &zero, &res.r0) != 0) {
    res.error = fmt::format("cannot read the result map: {}", errno_text(errno));
    return res;
  }
  res.ok = true;
  return res;
}

}  // namespace kern
