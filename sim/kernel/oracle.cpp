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
#include <functional>
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
Insn exit_insn() {
  return Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

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

namespace {

MapInfo info_of(const std::string& name, uint32_t type, uint32_t key_size, uint32_t value_size,
                uint32_t max_entries, uint32_t flags) {
  MapInfo i;
  i.name = name;
  i.type = type;
  i.key_size = key_size;
  i.value_size = value_size;
  i.max_entries = max_entries;
  i.flags = flags;
  i.percpu = is_percpu(type);
  i.sys_value_size = i.percpu ? round8(value_size) * size_t(possible_cpus()) : value_size;
  return i;
}

// The kernel takes object names of at most 15 characters out of [A-Za-z0-9_.].
std::string kernel_name(const std::string& name) {
  std::string out;
  for (char c : name) {
    if (out.size() == 15) break;
    out += std::isalnum(static_cast<unsigned char>(c)) || c == '.' ? c : '_';
  }
  return out;
}

}  // namespace

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
    Reason reason = verifier_reason(std::string(log.data()));
    bpf_object__close(o);
    if (!failed.empty() && !reason.text.empty())
      throw VerifierError(fmt::format("{}: kernel verifier rejected program {}: {}", path, failed,
                                      with_insn(reason)),
                          failed, reason.text, reason.insn);
    std::string why = last_libbpf_line(libbpf_msgs);
    throw std::runtime_error(fmt::format("{}: cannot load into the kernel: {}", path,
                                         why.empty() ? errno_text(err) : why));
  }
  // The buffer dies here: no later load may write into it.
  bpf_object__for_each_program(p, o) bpf_program__set_log_buf(p, nullptr, 0);
  KernelObject k;
  k.obj_ = o;
  k.path_ = path;
  bpf_map* m;
  bpf_object__for_each_map(m, o) {
    k.maps_.push_back(
        Map{info_of(bpf_map__name(m), bpf_map__type(m), bpf_map__key_size(m),
                    bpf_map__value_size(m), bpf_map__max_entries(m), bpf_map__map_flags(m)),
            bpf_map__fd(m)});
  }
  bpf_object__for_each_program(p, o) {
    k.progs_.push_back(Prog{bpf_program__name(p), bpf_program__section_name(p),
                            uint32_t(bpf_program__type(p)), bpf_program__fd(p)});
  }
  return k;
}

KernelObject KernelObject::load(const bpf::Object& obj) {
  KernelObject k;  // its destructor closes what was created if a later step throws
  k.path_ = obj.path.empty() ? "<in-memory object>" : obj.path;
  const std::string& path = k.path_;
  const size_t nmaps = obj.maps.size();
  k.maps_.resize(nmaps);

  // Maps, inner map templates before the maps of maps that name them.
  std::vector<int> state(nmaps, 0);  // 0 to do, 1 in progress, 2 done
  std::function<void(size_t)> create = [&](size_t i) {
    if (state[i] == 2) return;
    const bpf::MapDef& d = obj.maps[i];
    if (state[i] == 1)
      throw std::runtime_error(fmt::format("{}: map '{}' is its own inner map", path, d.name));
    state[i] = 1;
    int inner_fd = -1;
    if (d.inner_map >= 0) {
      if (size_t(d.inner_map) >= nmaps)
        throw std::runtime_error(
            fmt::format("{}: map '{}': inner map {} does not exist", path, d.name, d.inner_map));
      create(size_t(d.inner_map));
      inner_fd = k.maps_[size_t(d.inner_map)].fd;
    }
    uint32_t max_entries = d.max_entries;
    if (d.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && max_entries == 0)
      max_entries = uint32_t(possible_cpus());  // as libbpf sizes it
    LIBBPF_OPTS(bpf_map_create_opts, opts, .inner_map_fd = uint32_t(std::max(inner_fd, 0)),
                .map_flags = d.flags, .map_extra = d.extra);
    int fd = bpf_map_create(bpf_map_type(d.type), kernel_name(d.name).c_str(), d.key_size,
                            d.value_size, max_entries, &opts);
    if (fd < 0)
      throw std::runtime_error(
          fmt::format("{}: cannot create map '{}': {}", path, d.name, errno_text(errno)));
    k.maps_[i] = Map{info_of(d.name, d.type, d.key_size, d.value_size, max_entries, d.flags), fd};
    if (d.global_data && !d.initial.empty()) {
      std::vector<uint8_t> v(d.initial);
      v.resize(d.value_size);
      uint32_t zero = 0;
      if (bpf_map_update_elem(fd, &zero, v.data(), BPF_ANY) != 0)
        throw std::runtime_error(fmt::format("{}: map '{}': cannot set its initial value: {}", path,
                                             d.name, errno_text(errno)));
    }
    // libbpf freezes .rodata: the host cannot change it after the load.
    if (d.global_data && (d.flags & BPF_F_RDONLY_PROG) && bpf_map_freeze(fd) != 0)
      throw std::runtime_error(
          fmt::format("{}: map '{}': cannot freeze it: {}", path, d.name, errno_text(errno)));
    state[i] = 2;
  };
  for (size_t i = 0; i < nmaps; ++i) create(i);

  const std::string license = obj.license.empty() ? "GPL" : obj.license;
  for (const bpf::Program& p : obj.programs) {
    std::vector<bpf::Insn> insns = p.insns;
    for (size_t i = 0; i < insns.size(); ++i) {
      bpf::Insn& in = insns[i];
      if (!in.is_lddw()) continue;
      if (in.src == BPF_PSEUDO_MAP_FD || in.src == BPF_PSEUDO_MAP_VALUE) {
        if (in.imm < 0 || size_t(in.imm) >= nmaps)
          throw std::runtime_error(fmt::format("{}: program '{}' insn {}: no map with index {}",
                                               path, p.name, i, in.imm));
        in.imm = k.maps_[size_t(in.imm)].fd;
      }
      ++i;  // the second slot carries the value's offset or the upper half
    }
    const uint32_t type = p.type ? p.type : uint32_t(BPF_PROG_TYPE_XDP);
    const uint32_t flags = p.section.rfind("xdp.frags", 0) == 0 ? uint32_t(BPF_F_XDP_HAS_FRAGS) : 0;
    const std::string name = kernel_name(p.name);
    auto load_prog = [&](char* log, size_t log_size) {
      LIBBPF_OPTS(bpf_prog_load_opts, lo, .prog_flags = flags, .log_level = log ? 1u : 0u,
                  .log_size = uint32_t(log_size), .log_buf = log);
      return bpf_prog_load(bpf_prog_type(type), name.c_str(), license.c_str(),
                           reinterpret_cast<const bpf_insn*>(insns.data()), insns.size(), &lo);
    };
    // Without a log first (fast); on refusal, again with one for the reason.
    int fd = load_prog(nullptr, 0);
    if (fd < 0) {
      int first = errno;
      std::vector<char> log(4 << 20, '\0');
      Fd again(load_prog(log.data(), log.size()));
      Reason why = verifier_reason(std::string(log.data()));
      if (why.text.empty()) why.text = errno_text(first);
      throw VerifierError(
          fmt::format("{}: kernel verifier rejected program {}: {}", path, p.name, with_insn(why)),
          p.name, why.text, why.insn);
    }
    k.progs_.push_back(Prog{p.name, p.section, type, fd});
  }
  return k;
}

void KernelObject::release() {
  if (obj_) {
    bpf_object__close(obj_);  // closes its maps and programs
  } else {
    for (const Map& m : maps_)
      if (m.fd >= 0) close(m.fd);
    for (const Prog& p : progs_)
      if (p.fd >= 0) close(p.fd);
  }
  obj_ = nullptr;
  maps_.clear();
  progs_.clear();
}

KernelObject::KernelObject(KernelObject&& other) noexcept
    : obj_(other.obj_),
      maps_(std::move(other.maps_)),
      progs_(std::move(other.progs_)),
      path_(std::move(other.path_)) {
  other.obj_ = nullptr;
  other.maps_.clear();
  other.progs_.clear();
}

KernelObject& KernelObject::operator=(KernelObject&& other) noexcept {
  if (this != &other) {
    release();
    obj_ = other.obj_;
    maps_ = std::move(other.maps_);
    progs_ = std::move(other.progs_);
    path_ = std::move(other.path_);
    other.obj_ = nullptr;
    other.maps_.clear();
    other.progs_.clear();
  }
  return *this;
}

KernelObject::~KernelObject() {
  release();
}

const KernelObject::Prog& KernelObject::find_prog(const std::string& name) const {
  std::string all;
  for (const Prog& p : progs_) {
    if (name.empty() || name == p.name || name == p.section) return p;
    all += (all.empty() ? "" : ", ") + p.name;
  }
  if (name.empty()) throw std::runtime_error(path_ + ": the object has no programs");
  throw std::runtime_error(fmt::format("{}: no program '{}' (programs: {})", path_, name, all));
}

int KernelObject::prog_fd(const std::string& name) const {
  const Prog& p = find_prog(name);
  if (p.fd < 0)
    throw std::runtime_error(fmt::format("{}: program '{}' is not loaded", path_, p.name));
  return p.fd;
}

std::vector<std::string> KernelObject::prog_names() const {
  std::vector<std::string> out;
  for (const Prog& p : progs_) out.push_back(p.name);
  return out;
}

const KernelObject::Map* KernelObject::map_or_null(const std::string& name) const {
  for (const Map& m : maps_)
    if (m.info.name == name) return &m;
  // libbpf also finds an internal map by its section name (".bss" for "count.bss").
  if (obj_) {
    if (bpf_map* bm = bpf_object__find_map_by_name(obj_, name.c_str()))
      for (const Map& m : maps_)
        if (m.info.name == bpf_map__name(bm)) return &m;
  }
  return nullptr;
}

const KernelObject::Map& KernelObject::find_map(const std::string& name) const {
  if (const Map* m = map_or_null(name)) return *m;
  std::string all;
  for (const std::string& n : map_names()) all += (all.empty() ? "" : ", ") + n;
  throw std::runtime_error(
      fmt::format("{}: no map '{}' (maps: {})", path_, name, all.empty() ? "none" : all));
}

std::vector<std::string> KernelObject::map_names() const {
  std::vector<std::string> out;
  for (const Map& m : maps_) out.push_back(m.info.name);
  return out;
}

MapInfo KernelObject::map_info(const std::string& map) const {
  return find_map(map).info;
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
  if (bpf_map_update_elem(find_map(map).fd, key.data(), v.data(), flags) != 0)
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
  if (bpf_map_lookup_elem(find_map(map).fd, key.data(), v.data()) != 0) {
    if (errno == ENOENT) return std::nullopt;
    throw std::runtime_error(
        fmt::format("{}: map '{}': lookup failed: {}", path_, map, errno_text(errno)));
  }
  v.resize(info.sys_value_size);
  return v;
}

Entries KernelObject::map_dump(const std::string& map) const {
  MapInfo info = map_info(map);
  int fd = find_map(map).fd;
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
    if (!map_or_null(name))
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
  for (const Prog& p : progs_) {
    bpf_prog_info pi = {};
    uint32_t len = sizeof pi;
    if (p.fd >= 0 && bpf_obj_get_info_by_fd(p.fd, &pi, &len) == 0) prog_by_id[pi.id] = p.name;
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
  const Prog& p = find_prog(prog);
  if (p.type != BPF_PROG_TYPE_XDP)
    throw std::runtime_error(fmt::format("{}: program '{}' is not an XDP program (type {})", path_,
                                         p.name, int(p.type)));
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

ConformanceResult run_conformance(const std::vector<Insn>& prog, const std::vector<uint8_t>& mem) {
  ConformanceResult res;
  bpf::Object obj;
  bpf::ConformanceLayout at;
  try {
    obj = bpf::wrap_conformance(prog, mem, &at);
  } catch (const std::exception& e) {
    res.error = fmt::format("cannot wrap the program: {}", e.what());
    return res;
  }
  std::optional<KernelObject> k;
  try {
    k.emplace(KernelObject::load(obj));
  } catch (const VerifierError& e) {
    // Name the instruction as the caller numbers it, not as the wrapper does.
    std::string text = e.reason();
    if (e.insn() >= 0) {
      const std::vector<size_t>& idx = at.new_index;
      auto it = std::find(idx.begin(), idx.end() - 1, size_t(e.insn()));
      if (it != idx.end() - 1)
        text += fmt::format(" (at insn {})", it - idx.begin());
      else if (size_t(e.insn()) == at.epilogue)
        text += " (at an exit of the main function)";  // the epilogue's first act reads r0
      else
        text += " (in the test wrapper's own code)";
    }
    res.error = "kernel rejected: " + text;
    return res;
  } catch (const std::exception& e) {
    res.error = e.what();
    return res;
  }
  // XDP wants at least an Ethernet header of data.
  XdpResult r = k->run_xdp(bpf::kConformanceProgram, std::vector<uint8_t>(64, 0));
  if (r.err != 0) {
    res.error = fmt::format("BPF_PROG_TEST_RUN failed: {}", errno_text(r.err));
    return res;
  }
  if (r.verdict != 0) {
    res.error = fmt::format("the wrapper could not reach its {} map",
                            r.verdict == bpf::kConformanceNoMem ? "memory" : "result");
    return res;
  }
  std::optional<std::vector<uint8_t>> v;
  try {
    v = k->map_lookup(bpf::kConformanceResultMap, {0, 0, 0, 0});
  } catch (const std::exception& e) {
    res.error = fmt::format("cannot read the result map: {}", e.what());
    return res;
  }
  if (!v || v->size() != 8) {
    res.error = "cannot read the result map: no element 0";
    return res;
  }
  std::memcpy(&res.r0, v->data(), 8);
  res.ok = true;
  return res;
}

}  // namespace kern
