// The kernel as oracle: load a BPF object into the running kernel with
// libbpf, set map contents, run BPF_PROG_TEST_RUN on packets and read back
// verdicts, output packets and maps. The kernel defines correct behaviour
// (DESIGN.md, contract 2); docs/kernel-oracle.md records the exact XDP
// test-run environment it gives.
#pragma once

#include "compiler/bpf/conformance_wrap.h"
#include "compiler/bpf/insn.h"
#include "compiler/bpf/program.h"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

struct bpf_object;

namespace kern {

// "" when bpf() works here (a tiny array map and a 2-insn XDP program load),
// else one line saying why not. Probed once per process.
std::string bpf_unavailable_reason();

// Pins the calling thread to CPU 0, so bpf_get_smp_processor_id() returns 0
// and percpu maps change only CPU 0's slot, run after run. run_xdp() and
// run_conformance() call it on a thread's first run; it is idempotent.
// Returns false if the scheduler refused (e.g. CPU 0 outside our cpuset).
bool pin_to_cpu0();

// Possible CPUs: the number of per-CPU slots in a percpu map value.
int possible_cpus();

// Optional xdp_md given as ctx_in to BPF_PROG_TEST_RUN. Without it the kernel
// uses loopback (ifindex 1), rx queue 0 and no metadata.
struct XdpContext {
  uint32_t ingress_ifindex = 0;  // 0 = loopback; must name an existing device
  uint32_t rx_queue_index = 0;   // must be < the device's real rx queues (0 if ifindex is 0)
  uint32_t meta_len = 0;         // the first meta_len bytes of the packet are metadata
};

struct XdpResult {
  uint32_t verdict = 0;
  // data_out: the bytes from data_meta to data_end (metadata first, if any).
  std::vector<uint8_t> packet;
  uint32_t meta_len = 0;  // bytes of metadata at the front of packet
  int err = 0;  // -errno of BPF_PROG_TEST_RUN itself (e.g. -EINVAL for a < 14-byte packet)
};

using Entries = std::vector<std::pair<std::vector<uint8_t>, std::vector<uint8_t>>>;

struct MapInfo {
  std::string name;
  uint32_t type = 0;  // enum bpf_map_type
  uint32_t key_size = 0;
  uint32_t value_size = 0;  // one element as the program sees it
  uint32_t max_entries = 0;
  uint32_t flags = 0;
  bool percpu = false;
  size_t sys_value_size = 0;  // bytes bpf() moves: value_size, or round_up(value_size, 8) * CPUs
};

// A program the kernel refused to load. what() is the one line
// "<object>: kernel verifier rejected program <name>: <reason> (at insn N)";
// the parts are kept for callers that number instructions differently.
class VerifierError : public std::runtime_error {
 public:
  VerifierError(const std::string& what, std::string program, std::string reason, long insn)
      : std::runtime_error(what),
        program_(std::move(program)),
        reason_(std::move(reason)),
        insn_(insn) {}
  const std::string& program() const { return program_; }
  // The verifier's last meaningful log line (or the errno text when it wrote none).
  const std::string& reason() const { return reason_; }
  long insn() const { return insn_; }  // the last instruction it printed before it, or -1

 private:
  std::string program_, reason_;
  long insn_ = -1;
};

class KernelObject {
 public:
  // Opens and loads obj_path with libbpf; throws std::runtime_error naming the
  // file and, for a rejected program, a VerifierError ("kernel verifier
  // rejected program <name>: <reason>").
  static KernelObject open(const std::string& obj_path);
  // Loads an in-memory object without libbpf's object layer: creates its maps
  // with bpf_map_create (global data filled in from MapDef::initial, frozen if
  // BPF_F_RDONLY_PROG), points each lddw of a map index (BPF_PSEUDO_MAP_FD /
  // BPF_PSEUDO_MAP_VALUE) at the map's fd, and loads every program with
  // bpf_prog_load (its type, or XDP if 0; the object's license, or "GPL").
  // Maps and programs keep the object's names (the kernel sees them cut to
  // 15 characters). Throws std::runtime_error "<obj.path>: <reason>", a
  // VerifierError for a rejected program.
  static KernelObject load(const bpf::Object& obj);
  KernelObject(KernelObject&&) noexcept;
  KernelObject& operator=(KernelObject&&) noexcept;
  KernelObject(const KernelObject&) = delete;
  KernelObject& operator=(const KernelObject&) = delete;
  ~KernelObject();

  const std::string& path() const { return path_; }
  int prog_fd(const std::string& name = "") const;  // function or section name; "" = the first
  std::vector<std::string> prog_names() const;      // function names, in ELF order
  // Every map, internal ones (.bss, .data, .rodata) included, as bpf_map__name() names them.
  std::vector<std::string> map_names() const;
  MapInfo map_info(const std::string& map) const;

  // Percpu maps take one CPU's value (copied to every CPU) or the full per-CPU buffer.
  void map_update(const std::string& map, const std::vector<uint8_t>& key,
                  const std::vector<uint8_t>& value, uint64_t flags = 0);
  // PROG_ARRAY: key -> program of this object.
  void map_update_prog(const std::string& map, const std::vector<uint8_t>& key,
                       const std::string& prog);
  // nullopt when the key is absent. PROG_ARRAY values read back as prog ids.
  std::optional<std::vector<uint8_t>> map_lookup(const std::string& map,
                                                 const std::vector<uint8_t>& key) const;
  // All entries in get_next_key order; percpu values are the full per-CPU
  // buffer (each CPU's value rounded up to 8 bytes).
  Entries map_dump(const std::string& map) const;

  // The team's map JSON format (see sim/ref/maps_json.h):
  //   { "maps": { "<map>": [ {"key": "<hex>", "value": "<hex>"} | {"key": "<hex>", "values": [...]}
  //                          | {"key": "<hex>", "prog": "<program>"} ] } }
  void load_maps_json(const std::string& path);
  void load_maps_json(const nlohmann::json& init, const std::string& source);
  // Every map in that format, keys sorted; percpu maps with "values" (one
  // value_size hex string per CPU), prog arrays with "prog" names.
  nlohmann::json dump_maps_json() const;

  // One BPF_PROG_TEST_RUN (repeat 1) of an XDP program on a copy of packet.
  XdpResult run_xdp(const std::string& prog, const std::vector<uint8_t>& packet) const;
  XdpResult run_xdp(const std::string& prog, const std::vector<uint8_t>& packet,
                    const XdpContext& ctx) const;

 private:
  struct Map {
    MapInfo info;
    int fd = -1;
  };
  struct Prog {
    std::string name, section;
    uint32_t type = 0;
    int fd = -1;  // -1: not loaded (libbpf's autoload off)
  };
  KernelObject() = default;
  const Map& find_map(const std::string& name) const;
  const Map* map_or_null(const std::string& name) const;
  const Prog& find_prog(const std::string& name) const;
  XdpResult run(const std::string& prog, const std::vector<uint8_t>& packet,
                const XdpContext* ctx) const;
  void release();
  // open(): libbpf's object, which owns the fds below; load(): null, and the fds are ours.
  bpf_object* obj_ = nullptr;
  std::vector<Map> maps_;
  std::vector<Prog> progs_;
  std::string path_;
};

struct ConformanceResult {
  bool ok = false;
  uint64_t r0 = 0;
  std::string error;  // "kernel rejected: <verifier reason>" or a run failure
};

// Runs a conformance program (r1 = copy of mem or 0, r2 = its size, 64-bit r0)
// in the kernel: bpf::wrap_conformance() (compiler/bpf/conformance_wrap.h)
// puts mem in an array map whose value the prologue hands over as r1, and
// every exit of the main function jumps to an epilogue that stores r0 into a
// result map; the wrapped object is loaded with KernelObject::load and run
// once. The kernel's helper ids are used as they are.
ConformanceResult run_conformance(const std::vector<bpf::Insn>& prog,
                                  const std::vector<uint8_t>& mem);

// The relocation the wrapper uses lives in the bpf library now.
using bpf::insert_insns;
using bpf::Insertion;

}  // namespace kern
