#include "driver/kernel_mirror.h"

#include "sim/kernel/oracle.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
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

namespace npu::driver {
namespace {

constexpr const char* kBpffsRoot = "/sys/fs/bpf";

std::string errno_text(int e) {
  return std::strerror(e < 0 ? -e : e);
}

// Closes a descriptor we opened ourselves on scope exit.
class OwnedFd {
 public:
  explicit OwnedFd(int fd = -1) : fd_(fd) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

bool on_bpffs(const std::string& path) {
  struct statfs sf = {};
  return statfs(path.c_str(), &sf) == 0 && sf.f_type == BPF_FS_MAGIC;
}

bool has_cap_sys_admin() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("CapEff:", 0) != 0) continue;
    unsigned long long caps = std::strtoull(line.c_str() + 7, nullptr, 16);
    return (caps >> 21) & 1;  // CAP_SYS_ADMIN
  }
  return geteuid() == 0;
}

// --------------------------------------------------------------- libbpf's messages

// libbpf's print hook is process-wide: one load at a time collects its warnings.
std::mutex g_print_mu;
std::string* g_print_sink = nullptr;

int collect_print(enum libbpf_print_level level, const char* format, va_list ap) {
  if (level == LIBBPF_DEBUG || !g_print_sink) return 0;
  char buf[4096];
  int n = std::vsnprintf(buf, sizeof buf, format, ap);
  g_print_sink->append(buf);
  return n;
}

class CapturePrint {
 public:
  explicit CapturePrint(std::string* sink) : lock_(g_print_mu) {
    g_print_sink = sink;
    old_ = libbpf_set_print(collect_print);
  }
  ~CapturePrint() {
    libbpf_set_print(old_);
    g_print_sink = nullptr;
  }

 private:
  std::lock_guard<std::mutex> lock_;
  libbpf_print_fn_t old_ = nullptr;
};

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
    size_t first = line.find_first_not_of(" \t");
    if (first != std::string::npos) out.push_back(line.substr(first));
  }
  return out;
}

bool begins(const std::string& s, const char* prefix) {
  return s.rfind(prefix, 0) == 0;
}

// The verifier's statistics after its verdict.
bool is_verifier_summary(const std::string& l) {
  return begins(l, "processed ") || begins(l, "verification time") || begins(l, "stack depth") ||
         begins(l, "max_states_per_insn") || begins(l, "-- END PROG LOAD LOG --") ||
         begins(l, "-- BEGIN PROG LOAD LOG --");
}

// The last line of the verifier's log that says something.
std::string verifier_last_line(const std::string& log) {
  std::vector<std::string> ls = split_lines(log);
  for (size_t i = ls.size(); i-- > 0;) {
    if (is_verifier_summary(ls[i])) continue;
    std::string l = ls[i];
    // A message without its newline runs into the statistics: cut them off.
    size_t at = l.find(" processed ");
    if (at != std::string::npos && at > 0) l.erase(l.find_last_not_of(' ', at) + 1);
    return l;
  }
  return "";
}

// libbpf's last warning that is not the closing "failed to load object".
std::string libbpf_last_line(const std::string& msgs) {
  std::vector<std::string> ls = split_lines(msgs);
  for (size_t i = ls.size(); i-- > 0;) {
    std::string l = ls[i];
    if (begins(l, "libbpf: ")) l.erase(0, 8);
    if (begins(l, "failed to load object") || is_verifier_summary(l) || l.empty()) continue;
    return l;
  }
  return "";
}

// ------------------------------------------------------------------ map facts

// "map_type:" and "frozen:" of /proc/self/fdinfo/<fd>; is_map false for a
// descriptor that is not a map (a pinned program or link).
struct FdInfo {
  bool is_map = false;
  bool frozen = false;
};

FdInfo fd_info(int fd) {
  FdInfo out;
  std::ifstream in(fmt::format("/proc/self/fdinfo/{}", fd));
  std::string line;
  while (std::getline(in, line)) {
    if (begins(line, "map_type:")) out.is_map = true;
    if (begins(line, "frozen:")) out.frozen = std::atoi(line.c_str() + 7) != 0;
  }
  return out;
}

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

bool is_array(uint32_t type) {
  return type == BPF_MAP_TYPE_ARRAY || type == BPF_MAP_TYPE_PERCPU_ARRAY;
}

// Maps whose keys and values are plain bytes the card can hold as well.
bool is_mirrorable(uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_HASH:
    case BPF_MAP_TYPE_ARRAY:
    case BPF_MAP_TYPE_PERCPU_HASH:
    case BPF_MAP_TYPE_PERCPU_ARRAY:
    case BPF_MAP_TYPE_LRU_HASH:
    case BPF_MAP_TYPE_LRU_PERCPU_HASH:
    case BPF_MAP_TYPE_LPM_TRIE:
      return true;
    default:
      return false;
  }
}

// The kernel marks these read-only for programs itself and reports the flag.
bool kernel_adds_rdonly_prog(uint32_t type) {
  return type == BPF_MAP_TYPE_DEVMAP || type == BPF_MAP_TYPE_DEVMAP_HASH ||
         type == BPF_MAP_TYPE_CPUMAP;
}

size_t round8(size_t n) {
  return (n + 7) / 8 * 8;
}

size_t sys_value_size(uint32_t type, uint32_t value_size) {
  return is_percpu(type) ? round8(value_size) * size_t(kern::possible_cpus()) : value_size;
}

bool all_zero(const std::vector<uint8_t>& v) {
  return std::all_of(v.begin(), v.end(), [](uint8_t b) { return b == 0; });
}

std::string hex(const std::vector<uint8_t>& b) {
  std::string out;
  for (uint8_t c : b) out += fmt::format("{:02x}", c);
  return out;
}

bool get_map_info(int fd, bpf_map_info& info) {
  std::memset(&info, 0, sizeof info);
  uint32_t len = sizeof info;
  return bpf_obj_get_info_by_fd(fd, &info, &len) == 0;
}

// The pin at `path` holds a map the object's map `m` can take over. Frozen
// global data (.rodata) must also hold the new object's contents, since the
// verifier treats them as constants; .kconfig is filled in at load time, so
// it is never taken over.
bool reusable(int pin_fd, bpf_map* m, const std::string& name) {
  FdInfo fi = fd_info(pin_fd);
  bpf_map_info info;
  if (!fi.is_map || !get_map_info(pin_fd, info)) return false;
  uint32_t type = bpf_map__type(m), flags = bpf_map__map_flags(m);
  uint32_t max_entries = bpf_map__max_entries(m);
  if (type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && max_entries == 0)
    max_entries = uint32_t(kern::possible_cpus());  // as libbpf creates it
  bool flags_match = info.map_flags == flags || (kernel_adds_rdonly_prog(type) &&
                                                 info.map_flags == (flags | BPF_F_RDONLY_PROG));
  if (info.type != type || info.key_size != bpf_map__key_size(m) ||
      info.value_size != bpf_map__value_size(m) || info.max_entries != max_entries ||
      !flags_match || info.map_extra != bpf_map__map_extra(m))
    return false;
  if (!bpf_map__is_internal(m)) return true;
  const std::string kconfig = ".kconfig";
  if (name.size() >= kconfig.size() &&
      name.compare(name.size() - kconfig.size(), kconfig.size(), kconfig) == 0)
    return false;
  if (!fi.frozen && !(flags & BPF_F_RDONLY_PROG)) return true;  // .data, .bss
  size_t size = 0;
  const void* initial = bpf_map__initial_value(m, &size);
  std::vector<uint8_t> want(info.value_size, 0), have(info.value_size + 8, 0);
  if (initial) std::memcpy(want.data(), initial, std::min<size_t>(size, want.size()));
  uint32_t zero = 0;
  if (bpf_map_lookup_elem(pin_fd, &zero, have.data()) != 0) return false;
  have.resize(info.value_size);
  return have == want;
}

std::string object_name(const std::string& file) {
  std::string base = file.substr(file.find_last_of('/') + 1);
  base = base.substr(0, base.find('.'));
  return base.empty() ? "obj" : base;
}

struct ObjectCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};

KernelProgInfo prog_info(int fd, const std::string& name) {
  KernelProgInfo out;
  out.fd = fd;
  out.name = name;
  bpf_prog_info info = {};
  uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
    throw std::runtime_error(fmt::format("program '{}': cannot read its info from the kernel: {}",
                                         name, errno_text(errno)));
  std::vector<uint32_t> ids(info.nr_map_ids);
  if (!ids.empty()) {
    bpf_prog_info again = {};
    again.nr_map_ids = uint32_t(ids.size());
    again.map_ids = reinterpret_cast<uint64_t>(ids.data());
    len = sizeof again;
    if (bpf_obj_get_info_by_fd(fd, &again, &len) != 0)
      throw std::runtime_error(
          fmt::format("program '{}': cannot read its map ids: {}", name, errno_text(errno)));
    ids.resize(std::min<size_t>(ids.size(), again.nr_map_ids));
  }
  out.id = info.id;
  out.kernel_name = info.name;
  for (uint8_t b : info.tag) out.tag += fmt::format("{:02x}", b);
  out.type = info.type;
  out.gpl = info.gpl_compatible;
  out.xlated = info.xlated_prog_len;
  out.jited = info.jited_prog_len;
  // load_time counts from boot (CLOCK_BOOTTIME); bpftool converts it the same way.
  timespec real = {}, boot = {};
  clock_gettime(CLOCK_REALTIME, &real);
  clock_gettime(CLOCK_BOOTTIME, &boot);
  int64_t ns = (int64_t(real.tv_sec) - int64_t(boot.tv_sec)) * 1000000000 +
               (int64_t(real.tv_nsec) - int64_t(boot.tv_nsec)) + int64_t(info.load_time);
  out.loaded_at = ns / 1000000000;
  out.uid = info.created_by_uid;
  out.map_ids = std::move(ids);
  out.btf_id = info.btf_id;
  return out;
}

}  // namespace

// ------------------------------------------------------------------ the host

std::string kernel_unavailable_reason() {
  static const std::string reason = []() -> std::string {
    std::string bpf = kern::bpf_unavailable_reason();
    if (!bpf.empty()) return bpf;
    if (on_bpffs(kBpffsRoot) || has_cap_sys_admin()) return "";
    return fmt::format("no bpf filesystem at {}, and mounting one needs CAP_SYS_ADMIN", kBpffsRoot);
  }();
  return reason;
}

void ensure_bpffs_dir(const std::string& dir, gid_t group) {
  if (dir.empty() || dir[0] != '/')
    throw std::runtime_error(fmt::format("'{}': a pin directory must be an absolute path", dir));
  const std::string root = kBpffsRoot;
  bool below_root = dir == root || begins(dir, (root + "/").c_str());
  if (below_root && !on_bpffs(root)) {
    if (mkdir(root.c_str(), 0700) != 0 && errno != EEXIST)
      throw std::runtime_error(fmt::format("{}: cannot create: {}", root, errno_text(errno)));
    if (mount("bpf", root.c_str(), "bpf", 0, "mode=0700") != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot mount a bpf filesystem: {}", root, errno_text(errno)));
  }
  const mode_t mode = group ? 0750 : 0700;
  auto set_mode = [&](const std::string& path) {
    if (chmod(path.c_str(), mode) != 0)
      throw std::runtime_error(fmt::format("{}: cannot chmod: {}", path, errno_text(errno)));
    if (chown(path.c_str(), uid_t(-1), group) != 0)
      throw std::runtime_error(
          fmt::format("{}: cannot give it group {}: {}", path, group, errno_text(errno)));
  };
  // Every component from the root down; those we create get the mode.
  for (size_t at = 1; at <= dir.size(); ++at) {
    if (at < dir.size() && dir[at] != '/') continue;
    std::string path = dir.substr(0, at);
    if (path.back() == '/') continue;  // "//"
    if (mkdir(path.c_str(), mode) == 0) {
      set_mode(path);
      continue;
    }
    int e = errno;
    struct stat st = {};
    if (e != EEXIST || stat(path.c_str(), &st) != 0)
      throw std::runtime_error(fmt::format("{}: cannot create directory: {}", path, errno_text(e)));
    if (!S_ISDIR(st.st_mode))
      throw std::runtime_error(fmt::format("{}: {}", path, errno_text(ENOTDIR)));
  }
  std::string leaf = dir;
  while (leaf.size() > 1 && leaf.back() == '/') leaf.pop_back();
  set_mode(leaf);
  if (!on_bpffs(leaf))
    throw std::runtime_error(
        fmt::format("{}: not on a bpf filesystem (pins need bpffs): {}", leaf, errno_text(EXDEV)));
}

// --------------------------------------------------------------------- loading

std::string KernelMirror::pin_name(const std::string& map) {
  // bpffs refuses '.' in names (EPERM: reserved for its own files).
  std::string out = !map.empty() && map[0] == '.' ? map.substr(1) : map;
  std::replace(out.begin(), out.end(), '.', '-');
  return out;
}

std::unique_ptr<KernelMirror> KernelMirror::load(const std::vector<uint8_t>& obj,
                                                 const std::string& name, const std::string& prog,
                                                 const std::string& pin_dir) {
  struct stat st = {};
  if (stat(pin_dir.c_str(), &st) != 0) {
    ensure_bpffs_dir(pin_dir);
  } else if (!S_ISDIR(st.st_mode)) {
    throw std::runtime_error(fmt::format("{}: {}", pin_dir, errno_text(ENOTDIR)));
  } else if (!on_bpffs(pin_dir)) {
    throw std::runtime_error(fmt::format("{}: not on a bpf filesystem (pins need bpffs)", pin_dir));
  }

  std::string libbpf_msgs;
  CapturePrint capture(&libbpf_msgs);
  auto fail = [&](int err, const std::string& what, std::string log = "") {
    std::string why = libbpf_last_line(libbpf_msgs);
    return KernelLoadError(
        fmt::format("{}: {}: {}{}", name, what, errno_text(err), why.empty() ? "" : ": " + why),
        err < 0 ? err : -err, std::move(log), libbpf_msgs);
  };

  const std::string objname = object_name(name);
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = objname.c_str());
  bpf_object* raw = bpf_object__open_mem(obj.data(), obj.size(), &opts);
  if (long err = libbpf_get_error(raw)) throw fail(int(err), "cannot open the BPF object");
  std::unique_ptr<bpf_object, ObjectCloser> o(raw);

  // The program: only it is loaded, as XDP.
  bpf_program* chosen = nullptr;
  std::string all;
  bpf_program* p;
  bpf_object__for_each_program(p, o.get()) {
    if (!chosen &&
        (prog.empty() || prog == bpf_program__name(p) || prog == bpf_program__section_name(p)))
      chosen = p;
    all += (all.empty() ? "" : ", ") + std::string(bpf_program__name(p));
  }
  if (!chosen) {
    std::string what = all.empty()
                           ? fmt::format("{}: the object has no programs", name)
                           : fmt::format("{}: no program '{}' (programs: {})", name, prog, all);
    throw KernelLoadError(what, -ENOENT, "", libbpf_msgs);
  }
  const std::string fn = bpf_program__name(chosen);
  bpf_object__for_each_program(p, o.get()) bpf_program__set_autoload(p, p == chosen);
  if (bpf_program__type(chosen) != BPF_PROG_TYPE_XDP)
    bpf_program__set_type(chosen, BPF_PROG_TYPE_XDP);
  // libbpf loads without a log first and asks for one only after a refusal.
  std::vector<char> log(4 << 20, '\0');
  bpf_program__set_log_buf(chosen, log.data(), log.size());

  // The maps: a pin of the same shape is taken over before the load; others
  // are replaced after it, so a refused program changes no pin.
  std::unique_ptr<KernelMirror> km(new KernelMirror);
  km->name_ = name;
  km->pin_dir_ = pin_dir;
  while (km->pin_dir_.size() > 1 && km->pin_dir_.back() == '/') km->pin_dir_.pop_back();
  struct Pending {
    bpf_map* map;
    MirrorMap mm;
  };
  std::vector<Pending> pending;
  bpf_map* m;
  bpf_object__for_each_map(m, o.get()) {
    Pending pm{m, {}};
    pm.mm.name = bpf_map__name(m);  // before reuse_fd, which may rename it after the pin
    pm.mm.pin_path = km->pin_dir_ + "/" + pin_name(pm.mm.name);
    OwnedFd pin(bpf_obj_get(pm.mm.pin_path.c_str()));
    if (pin.get() >= 0 && reusable(pin.get(), m, pm.mm.name)) {
      if (int err = bpf_map__reuse_fd(m, pin.get()))
        throw fail(err, fmt::format("cannot reuse the map pinned at {}", pm.mm.pin_path));
      pm.mm.reused = true;
    }
    pending.push_back(std::move(pm));
  }

  if (int err = bpf_object__load(o.get())) {
    std::string vlog(log.data(), strnlen(log.data(), log.size()));
    std::string reason = verifier_last_line(vlog);
    bool prog_refused =
        !vlog.empty() ||
        libbpf_msgs.find("prog '" + fn + "': BPF program load failed") != std::string::npos ||
        libbpf_msgs.find("prog '" + fn + "': failed to load") != std::string::npos;
    if (!prog_refused) throw fail(err, "cannot load into the kernel", vlog);
    if (reason.empty()) reason = libbpf_last_line(libbpf_msgs);
    throw KernelLoadError(fmt::format("{}: the kernel refused program '{}': {}{}", name, fn,
                                      errno_text(err), reason.empty() ? "" : ": " + reason),
                          err, vlog, libbpf_msgs);
  }
  bpf_program__set_log_buf(chosen, nullptr, 0);  // the buffer dies with this call
  km->prog_ = prog_info(bpf_program__fd(chosen), fn);

  for (Pending& pm : pending) {
    MirrorMap& mm = pm.mm;
    mm.fd = bpf_map__fd(pm.map);
    if (mm.fd < 0) continue;  // not created (autocreate off)
    bpf_map_info info;
    if (!get_map_info(mm.fd, info))
      throw std::runtime_error(fmt::format("{}: map '{}': cannot read its info from the kernel: {}",
                                           name, mm.name, errno_text(errno)));
    mm.id = info.id;
    mm.type = info.type;
    mm.key_size = info.key_size;
    mm.value_size = info.value_size;
    mm.max_entries = info.max_entries;
    mm.flags = info.map_flags;
    mm.sys_value_size = sys_value_size(info.type, info.value_size);
    mm.synced = is_mirrorable(info.type) && !fd_info(mm.fd).frozen;
    if (!mm.reused) {
      struct stat old = {};
      if (lstat(mm.pin_path.c_str(), &old) == 0 && unlink(mm.pin_path.c_str()) != 0)
        throw std::runtime_error(
            fmt::format("{}: cannot remove the old pin: {}", mm.pin_path, errno_text(errno)));
      if (bpf_obj_pin(mm.fd, mm.pin_path.c_str()) != 0)
        throw std::runtime_error(
            fmt::format("{}: cannot pin map '{}': {}", mm.pin_path, mm.name, errno_text(errno)));
    }
    km->maps_.push_back(std::move(mm));
  }
  km->obj_ = o.release();
  return km;
}

KernelMirror::~KernelMirror() {
  if (obj_) bpf_object__close(obj_);  // closes the program's and the maps' fds
}

const MirrorMap* KernelMirror::find(const std::string& name) const {
  for (const MirrorMap& m : maps_)
    if (m.name == name) return &m;
  for (const MirrorMap& m : maps_)
    if (pin_name(m.name) == name) return &m;
  // libbpf finds a global data map by its section name too.
  if (obj_ && !name.empty() && name[0] == '.') {
    if (const bpf_map* bm = bpf_object__find_map_by_name(obj_, name.c_str()))
      for (const MirrorMap& m : maps_)
        if (m.fd == bpf_map__fd(bm)) return &m;
  }
  return nullptr;
}

// ---------------------------------------------------------------------- pins

void KernelMirror::prune(const std::string& pin_dir, const std::vector<std::string>& keep) {
  DIR* d = opendir(pin_dir.c_str());
  if (!d) {
    if (errno == ENOENT) return;
    throw std::runtime_error(fmt::format("{}: cannot list: {}", pin_dir, errno_text(errno)));
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  for (const std::string& n : names) {
    if (n == "." || n == "..") continue;
    bool kept = std::any_of(keep.begin(), keep.end(),
                            [&](const std::string& k) { return k == n || pin_name(k) == n; });
    std::string path = pin_dir + "/" + n;
    struct stat st = {};
    if (kept || lstat(path.c_str(), &st) != 0 || S_ISDIR(st.st_mode)) continue;
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error(fmt::format("{}: cannot unpin: {}", path, errno_text(errno)));
  }
}

void KernelMirror::unpin_all() {
  for (const MirrorMap& m : maps_) {
    OwnedFd pin(bpf_obj_get(m.pin_path.c_str()));
    bpf_map_info info;
    // A later load may have replaced the pin: that one is not ours.
    if (pin.get() < 0 || !fd_info(pin.get()).is_map || !get_map_info(pin.get(), info) ||
        info.id != m.id)
      continue;
    if (unlink(m.pin_path.c_str()) != 0 && errno != ENOENT)
      throw std::runtime_error(fmt::format("{}: cannot unpin: {}", m.pin_path, errno_text(errno)));
  }
  if (rmdir(pin_dir_.c_str()) != 0 && errno != ENOTEMPTY && errno != EEXIST && errno != ENOENT)
    throw std::runtime_error(fmt::format("{}: cannot remove: {}", pin_dir_, errno_text(errno)));
}

// ---------------------------------------------------------------------- contents

Entries KernelMirror::read(const MirrorMap& m) const {
  Entries out;
  std::vector<uint8_t> key(std::max<uint32_t>(m.key_size, 1)), next(key.size());
  std::vector<uint8_t> value(std::max<size_t>(m.sys_value_size, 8) + 8);
  // A hash map restarts from its first key when ours has gone meanwhile: the
  // bound keeps a map that changes under us from looping for ever.
  const size_t limit = size_t(m.max_entries) + 1;
  const void* prev = nullptr;
  while (out.size() < limit) {
    if (bpf_map_get_next_key(m.fd, prev, next.data()) != 0) {
      if (errno == ENOENT) break;
      throw std::runtime_error(
          fmt::format("{}: map '{}': get_next_key: {}", name_, m.name, errno_text(errno)));
    }
    key = next;
    prev = key.data();
    if (bpf_map_lookup_elem(m.fd, key.data(), value.data()) != 0) {
      if (errno == ENOENT || !m.synced) continue;  // gone, or an empty prog array slot
      throw std::runtime_error(fmt::format("{}: map '{}': lookup of key {}: {}", name_, m.name,
                                           hex(key), errno_text(errno)));
    }
    out.emplace_back(std::vector<uint8_t>(key.begin(), key.begin() + m.key_size),
                     std::vector<uint8_t>(value.begin(), value.begin() + m.sys_value_size));
  }
  return out;
}

size_t KernelMirror::sync(const MirrorMap& m, const Entries& entries, const Entries* base) {
  const std::string where = fmt::format("{}: map '{}'", name_, m.name);
  if (!m.synced)
    throw std::runtime_error(fmt::format("{}: not mirrored (type {}{})", where, m.type,
                                         is_mirrorable(m.type) ? ", frozen" : ""));
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> want;
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& [k, v] = entries[i];
    if (k.size() != m.key_size)
      throw std::runtime_error(fmt::format("{}: entry {}: key has {} bytes, the map's key is {}",
                                           where, i, k.size(), m.key_size));
    if (v.size() != m.sys_value_size)
      throw std::runtime_error(fmt::format("{}: entry {}: value has {} bytes, expected {}{}", where,
                                           i, v.size(), m.sys_value_size,
                                           is_percpu(m.type) ? " (every possible CPU's value, "
                                                               "each padded to 8 bytes)"
                                                             : ""));
    want[k] = v;
  }
  std::map<std::vector<uint8_t>, std::vector<uint8_t>> have, before;
  for (auto& [k, v] : read(m)) have[k] = std::move(v);
  if (base)
    for (const auto& [k, v] : *base) before[k] = v;
  // An element that differs from base was written by someone else since
  // base was read: it is left for the caller to see next time.
  // The element is looked up again right before it is written, so the
  // window for a write from outside is that of one element, not the sync's.
  std::vector<uint8_t> now_value(m.sys_value_size);
  // (Not for LPM tries, whose lookup is a longest-prefix match, not exact:
  // their elements are compared with the first read.)
  const bool exact_lookup = m.type != BPF_MAP_TYPE_LPM_TRIE;
  auto untouched = [&](const std::vector<uint8_t>& k) {
    if (!base) return true;
    auto b = before.find(k);
    bool present;
    if (exact_lookup) {
      present = bpf_map_lookup_elem(m.fd, k.data(), now_value.data()) == 0;
    } else {
      auto h = have.find(k);
      present = h != have.end();
      if (present) now_value = h->second;
    }
    if ((b == before.end()) == present) return false;
    return b == before.end() || b->second == now_value;
  };

  size_t changed = 0;
  auto update = [&](const std::vector<uint8_t>& k, const std::vector<uint8_t>& v) {
    if (bpf_map_update_elem(m.fd, k.data(), v.data(), BPF_ANY) != 0)
      throw std::runtime_error(
          fmt::format("{}: update of key {}: {}", where, hex(k), errno_text(errno)));
    ++changed;
  };
  // Deletions first, so that a full hash map has room for the new keys.
  const std::vector<uint8_t> zero(m.sys_value_size, 0);
  for (const auto& [k, v] : have) {
    if (want.count(k) || !untouched(k)) continue;
    if (is_array(m.type)) {
      if (!all_zero(v)) update(k, zero);
    } else if (bpf_map_delete_elem(m.fd, k.data()) == 0) {
      ++changed;
    } else if (errno != ENOENT) {
      throw std::runtime_error(
          fmt::format("{}: delete of key {}: {}", where, hex(k), errno_text(errno)));
    }
  }
  for (const auto& [k, v] : want) {
    auto it = have.find(k);
    if (!untouched(k)) continue;
    if (it == have.end() || it->second != v) update(k, v);
  }
  return changed;
}

}  // namespace npu::driver
