// BPF helpers of the reference interpreter, with the kernel's semantics for
// XDP programs, and the XDP run itself (buffer layout as the kernel's test run).
#include "compiler/bpf/helpers.h"
#include "sim/ref/csum.h"
#include "sim/ref/vm_exec.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <cstdio>
#include <cstring>

namespace ref {
namespace {

constexpr uint32_t kEthHlen = 14;

using HelperFn = void (*)(Exec&);

int map_index(Exec& e, const Map* m) {
  for (size_t i = 0; i < e.ip->map_count(); ++i)
    if (&e.ip->map(i) == m) return int(i);
  return -1;
}

// r0 = -errno, as helpers return it.
uint64_t neg(int e) {
  return uint64_t(int64_t(-e));
}

void h_map_lookup(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  const uint8_t* key = e.access(e.reg[2], m->def().key_size, false);
  if (!key) return;
  if (m->def().type == BPF_MAP_TYPE_PROG_ARRAY || m->def().type == BPF_MAP_TYPE_PERF_EVENT_ARRAY ||
      m->def().type == BPF_MAP_TYPE_RINGBUF)
    return e.fault(fmt::format("bpf_map_lookup_elem on {} map '{}'",
                               bpf::map_type_name(m->def().type), m->def().name));
  e.reg[0] = reinterpret_cast<uintptr_t>(m->lookup(key, e.ip->config().cpu));
}

void h_map_update(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  const uint8_t* key = e.access(e.reg[2], m->def().key_size, false);
  const uint8_t* val = key ? e.access(e.reg[3], m->def().value_size, false) : nullptr;
  if (!val) return;
  e.reg[0] = neg(-m->update(key, val, e.reg[4], e.ip->config().cpu));
}

void h_map_delete(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  const uint8_t* key = e.access(e.reg[2], m->def().key_size, false);
  if (!key) return;
  e.reg[0] = neg(-m->remove(key));
}

void h_map_lookup_percpu(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  const uint8_t* key = e.access(e.reg[2], m->def().key_size, false);
  if (!key) return;
  uint64_t cpu = e.reg[3];
  e.reg[0] = cpu >= m->ncpus() || !m->percpu()
                 ? 0
                 : reinterpret_cast<uintptr_t>(m->lookup(key, unsigned(cpu)));
}

void h_ktime(Exec& e) {
  e.reg[0] = e.ip->next_ktime();
}

void h_prandom(Exec& e) {
  e.reg[0] = e.ip->next_prandom();
}

void h_cpu(Exec& e) {
  e.reg[0] = e.ip->config().cpu;
}

// bpf_trace_printk(fmt, fmt_size, a1, a2, a3) with the conversions bpf_bprintf_prepare()
// accepts: optional [0 +-] flags and width, then c, s, p, or [l[l]] d/i/u/x/X. Returns the
// length of the formatted text, as the kernel does. (%p prints the raw value; the kernel
// hashes pointers, so only the length of that conversion can differ.)
void h_trace_printk(Exec& e) {
  uint64_t n = e.reg[2];
  const uint8_t* f = e.access(e.reg[1], n, false);
  if (!f) return;
  if (n == 0 || f[n - 1] != 0) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  const std::string fmtstr(reinterpret_cast<const char*>(f));
  const uint64_t args[3] = {e.reg[3], e.reg[4], e.reg[5]};
  std::string out;
  int argi = 0;
  for (size_t i = 0; i < fmtstr.size(); ++i) {
    if (fmtstr[i] != '%') {
      out += fmtstr[i];
      continue;
    }
    if (fmtstr[i + 1] == '%') {
      out += '%';
      ++i;
      continue;
    }
    std::string spec = "%";
    size_t j = i + 1;
    while (j < fmtstr.size() && std::strchr("0+- ", fmtstr[j])) spec += fmtstr[j++];
    while (j < fmtstr.size() && std::isdigit(static_cast<unsigned char>(fmtstr[j])))
      spec += fmtstr[j++];
    int longs = 0;
    while (j < fmtstr.size() && fmtstr[j] == 'l' && longs < 2) ++longs, ++j;
    char conv = j < fmtstr.size() ? fmtstr[j] : '\0';
    if (argi >= 3 || !std::strchr("cspdiuxX", conv) || conv == '\0' ||
        (longs && !std::strchr("diuxX", conv))) {
      e.reg[0] = neg(EINVAL);
      return;
    }
    uint64_t a = args[argi++];
    char buf[512];
    if (conv == 's') {
      // Read at most a bounded NUL-terminated string from memory the program may reach.
      std::string str;
      for (uint64_t k = 0; k < 256; ++k) {
        const uint8_t* c = e.access(a + k, 1, false);
        if (!c) return;
        if (!*c) break;
        str += char(*c);
      }
      std::snprintf(buf, sizeof buf, (spec + "s").c_str(), str.c_str());
    } else if (conv == 'c') {
      std::snprintf(buf, sizeof buf, (spec + "c").c_str(), int(uint8_t(a)));
    } else if (conv == 'p') {
      std::snprintf(buf, sizeof buf, (spec + "llx").c_str(), static_cast<unsigned long long>(a));
    } else if (longs == 0) {
      bool sgn = conv == 'd' || conv == 'i';
      if (sgn)
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), int32_t(a));
      else
        std::snprintf(buf, sizeof buf, (spec + conv).c_str(), uint32_t(a));
    } else {
      bool sgn = conv == 'd' || conv == 'i';
      if (sgn)
        std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(), static_cast<long long>(a));
      else
        std::snprintf(buf, sizeof buf, (spec + "ll" + conv).c_str(),
                      static_cast<unsigned long long>(a));
    }
    out += buf;
    i = j;
  }
  e.reg[0] = out.size();
  e.ip->events().push_back(Event{Event::kTracePrintk, -1, std::move(out), {}});
}

void h_tail_call(Exec& e) {
  Map* m = e.map_arg(e.reg[2]);
  if (!m) return;
  if (m->def().type != BPF_MAP_TYPE_PROG_ARRAY)
    return e.fault(fmt::format("bpf_tail_call on non-prog-array map '{}'", m->def().name));
  // The kernel's order (interpreter and x86 JIT): the index, then the count,
  // which a call to an empty slot still uses up, then the slot.
  uint32_t idx = uint32_t(e.reg[3]);
  if (idx >= m->def().max_entries || e.tail_calls >= kMaxTailCalls) return;  // falls through
  ++e.tail_calls;
  const uint8_t* slot = m->peek(&idx);
  if (!slot) return;
  uint32_t prog;
  std::memcpy(&prog, slot, sizeof prog);
  if (prog >= e.ip->object().programs.size())
    return e.fault(
        fmt::format("prog array '{}' slot {} holds unknown program {}", m->def().name, idx, prog));
  e.code = &e.ip->object().programs[prog].insns;
  e.pc = 0;
  e.tail_jump = true;  // r1 (the context) is passed on; the frame is reused
}

void h_redirect(Exec& e) {
  if (e.reg[2] != 0) {
    e.reg[0] = XDP_ABORTED;
    return;
  }
  e.xdp->redirect_ifindex = uint32_t(e.reg[1]);
  e.xdp->redirect_map = -1;
  e.reg[0] = XDP_REDIRECT;
}

void h_redirect_map(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  uint32_t t = m->def().type;
  if (t != BPF_MAP_TYPE_DEVMAP && t != BPF_MAP_TYPE_DEVMAP_HASH && t != BPF_MAP_TYPE_CPUMAP &&
      t != BPF_MAP_TYPE_XSKMAP)
    return e.fault(
        fmt::format("bpf_redirect_map on {} map '{}'", bpf::map_type_name(t), m->def().name));
  uint64_t flags = e.reg[3];
  const uint64_t action_mask = XDP_ABORTED | XDP_DROP | XDP_PASS | XDP_TX;
  uint64_t allowed = action_mask;
  if (t == BPF_MAP_TYPE_DEVMAP || t == BPF_MAP_TYPE_DEVMAP_HASH)
    allowed |= BPF_F_BROADCAST | BPF_F_EXCLUDE_INGRESS;
  if (flags & ~allowed) {
    e.reg[0] = XDP_ABORTED;
    return;
  }
  // The key is the low 32 bits of r2 (an u64 argument of which the kernel uses u32).
  uint32_t key = uint32_t(e.reg[2]);
  bool found = m->peek(&key) != nullptr;
  if (!found && !(flags & BPF_F_BROADCAST)) {
    e.xdp->redirect_map = -1;  // the kernel forgets the target on a miss
    e.reg[0] = flags & action_mask;
    return;
  }
  e.xdp->redirect_map = map_index(e, m);
  e.xdp->redirect_key = key;
  e.reg[0] = XDP_REDIRECT;
}

// bpf_csum_diff as Linux 6.13+ computes it: no scratch buffer, sizes need not be multiples of
// 4, and the result is folded to 16 bits (not inverted).
void h_csum_diff(Exec& e) {
  uint64_t from_size = e.reg[2], to_size = e.reg[4];
  const uint8_t* from = from_size ? e.access(e.reg[1], from_size, false) : nullptr;
  const uint8_t* to = to_size ? e.access(e.reg[3], to_size, false) : nullptr;
  if ((from_size && !from) || (to_size && !to)) return;
  uint32_t ret = uint32_t(e.reg[5]);
  if (from_size && to_size)
    ret = csum_add(csum_partial(to, to_size, ret), ~csum_partial(from, from_size, 0));
  else if (to_size)
    ret = csum_partial(to, to_size, ret);
  else if (from_size)
    ret = ~csum_partial(from, from_size, ~ret);
  ret = (ret & 0xffff) + (ret >> 16);
  ret = (ret & 0xffff) + (ret >> 16);
  e.reg[0] = ret;
}

void h_adjust_head(Exec& e) {
  int64_t delta = int32_t(e.reg[2]);
  uint8_t* data = e.pkt_data + delta;
  uint64_t metalen = e.pkt_data - e.pkt_meta;
  uint8_t* meta = e.pkt_meta + delta;
  if (meta < e.pkt_hard_start + kXdpFrameStruct || data > e.pkt_end - kEthHlen) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  if (metalen) std::memmove(meta, e.pkt_meta, metalen);
  e.pkt_meta = meta;
  e.pkt_data = data;
  e.reg[0] = 0;
}

void h_adjust_meta(Exec& e) {
  int64_t delta = int32_t(e.reg[2]);
  uint8_t* meta = e.pkt_meta + delta;
  int64_t metalen = e.pkt_data - meta;
  // The kernel's order: bounds first (-EINVAL), then the length rule (-EACCES).
  if (meta < e.pkt_hard_start + kXdpFrameStruct || meta > e.pkt_data) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  if (metalen % 4 || metalen > int64_t(kXdpMaxMeta)) {
    e.reg[0] = neg(EACCES);
    return;
  }
  e.pkt_meta = meta;
  e.reg[0] = 0;
}

void h_adjust_tail(Exec& e) {
  int64_t delta = int32_t(e.reg[2]);
  uint8_t* end = e.pkt_end + delta;
  uint8_t* hard_end = e.pkt_hard_start + kXdpFrameSize - kXdpTailroom;
  if (end > hard_end || end < e.pkt_data + kEthHlen) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  if (delta > 0) std::memset(e.pkt_end, 0, size_t(delta));  // the kernel clears grown bytes
  e.pkt_end = end;
  e.reg[0] = 0;
}

void capture(Exec& e, Event::Kind kind, Map* m, const uint8_t* data, uint64_t size,
             uint64_t pkt_bytes) {
  Event ev{kind, map_index(e, m), {}, std::vector<uint8_t>(data, data + size)};
  ev.data.insert(ev.data.end(), e.pkt_data, e.pkt_data + pkt_bytes);
  e.ip->events().push_back(std::move(ev));
}

void h_perf_event_output(Exec& e) {
  Map* m = e.map_arg(e.reg[2]);
  if (!m) return;
  if (m->def().type != BPF_MAP_TYPE_PERF_EVENT_ARRAY)
    return e.fault("bpf_perf_event_output needs a perf event array");
  uint64_t flags = e.reg[3], size = e.reg[5];
  const uint8_t* data = e.access(e.reg[4], size, false);
  if (!data) return;
  uint64_t pkt_len = (flags & BPF_F_CTXLEN_MASK) >> 32;
  uint64_t index = flags & BPF_F_INDEX_MASK;
  if (flags & ~(BPF_F_CTXLEN_MASK | BPF_F_INDEX_MASK)) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  if (pkt_len > uint64_t(e.pkt_end - e.pkt_data)) {
    e.reg[0] = neg(EFAULT);
    return;
  }
  uint32_t slot = index == BPF_F_CURRENT_CPU ? e.ip->config().cpu : uint32_t(index);
  // Like the kernel: an empty slot has no perf event to write to.
  if (slot >= m->def().max_entries || m->peek(&slot) == nullptr) {
    e.reg[0] = neg(slot >= m->def().max_entries ? E2BIG : ENOENT);
    return;
  }
  capture(e, Event::kPerfEvent, m, data, size, pkt_len);
  e.reg[0] = 0;
}

void h_ringbuf_output(Exec& e) {
  Map* m = e.map_arg(e.reg[1]);
  if (!m) return;
  if (m->def().type != BPF_MAP_TYPE_RINGBUF) return e.fault("bpf_ringbuf_output needs a ringbuf");
  uint64_t size = e.reg[3], flags = e.reg[4];
  const uint8_t* data = e.access(e.reg[2], size, false);
  if (!data) return;
  if (flags & ~uint64_t(BPF_RB_NO_WAKEUP | BPF_RB_FORCE_WAKEUP)) {
    e.reg[0] = neg(EINVAL);
    return;
  }
  // Nobody consumes during a run, as in a test run: records use up the ring.
  uint64_t used = 0;
  for (const Event& ev : e.ip->events())
    if (ev.kind == Event::kRingbuf && &e.ip->map(ev.map) == m)
      used += (ev.data.size() + 8 + 7) / 8 * 8;
  // The kernel refuses a record once producer - consumer would exceed size - 1.
  if (used + (size + 8 + 7) / 8 * 8 >= m->def().max_entries) {
    e.reg[0] = neg(EAGAIN);
    return;
  }
  capture(e, Event::kRingbuf, m, data, size, 0);
  e.reg[0] = 0;
}

struct HelperEntry {
  int32_t id;
  HelperFn fn;
};

const HelperEntry kHelpers[] = {
    {BPF_FUNC_map_lookup_elem, h_map_lookup},
    {BPF_FUNC_map_update_elem, h_map_update},
    {BPF_FUNC_map_delete_elem, h_map_delete},
    {BPF_FUNC_ktime_get_ns, h_ktime},
    {BPF_FUNC_ktime_get_boot_ns, h_ktime},
    {BPF_FUNC_trace_printk, h_trace_printk},
    {BPF_FUNC_get_prandom_u32, h_prandom},
    {BPF_FUNC_get_smp_processor_id, h_cpu},
    {BPF_FUNC_tail_call, h_tail_call},
    {BPF_FUNC_redirect, h_redirect},
    {BPF_FUNC_perf_event_output, h_perf_event_output},
    {BPF_FUNC_csum_diff, h_csum_diff},
    {BPF_FUNC_xdp_adjust_head, h_adjust_head},
    {BPF_FUNC_redirect_map, h_redirect_map},
    {BPF_FUNC_xdp_adjust_meta, h_adjust_meta},
    {BPF_FUNC_xdp_adjust_tail, h_adjust_tail},
    {BPF_FUNC_ringbuf_output, h_ringbuf_output},
    {BPF_FUNC_map_lookup_percpu_elem, h_map_lookup_percpu},
};

HelperFn find_helper(int32_t id) {
  for (const HelperEntry& h : kHelpers)
    if (h.id == id) return h.fn;
  return nullptr;
}

std::string helper_label(int32_t id) {
  const char* n = bpf::helper_name(id);
  return n ? fmt::format("bpf_{}#{}", n, id) : fmt::format("#{}", id);
}

}  // namespace

void Exec::helper(int32_t id) {
  if (helpers == HelperSet::kConformance) {
    if (id != 5) return fault(fmt::format("helper {} is not defined by the conformance suite", id));
    reg[0] = reg[1];  // "unwind": returns its argument and stops the program when it is 0
    if (reg[1] == 0) done = true;
    return;
  }
  HelperFn fn = find_helper(id);
  if (!fn) return fault(fmt::format("helper {} is not implemented", helper_label(id)));
  fn(*this);
}

std::string unsupported_helper(const bpf::Program& prog) {
  for (size_t i = 0; i < prog.insns.size(); ++i) {
    const bpf::Insn& in = prog.insns[i];
    if (in.is_helper_call() && !find_helper(in.imm)) {
      std::string where = fmt::format("insn {}", i);
      if (const bpf::LineInfo* l = prog.line_for(uint32_t(i)))
        where += fmt::format(" ({}:{})", l->file, l->line);
      return fmt::format("{}: helper {} is not supported by the reference interpreter", where,
                         helper_label(in.imm));
    }
    if (in.is_lddw()) ++i;
  }
  return "";
}

Interpreter::Interpreter(const bpf::Object& obj, Config cfg) : obj_(obj), cfg_(std::move(cfg)) {
  if (cfg_.ncpus == 0 || cfg_.cpu >= cfg_.ncpus)
    throw bpf::LoadError(
        fmt::format("{}: cpu {} is not one of {} CPUs", obj.path, cfg_.cpu, cfg_.ncpus));
  for (const bpf::Program& p : obj.programs) {
    std::string bad = unsupported_helper(p);
    if (!bad.empty())
      throw bpf::LoadError(fmt::format("{}: program '{}' {}", obj.path, p.name, bad));
  }
  for (const bpf::MapDef& d : obj.maps) {
    try {
      maps_.push_back(make_map(d, cfg_.ncpus));
    } catch (const bpf::LoadError& err) {  // name the object, as every load error does
      throw bpf::LoadError(fmt::format("{}: {}", obj.path, err.what()));
    }
    if (d.global_data && !d.initial.empty()) {
      uint32_t zero = 0;
      std::vector<uint8_t> v(d.initial);
      v.resize(d.value_size);
      maps_.back()->sys_update(&zero, v.data(), BPF_ANY);
    }
  }
  prandom_state_ = cfg_.prandom_seed;
  exec_ = std::make_unique<Exec>();
  exec_->ip = this;
  exec_->obj = &obj_;
  exec_->has_ctx = true;
  for (auto& m : maps_) {
    for (Region r : m->regions()) {
      if (m->def().flags & BPF_F_RDONLY_PROG) r.writable = false;
      exec_->regions.push_back(r);
    }
  }
  frame_.resize(kXdpFrameSize);
}

Interpreter::~Interpreter() = default;

uint64_t Interpreter::next_ktime() {
  return cfg_.ktime ? cfg_.ktime() : cfg_.ktime_start_ns + cfg_.ktime_step_ns * ktime_calls_++;
}

uint32_t Interpreter::next_prandom() {
  // splitmix64: deterministic for a given seed, on every machine.
  uint64_t z = (prandom_state_ += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return uint32_t(z ^ (z >> 31));
}

XdpResult Interpreter::run_xdp(size_t prog, const std::vector<uint8_t>& packet) {
  XdpResult res;
  if (prog >= obj_.programs.size()) {
    res.error = fmt::format("no program {}", prog);
    return res;
  }
  uint32_t max_len = kXdpFrameSize - kXdpHeadroom - kXdpTailroom;
  if (packet.size() < kEthHlen || packet.size() > max_len) {
    res.error = fmt::format("packet of {} bytes: XDP takes {} to {} bytes", packet.size(), kEthHlen,
                            max_len);
    return res;
  }
  // The page reads as bpf_test_init() leaves it: zeros around the packet. Only the bytes
  // an earlier run could have touched are cleared (grown tails are zeroed by the helper).
  std::fill(frame_.begin(), frame_.begin() + std::max<size_t>(kXdpHeadroom, frame_dirty_), 0);
  Exec& e = *exec_;
  e.code = &obj_.programs[prog].insns;
  e.pc = 0;
  e.depth = 0;
  e.count = 0;
  e.done = e.tail_jump = false;
  e.tail_calls = 0;
  e.error.clear();
  std::fill(std::begin(e.reg), std::end(e.reg), 0);
  e.max_insns = cfg_.max_insns;
  e.xdp = &res;
  e.pkt_hard_start = frame_.data();
  e.pkt_data = frame_.data() + kXdpHeadroom;
  e.pkt_meta = e.pkt_data;
  e.pkt_end = e.pkt_data + packet.size();
  std::memcpy(e.pkt_data, packet.data(), packet.size());
  e.ingress_ifindex = cfg_.ingress_ifindex;
  e.rx_queue_index = cfg_.rx_queue_index;
  e.reg[1] = reinterpret_cast<uintptr_t>(e.ctx);
  e.reg[10] = reinterpret_cast<uintptr_t>(e.stack + sizeof e.stack);
  e.run();
  res.insns = e.count;
  res.error = e.error;
  res.verdict = uint32_t(e.reg[0]);
  frame_dirty_ = std::max<size_t>(kXdpHeadroom + packet.size(), size_t(e.pkt_end - frame_.data()));
  res.packet.assign(e.pkt_data, e.pkt_end);
  res.meta.assign(e.pkt_meta, e.pkt_data);
  return res;
}

}  // namespace ref
