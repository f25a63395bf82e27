// The kernel's copy of an offloaded program (docs/device.md, the host shim):
// the BPF object the card runs is also loaded into the running kernel, which
// verifies it and gives it a program id and tag that `bpftool prog show`
// lists; the program is never attached. The object's maps, created by the
// kernel, are pinned under bpffs (pin_dir/<map>) and become mirrors of the
// card's maps: the shim writes the card's contents into them with sync(), so
// `bpftool map dump pinned <pin_dir>/<map>` shows what the card holds.
//
// Maps keep libbpf's names (bpf_map__name()), which are the names the
// compiler gives the card's maps: user maps keep their C names, global data
// maps are "<object>.<section>" ("firewall.bss", the object being the file
// name up to its first '.', the whole cut to 15 characters as the kernel
// takes it), a custom data section has no prefix (".data.counters"). bpffs
// refuses '.' in file names (EPERM), so a pin's name is the map's with a
// leading '.' dropped and every other '.' turned into '-' ("firewall-bss",
// "data-counters"); '-' is in no libbpf map name, so the names cannot clash
// with user maps. pin_name() gives it.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;

namespace npu::driver {

// Keys and values as bpf() moves them (the same alias as in driver/device.h).
using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

// One line saying why the kernel cannot be used here, "" when it can: bpf()
// refused (kern::bpf_unavailable_reason()), or no bpffs at /sys/fs/bpf and no
// CAP_SYS_ADMIN to mount one. Probed once per process.
std::string kernel_unavailable_reason();

// Mounts bpffs at /sys/fs/bpf if dir lies below it and it is not one already;
// creates dir and its missing parents with mode 0700, or 0750 and owner group
// `group` when group is not 0 (dir itself gets that mode and group even if it
// existed; existing parents are left alone, so /sys/fs/bpf, usually 0700, must
// let the group through for it to see anything). Throws std::runtime_error,
// one line naming the path and the errno text; also when dir is not on a bpf
// filesystem.
void ensure_bpffs_dir(const std::string& dir, gid_t group = 0);

// A load the kernel (or libbpf before it) refused.
struct KernelLoadError : std::runtime_error {
  KernelLoadError(const std::string& what, int err, std::string log, std::string libbpf)
      : std::runtime_error(what), err(err), log(std::move(log)), libbpf(std::move(libbpf)) {}
  int err;             // -errno
  std::string log;     // the verifier's log ("" when the refusal came before the verifier)
  std::string libbpf;  // libbpf's own warnings during the open and load
};

struct KernelProgInfo {
  int fd = -1;
  uint32_t id = 0;
  std::string name;                // the function name (the kernel keeps its first 15 characters)
  std::string kernel_name;         // as the kernel (and bpftool) shows it
  std::string tag;                 // 16 hex digits, as bpftool prints it
  uint32_t type = 0;               // enum bpf_prog_type: always BPF_PROG_TYPE_XDP here
  bool gpl = false;                // gpl_compatible
  uint32_t xlated = 0, jited = 0;  // bytes of translated and JITed code
  int64_t loaded_at = 0;           // unix seconds (bpf_prog_info.load_time is ns since boot)
  uint32_t uid = 0;                // created_by_uid
  std::vector<uint32_t> map_ids;
  uint32_t btf_id = 0;
};

struct MirrorMap {
  std::string name;  // libbpf's name, the card's map name
  int fd = -1;       // owned by the KernelMirror
  uint32_t id = 0;
  // As the kernel reports them: devmaps and cpumaps show BPF_F_RDONLY_PROG,
  // which the kernel adds itself.
  uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  size_t sys_value_size = 0;  // bytes bpf() moves: value_size, or percpu copies each padded to 8
  std::string pin_path;
  bool reused = false;  // an existing pin of the same shape was taken over, contents kept
  // false when the card's values cannot be mirrored: maps whose values are
  // kernel objects (prog_array, devmap(_hash), cpumap, xskmap, sockmap/hash,
  // map-in-map, perf event array, cgroup array...), maps without keys
  // (queue, stack, bloom filter, ring buffers), storage maps, and frozen maps
  // (.rodata, .kconfig: the kernel refuses writes, and the program cannot
  // change them either). Only array, hash, LRU hash, their percpu variants and
  // LPM tries are synced.
  bool synced = false;
};

class KernelMirror {
 public:
  // Opens the object from memory (name, a file name, names it in messages and
  // gives the object name, up to the first '.') and loads the program `prog`
  // (function or section name; "" = the first) into the kernel as
  // BPF_PROG_TYPE_XDP; the object's other programs are not loaded. Creates
  // pin_dir (ensure_bpffs_dir) when missing. Every map is pinned at
  // pin_dir/pin_name(map): one already pinned there with the same type, key,
  // value, max_entries, flags and map_extra is reused with its contents (a
  // frozen .rodata only when its contents equal the new object's, .kconfig
  // never); one of another shape, or that is not a map, is replaced once the
  // program has loaded (a refused load leaves every pin as it was). libbpf's
  // messages are captured, not printed. Throws KernelLoadError: for a refused
  // program, what() = "<name>: the kernel refused program '<prog>': <errno
  // text>: <the verifier log's last meaningful line>"; otherwise "<name>:
  // <what failed>: <errno text>[: <libbpf's last warning>]". A pin that cannot
  // be made throws std::runtime_error naming its path.
  static std::unique_ptr<KernelMirror> load(const std::vector<uint8_t>& obj,
                                            const std::string& name, const std::string& prog,
                                            const std::string& pin_dir);
  ~KernelMirror();  // closes the fds; the pins stay
  KernelMirror(const KernelMirror&) = delete;
  KernelMirror& operator=(const KernelMirror&) = delete;

  const KernelProgInfo& prog() const { return prog_; }
  const std::vector<MirrorMap>& maps() const { return maps_; }
  // By map name, pin file name, or a global data map's section name (".bss").
  const MirrorMap* find(const std::string& name) const;
  const std::string& pin_dir() const { return pin_dir_; }

  // The file name of map `map` in a pin directory.
  static std::string pin_name(const std::string& map);
  // Removes the pins (non-directories) in pin_dir whose file name is not in
  // keep, by map or pin file name: after a replacement, the old program's maps
  // the new one does not share. A missing pin_dir is not an error.
  static void prune(const std::string& pin_dir, const std::vector<std::string>& keep);
  // Removes this mirror's pins (those that still hold its maps) and pin_dir
  // when that leaves it empty.
  void unpin_all();

  // Makes the kernel map hold exactly `entries` (keys and values in the
  // kernel's layout: percpu values are possible-CPU copies each padded to 8
  // bytes): deletes keys that are not in entries (arrays: sets absent indexes
  // to zero instead, as array elements cannot be deleted), then updates keys
  // whose value differs. A key given twice takes its last value. Returns the
  // number of elements changed. Throws std::runtime_error naming the map for a
  // wrong key or value size, a map that is not synced, or a refused syscall
  // (E2BIG for a key past an array's end or a full hash).
  // With base (the map as the caller read it before), elements that differ
  // from base now were written by someone else in between and are left as
  // they are, for the caller to find on its next read; only a write within
  // the microseconds between this check and the update can still be lost.
  size_t sync(const MirrorMap& m, const Entries& entries, const Entries* base = nullptr);
  // Every element of the kernel map (get_next_key + lookup), kernel layout.
  Entries read(const MirrorMap& m) const;

 private:
  KernelMirror() = default;
  bpf_object* obj_ = nullptr;  // owns the program's and the maps' fds
  std::string name_, pin_dir_;
  KernelProgInfo prog_;
  std::vector<MirrorMap> maps_;
};

}  // namespace npu::driver
