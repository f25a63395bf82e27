// Device: the loader and the host side of the NPU, on the ISS machine or the NIC model. Every
// map operation, and the maps a load creates, go through the firmware's
// control queue as a host driver's would; only code and the program table are
// written directly (the code store and shared SRAM are the host's to fill).
#include "driver/device.h"

#include "compiler/bpf/hex.h"

#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

namespace npu::driver {
namespace {

constexpr uint64_t kUndefinedWord = 0xff;  // opcode 0xff is undefined: running into a gap faults
constexpr uint32_t kEthHlen = 14;          // the shortest packet a test run takes
constexpr uint32_t kLoopback = 1;          // ingress ifindex when the context names none
constexpr uint32_t kLinearMax = NPU_FRAME_SIZE - NPU_HEADROOM - NPU_TAILROOM;

// The firmware helpers behind each helper feature; engine features need none.
const std::pair<uint64_t, std::vector<const char*>> kHelperFeatures[] = {
    {NPU_FEAT_TAIL_CALL, {"tail_call"}},
    {NPU_FEAT_ADJUST_HEAD, {"xdp_adjust_head"}},
    {NPU_FEAT_ADJUST_META, {"xdp_adjust_meta"}},
    {NPU_FEAT_ADJUST_TAIL, {"xdp_adjust_tail"}},
    {NPU_FEAT_REDIRECT, {"redirect", "redirect_map"}},
    {NPU_FEAT_CSUM_DIFF, {"csum_diff"}},
};

uint64_t cls(uint64_t off) {
  return NPU_CLS_BASE + off;
}

size_t round8(size_t n) {
  return (n + 7) & ~size_t(7);
}

std::string errno_text(int err) {
  return std::strerror(err < 0 ? -err : err);
}

bool is_percpu(uint32_t type) {
  return type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH ||
         type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
}

std::vector<uint8_t> le32(uint32_t v) {
  std::vector<uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

// The firmware's global code symbol `name`, or nullptr.
const Object::Symbol* code_symbol(const Image& fw, const std::string& name) {
  const Object::Symbol* s = fw.find_symbol(name);
  if (!s || !s->global || s->section < 0 || size_t(s->section) >= fw.sections.size() ||
      !fw.sections[size_t(s->section)].code)
    return nullptr;
  return s;
}

}  // namespace

Device::Device(const Image& firmware, const DeviceConfig& cfg) : cfg_(cfg), firmware_(firmware) {
  boot_firmware();
}

void Device::boot_firmware() {
  const Image& firmware = firmware_;
  const DeviceConfig& cfg = cfg_;
  if (firmware.is_program_image())
    throw DeviceError("firmware: a compiled program image is no firmware");
  const Object::Symbol* start = code_symbol(firmware, "_start");
  if (!start) throw DeviceError("firmware: no global code symbol '_start'");
  start_ = start->value;
  if (cfg.code_store <= NPU_PROG_TEXT_BASE)
    throw DeviceError(
        fmt::format("device: a code store of {} instructions leaves no room for "
                    "programs, which start at NPU_PROG_TEXT_BASE ({})",
                    cfg.code_store, NPU_PROG_TEXT_BASE));
  std::vector<iss::DataSection> data;
  for (const Object::Section& s : firmware.sections) {
    if (!s.code) {
      data.push_back({s.base, s.bytes});
      continue;
    }
    if (s.words.empty()) continue;
    if (s.end() > NPU_PROG_TEXT_BASE || s.end() < s.base)
      throw DeviceError(fmt::format(
          "firmware: code section {} ends at instruction {}, above NPU_PROG_TEXT_BASE ({})", s.name,
          s.end(), NPU_PROG_TEXT_BASE));
    if (fw_code_.size() < s.end()) fw_code_.resize(s.end(), kUndefinedWord);
    std::copy(s.words.begin(), s.words.end(), fw_code_.begin() + int64_t(s.base));
  }
  if (!m_) {
    try {
      if (cfg.map_cpus == 0) throw std::invalid_argument("map_cpus must be at least 1");
      own_ = std::make_unique<iss::Machine>(machine_config(cfg));
    } catch (const std::exception& e) {
      throw DeviceError(fmt::format("device: {}", e.what()));
    }
    m_ = own_.get();
  }
  try {
    m_->load(fw_code_, data);
  } catch (const std::exception& e) {
    throw DeviceError(fmt::format("device: {}", e.what()));
  }
  m_->boot(start_);
  settle("device: the firmware did not settle after boot");
}

iss::MachineConfig Device::machine_config(const DeviceConfig& cfg) {
  iss::MachineConfig mc;
  mc.cores = cfg.cores;
  mc.threads = cfg.threads;
  mc.map_cpus = cfg.map_cpus;
  mc.timing = cfg.timing;
  return mc;
}

Device::Device(const Image& firmware, iss::Backend& hw, const DeviceConfig& cfg)
    : cfg_(cfg), firmware_(firmware), m_(&hw) {
  boot_firmware();
}

Device::~Device() = default;

std::string Device::prefix() const {
  return loaded_ ? name_ : "device";
}

void Device::reboot() {
  // A hung program or firmware: every thread starts over, and whatever was in
  // flight is dropped. Maps, the program table and the code stay.
  uint64_t e;
  while (m_->host_pop(~0u, &e)) {
  }
  m_->boot(start_);
  if (m_->run(cfg_.max_cycles) != iss::Backend::Stop::kIdle)
    throw DeviceError("device: the firmware does not settle after a reboot");
}

void Device::settle(const std::string& what) {
  if (m_->run(cfg_.max_cycles) == iss::Backend::Stop::kIdle) return;
  reboot();
  throw DeviceError(
      fmt::format("{} within {} cycles (the device was rebooted)", what, cfg_.max_cycles));
}

CmsgReply Device::ctrl(const std::vector<uint8_t>& msg, const std::string& what) {
  if (msg.size() > NPU_CTRL_BUF_SIZE)
    throw DeviceError(fmt::format("{}: a control message of {} bytes does not fit a {}-byte buffer",
                                  what, msg.size(), NPU_CTRL_BUF_SIZE));
  std::vector<uint8_t> m = msg;
  uint16_t seq = ++seq_;
  std::memcpy(m.data() + NPU_CMSG_SEQ, &seq, sizeof seq);
  const uint64_t buf = cls(NPU_CLS_CTRL_BUFS);
  m_->write(buf, m.data(), m.size());
  m_->host_push(NPU_Q_CTRL, (uint64_t(NPU_QE_CTRL) << NPU_QE_KIND_SHIFT) | buf);
  settle(what + ": the firmware did not answer");
  uint64_t e = 0;
  if (!m_->host_pop(1u << NPU_Q_REPLY, &e)) {
    m_->host_pop(1u << NPU_Q_CTRL, &e);  // not taken: it must not answer a later request
    throw DeviceError(what + ": the firmware sent no reply");
  }
  if (e != buf)
    throw DeviceError(fmt::format("{}: a reply in buffer 0x{:x}, not 0x{:x}", what, e, buf));
  std::vector<uint8_t> reply = m_->read(buf, NPU_CTRL_BUF_SIZE);
  CmsgReply r;
  std::string why;
  if (!parse_reply(reply.data(), reply.size(), m[NPU_CMSG_TYPE], seq, &r, &why))
    throw DeviceError(fmt::format("{}: bad reply: {}", what, why));
  return r;
}

void Device::write_code(const std::vector<uint64_t>& program, uint64_t base) {
  std::vector<uint64_t> code = fw_code_;
  if (!program.empty()) {
    code.resize(base + program.size(), kUndefinedWord);
    std::copy(program.begin(), program.end(), code.begin() + int64_t(base));
  }
  m_->load(code, {});
}

void Device::clear_prog_table() {
  std::vector<uint8_t> zero(NPU_MAX_PROGS * 8, 0);
  m_->write(cls(NPU_CLS_PROGS), zero.data(), zero.size());
}

void Device::unload() {
  std::vector<MapInfo> maps = std::move(maps_);
  maps_.clear();
  loaded_ = false;
  img_ = Image();
  name_.clear();
  clear_prog_table();
  write_code({}, 0);
  // Every map is freed even when one cannot be; the first failure is reported.
  std::string first;
  int first_err = 0;
  for (const MapInfo& m : maps) {
    std::string what = fmt::format("device: freeing map '{}' (id {})", m.name, m.id);
    try {
      CmsgReply r = ctrl(cmsg_map_op(NPU_CMSG_MAP_FREE, 0, m.id, 0), what);
      if (r.err && first.empty()) first = what + ": " + errno_text(r.err), first_err = r.err;
    } catch (const DeviceError& e) {
      if (first.empty()) first = e.what();
    }
  }
  if (!first.empty()) throw DeviceError(first, first_err);
}

void Device::load(const Image& img, const std::string& name) {
  // Everything that can be checked without the device, before anything changes.
  try {
    check_image(img, name);
  } catch (const ImageError& e) {
    throw DeviceError(e.what());
  }
  auto bad = [&](const std::string& why) { return DeviceError(fmt::format("{}: {}", name, why)); };
  if (img.programs.empty()) throw bad("no programs to load");
  if (img.programs.size() > NPU_MAX_PROGS)
    throw bad(fmt::format("{} programs, the program table has {} slots", img.programs.size(),
                          NPU_MAX_PROGS));
  if (img.maps.size() > NPU_MAX_MAPS - 1)
    throw bad(
        fmt::format("{} maps, the device holds at most {}", img.maps.size(), NPU_MAX_MAPS - 1));
  uint64_t lo = cfg_.code_store, hi = NPU_PROG_TEXT_BASE;
  for (const Object::Section& s : img.sections) {
    if (!s.code)
      throw bad(
          fmt::format("section {}: a program image keeps its data in maps, not in device "
                      "memory",
                      s.name));
    if (s.words.empty()) continue;
    if (s.base < NPU_PROG_TEXT_BASE || s.end() > cfg_.code_store)
      throw bad(fmt::format(
          "code section {} at [{}, {}) does not fit the code store: programs "
          "have [{}, {}) (NPU_PROG_TEXT_BASE to the store's {} instructions)",
          s.name, s.base, s.end(), NPU_PROG_TEXT_BASE, cfg_.code_store, cfg_.code_store));
    lo = std::min(lo, s.base);
    hi = std::max(hi, s.end());
  }
  for (const Object::Program& p : img.programs)
    if (p.stack_size > NPU_STACK_SIZE)
      throw bad(fmt::format("program '{}' needs {} bytes of stack, a thread has {}", p.name,
                            p.stack_size, NPU_STACK_SIZE));
  if (uint64_t unknown = img.features & ~uint64_t(NPU_FEAT_KNOWN))
    throw bad(fmt::format("needs features this device does not know (0x{:x})", unknown));
  for (const auto& [feature, helpers] : kHelperFeatures) {
    if (!(img.features & feature)) continue;
    for (const char* h : helpers)
      if (!code_symbol(firmware_, std::string("helper_") + h))
        throw bad(fmt::format("needs feature {}, but the firmware has no helper_{}",
                              feature_names(feature)[0], h));
  }
  for (size_t i = 0; i < img.relocs.size(); ++i) {
    const Object::Reloc& r = img.relocs[i];
    if (r.kind == Object::RelocKind::kHelper && !code_symbol(firmware_, "helper_" + r.helper))
      throw bad(
          fmt::format("relocation {} (helper at insn {}): the firmware has no helper '{}' "
                      "(helper_{})",
                      i, r.insn, r.helper, r.helper));
  }
  for (const Object::Map& m : img.maps) {
    size_t sys = is_percpu(m.type) ? round8(m.value_size) * cfg_.map_cpus : m.value_size;
    if (NPU_CMSG_KEY + round8(m.key_size) + sys > NPU_CTRL_BUF_SIZE)
      throw bad(
          fmt::format("map '{}': a {}-byte key and {}-byte value do not fit a control "
                      "message ({} bytes)",
                      m.name, m.key_size, sys, NPU_CTRL_BUF_SIZE));
  }

  if (loaded_ || !maps_.empty()) unload();
  name_ = name;
  try {
    for (const Object::Map& m : img.maps) {
      npu_map_def def{m.type, m.key_size, m.value_size, m.max_entries, m.flags, 0};
      std::string what = fmt::format("{}: map '{}'", name, m.name);
      CmsgReply r = ctrl(cmsg_map_alloc(0, def), what);
      if (r.err)
        throw DeviceError(fmt::format("{}: the device refused it: {}", what, errno_text(r.err)),
                          r.err);
      MapInfo info;
      info.name = m.name;
      info.id = r.result;
      info.type = m.type;
      info.key_size = m.key_size;
      info.value_size = m.value_size;
      info.max_entries = m.max_entries;
      info.flags = m.flags;
      info.percpu = is_percpu(m.type);
      npu_map_def got;
      m_->read(cls(NPU_CLS_MAPS) + uint64_t(r.result) * NPU_MAPDEF_SIZE, &got, sizeof got);
      info.sys_value_size = got.sys_value_size;
      maps_.push_back(info);
      if (!m.initial.empty()) {
        CmsgReply u =
            ctrl(cmsg_map_update(0, info.id, BPF_ANY, le32(0), m.initial), what + ": global data");
        if (u.err)
          throw DeviceError(
              fmt::format("{}: writing its initial value: {}", what, errno_text(u.err)), u.err);
      }
    }

    // Relocations, into a copy of the code.
    Image run = img;
    for (size_t i = 0; i < run.relocs.size(); ++i) {
      const Object::Reloc& r = run.relocs[i];
      Object::Section* s = nullptr;
      for (Object::Section& c : run.sections)
        if (c.code && r.insn >= c.base && r.insn - c.base < c.words.size()) s = &c;
      uint64_t& word = s->words[r.insn - s->base];
      uint64_t v = 0;
      switch (r.kind) {
        case Object::RelocKind::kMapId:
          v = maps_[r.map].id;
          break;
        case Object::RelocKind::kMapValueLo:
        case Object::RelocKind::kMapValueHi: {
          uint64_t addr =
              NPU_MAP_BASE + (uint64_t(maps_[r.map].id) << NPU_MAP_SHIFT) + uint64_t(r.addend);
          v = r.kind == Object::RelocKind::kMapValueLo ? addr & 0xffffffff : addr >> 32;
          break;
        }
        case Object::RelocKind::kHelper:
          v = code_symbol(firmware_, "helper_" + r.helper)->value;
          break;
      }
      word = patch_imm(word, r.insn, v);  // check_image made sure it takes the value
    }

    std::vector<uint64_t> program(hi > lo ? hi - lo : 0, kUndefinedWord);
    for (const Object::Section& s : run.sections)
      if (!s.words.empty())
        std::copy(s.words.begin(), s.words.end(), program.begin() + int64_t(s.base - lo));
    write_code(program, lo);
    for (size_t i = 0; i < run.programs.size(); ++i) {
      uint64_t entry = run.programs[i].entry;
      m_->write(cls(NPU_CLS_PROGS) + 8 * i, &entry, 8);
    }
    img_ = std::move(run);
    loaded_ = true;
  } catch (...) {
    try {
      unload();
    } catch (const DeviceError&) {
      // The load's own error is the one to report.
    }
    throw;
  }
}

std::vector<std::string> Device::prog_names() const {
  std::vector<std::string> v;
  for (const Object::Program& p : img_.programs) v.push_back(p.name);
  return v;
}

int Device::find_prog(const std::string& prog) const {
  if (!loaded_) return -1;
  if (prog.empty()) return 0;
  for (size_t i = 0; i < img_.programs.size(); ++i)
    if (img_.programs[i].name == prog) return int(i);
  for (size_t i = 0; i < img_.programs.size(); ++i)
    if (img_.programs[i].section == prog) return int(i);
  return -1;
}

uint32_t Device::prog_slot(const std::string& prog) const {
  if (!loaded_) throw DeviceError("device: no image loaded");
  int i = find_prog(prog);
  if (i < 0) throw DeviceError(fmt::format("{}: no program named '{}'", name_, prog));
  return uint32_t(i);
}

std::vector<std::string> Device::map_names() const {
  std::vector<std::string> v;
  for (const MapInfo& m : maps_) v.push_back(m.name);
  return v;
}

const MapInfo& Device::find_map(const std::string& map) const {
  for (const MapInfo& m : maps_)
    if (m.name == map) return m;
  throw DeviceError(fmt::format("{}: no map named '{}'", prefix(), map));
}

MapInfo Device::map_info(const std::string& map) const {
  return find_map(map);
}

XdpResult Device::run_xdp(const std::string& prog, const std::vector<uint8_t>& packet,
                          const XdpContext& ctx) {
  uint32_t slot = prog_slot(prog);
  XdpResult r;
  // BPF_PROG_TEST_RUN's rules for the packet and the xdp_md (docs/kernel-oracle.md).
  const uint32_t meta = ctx.meta_len;
  if (packet.size() < meta || meta % 4 || meta > NPU_HEADROOM - NPU_DESC_SIZE ||
      packet.size() - meta < kEthHlen || packet.size() - meta > kLinearMax ||
      (ctx.ingress_ifindex == 0 && ctx.rx_queue_index != 0)) {
    r.err = -EINVAL;
    return r;
  }
  const uint64_t frame = NPU_PKT_BASE;
  std::vector<uint8_t> zero(NPU_FRAME_SIZE, 0);
  m_->write(frame, zero.data(), zero.size());
  npu_pkt_desc d{};
  d.data = frame + NPU_HEADROOM;
  d.data_meta = d.data - meta;
  d.data_end = d.data + (packet.size() - meta);
  d.ifindex = ctx.ingress_ifindex ? ctx.ingress_ifindex : kLoopback;
  d.rxq = ctx.rx_queue_index;
  d.prog = slot;
  m_->write(frame, &d, sizeof d);
  m_->write(d.data_meta, packet.data(), packet.size());

  // Fault records and counts from before this packet are cleared or noted.
  uint64_t insns0 = 0, busy0 = 0;
  auto busy = [&](uint64_t* insns) {
    uint64_t b = 0, n = 0;
    for (unsigned c = 0; c < m_->ncores(); ++c) {
      iss::CoreCounters k = m_->counters(c);
      b += k.busy;
      n += k.instret;
    }
    *insns = n;
    return b;
  };
  for (unsigned c = 0; c < m_->ncores(); ++c)
    for (unsigned t = 0; t < m_->nthreads(); ++t)
      for (Csr n : {Csr::CAUSE, Csr::EPC, Csr::BADADDR}) m_->set_csr(c, t, n, 0);
  busy0 = busy(&insns0);

  m_->host_push(NPU_Q_RX, (uint64_t(NPU_QE_PKT) << NPU_QE_KIND_SHIFT) | frame);
  settle(fmt::format("{}: program '{}' did not finish", name_, img_.programs[slot].name));
  uint64_t e = 0;
  if (!m_->host_pop(1u << NPU_Q_TX, &e) || e != frame)
    throw DeviceError(fmt::format("{}: program '{}': the frame did not come back on TX", name_,
                                  img_.programs[slot].name));
  uint64_t insns1 = 0;
  r.cycles = busy(&insns1) - busy0;
  r.insns = insns1 - insns0;

  m_->read(frame, &d, sizeof d);
  // A program may only move data, data_end and data_meta within the frame, through
  // the helpers; anything else is the device's failure, not the packet's.
  const uint64_t lo = frame + NPU_DESC_SIZE, hi = frame + NPU_FRAME_SIZE - NPU_TAILROOM;
  if (!(lo <= d.data_meta && d.data_meta <= d.data && d.data <= d.data_end && d.data_end <= hi))
    throw DeviceError(
        fmt::format("{}: program '{}' left a descriptor with data_meta 0x{:x}, data "
                    "0x{:x}, data_end 0x{:x} outside its frame",
                    name_, img_.programs[slot].name, d.data_meta, d.data, d.data_end));
  r.status = d.prog;
  r.packet = m_->read(d.data_meta, size_t(d.data_end - d.data_meta));
  r.meta_len = uint32_t(d.data - d.data_meta);
  if (d.prog <= XDP_REDIRECT) {
    r.verdict = d.prog;
    if (d.prog == XDP_REDIRECT) r.redirect_ifindex = d.target;
  } else if ((d.prog & ~0xffu) == NPU_VERDICT_FAULT) {
    r.verdict = XDP_ABORTED;
    r.fault = d.prog & 0xff;
    for (unsigned c = 0; c < m_->ncores(); ++c)
      for (unsigned t = 0; t < m_->nthreads(); ++t)
        if (m_->csr(c, t, Csr::CAUSE)) {
          r.fault_pc = m_->csr(c, t, Csr::EPC);
          r.fault_addr = m_->csr(c, t, Csr::BADADDR);
        }
    std::string cause = fmt::format("cause {}", r.fault);
    for (const FaultInfo& f : faults())
      if (f.number == r.fault) cause = f.id;
    r.error = fmt::format("fault {} at insn {} (address 0x{:x})", cause, r.fault_pc, r.fault_addr);
  } else if (d.prog == NPU_VERDICT_BAD) {
    // Dropped as aborted; the value itself is what BPF_PROG_TEST_RUN returns.
    r.verdict = d.target;
  } else {
    throw DeviceError(fmt::format("{}: program '{}': verdict word 0x{:x} from the firmware", name_,
                                  img_.programs[slot].name, d.prog));
  }
  return r;
}

std::vector<uint8_t> Device::host_value(const MapInfo& m, const std::vector<uint8_t>& value,
                                        const std::string& where) const {
  if (m.percpu && value.size() == m.value_size) {
    // One CPU's value: every CPU gets a copy, each in an 8-byte-rounded slot.
    std::vector<uint8_t> v(m.sys_value_size, 0);
    for (unsigned c = 0; c < cfg_.map_cpus; ++c)
      std::copy(value.begin(), value.end(), v.begin() + c * round8(m.value_size));
    return v;
  }
  if (value.size() == m.sys_value_size) return value;
  if (m.percpu)
    throw DeviceError(
        fmt::format("{}: value has {} bytes, expected {} (one CPU) or {} (all {} "
                    "CPUs)",
                    where, value.size(), m.value_size, m.sys_value_size, cfg_.map_cpus));
  throw DeviceError(fmt::format("{}: value has {} bytes, the map's value_size is {}", where,
                                value.size(), m.value_size));
}

void Device::update(const MapInfo& m, const std::vector<uint8_t>& key,
                    const std::vector<uint8_t>& value, uint64_t flags, const std::string& where) {
  if (key.size() != m.key_size)
    throw DeviceError(fmt::format("{}: key has {} bytes, the map's key_size is {}", where,
                                  key.size(), m.key_size));
  CmsgReply r = ctrl(cmsg_map_update(0, m.id, flags, key, host_value(m, value, where)), where);
  if (r.err)
    throw DeviceError(fmt::format("{}: update failed: {}", where, errno_text(r.err)), r.err);
}

void Device::map_update(const std::string& map, const std::vector<uint8_t>& key,
                        const std::vector<uint8_t>& value, uint64_t flags) {
  update(find_map(map), key, value, flags, fmt::format("{}: map '{}'", name_, map));
}

void Device::map_update_prog(const std::string& map, const std::vector<uint8_t>& key,
                             const std::string& prog) {
  if (find_map(map).type != BPF_MAP_TYPE_PROG_ARRAY)
    throw DeviceError(fmt::format("{}: map '{}' is not a prog array", name_, map));
  map_update(map, key, le32(prog_slot(prog)), BPF_ANY);
}

std::optional<std::vector<uint8_t>> Device::map_lookup(const std::string& map,
                                                       const std::vector<uint8_t>& key) {
  const MapInfo& m = find_map(map);
  std::string where = fmt::format("{}: map '{}'", name_, map);
  if (key.size() != m.key_size)
    throw DeviceError(fmt::format("{}: key has {} bytes, the map's key_size is {}", where,
                                  key.size(), m.key_size));
  CmsgReply r = ctrl(cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 0, m.id, 0, key), where);
  if (r.err == -ENOENT) return std::nullopt;
  if (r.err)
    throw DeviceError(fmt::format("{}: lookup failed: {}", where, errno_text(r.err)), r.err);
  if (r.payload.size() != m.sys_value_size)
    throw DeviceError(
        fmt::format("{}: lookup gave {} bytes, not {}", where, r.payload.size(), m.sys_value_size));
  return r.payload;
}

bool Device::map_delete(const std::string& map, const std::vector<uint8_t>& key) {
  const MapInfo& m = find_map(map);
  std::string where = fmt::format("{}: map '{}'", name_, map);
  if (key.size() != m.key_size)
    throw DeviceError(fmt::format("{}: key has {} bytes, the map's key_size is {}", where,
                                  key.size(), m.key_size));
  CmsgReply r = ctrl(cmsg_map_op(NPU_CMSG_MAP_DELETE, 0, m.id, 0, key), where);
  if (r.err == -ENOENT) return false;
  if (r.err)
    throw DeviceError(fmt::format("{}: delete failed: {}", where, errno_text(r.err)), r.err);
  return true;
}

Entries Device::map_dump(const std::string& map) {
  const MapInfo& m = find_map(map);
  std::string where = fmt::format("{}: map '{}'", name_, map);
  Entries out;
  CmsgReply r = ctrl(cmsg_map_op(NPU_CMSG_MAP_GETFIRST, 0, m.id, 0), where);
  // No map holds more than max_entries keys: the bound only guards against a bug.
  for (uint64_t n = 0; r.err == 0 && n <= m.max_entries; ++n) {
    if (r.payload.size() != m.key_size)
      throw DeviceError(
          fmt::format("{}: next key of {} bytes, not {}", where, r.payload.size(), m.key_size));
    std::vector<uint8_t> key = r.payload;
    CmsgReply v = ctrl(cmsg_map_op(NPU_CMSG_MAP_LOOKUP, 0, m.id, 0, key), where);
    if (v.err == 0) {
      if (v.payload.size() != m.sys_value_size)
        throw DeviceError(fmt::format("{}: lookup gave {} bytes, not {}", where, v.payload.size(),
                                      m.sys_value_size));
      out.emplace_back(key, v.payload);
    }
    r = ctrl(cmsg_map_op(NPU_CMSG_MAP_GETNEXT, 0, m.id, 0, key), where);
  }
  if (r.err && r.err != -ENOENT)
    throw DeviceError(fmt::format("{}: walking the keys: {}", where, errno_text(r.err)), r.err);
  return out;
}

std::vector<uint8_t> Device::control(const std::vector<uint8_t>& msg) {
  npu_cmsg_hdr h{};
  if (msg.size() >= sizeof h) std::memcpy(&h, msg.data(), sizeof h);
  auto refuse = [&](int err) { return cmsg_reply(h.type, h.seq, err, 0); };
  if (msg.size() < NPU_CMSG_KEY || h.len != msg.size() || h.ver != NPU_CMSG_VERSION ||
      msg.size() > NPU_CTRL_BUF_SIZE)
    return refuse(-EINVAL);
  if (h.type < NPU_CMSG_MAP_LOOKUP || h.type > NPU_CMSG_MAP_GETNEXT)
    return refuse(h.type == NPU_CMSG_MAP_ALLOC || h.type == NPU_CMSG_MAP_FREE ? -EPERM : -EINVAL);
  uint32_t id = 0;
  std::memcpy(&id, msg.data() + NPU_CMSG_MAP_ID, 4);
  const bool owned = loaded_ && std::any_of(maps_.begin(), maps_.end(),
                                            [&](const MapInfo& m) { return m.id == id; });
  if (!owned) return refuse(-ENOENT);
  try {
    CmsgReply r = ctrl(msg, fmt::format("{}: control message {}", prefix(), unsigned(h.type)));
    return cmsg_reply(h.type, h.seq, r.err, r.result, r.payload);
  } catch (const DeviceError&) {
    return refuse(-EIO);  // the firmware hung and the device was rebooted
  }
}

void Device::load_maps_json(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DeviceError(fmt::format("{}: cannot open: {}", path, errno_text(errno)));
  nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded()) throw DeviceError(path + ": not valid JSON");
  load_maps_json(j, path);
}

void Device::load_maps_json(const nlohmann::json& init, const std::string& source) {
  if (!init.is_object() || !init.contains("maps") || !init["maps"].is_object())
    throw DeviceError(source + ": expected an object with a \"maps\" object");
  for (auto& [name, entries] : init["maps"].items()) {
    const MapInfo* mp = nullptr;
    for (const MapInfo& m : maps_)
      if (m.name == name) mp = &m;
    if (!mp) throw DeviceError(fmt::format("{}: no map named '{}' in {}", source, name, prefix()));
    const MapInfo m = *mp;
    if (!entries.is_array())
      throw DeviceError(fmt::format("{}: map '{}': expected a list", source, name));
    size_t i = 0;
    for (const auto& e : entries) {
      std::string where = fmt::format("{}: map '{}' entry {}", source, name, i++);
      auto hex_field = [&](const nlohmann::json& v, const char* field) {
        if (!v.is_string())
          throw DeviceError(fmt::format("{}: \"{}\" must be a hex string", where, field));
        try {
          return bpf::parse_hex(v.get<std::string>(), where);
        } catch (const std::runtime_error& ex) {
          throw DeviceError(ex.what());
        }
      };
      if (!e.is_object() || !e.contains("key"))
        throw DeviceError(where + ": needs a \"key\" hex string");
      std::vector<uint8_t> key = hex_field(e["key"], "key");
      if (key.size() != m.key_size)
        throw DeviceError(fmt::format("{}: key has {} bytes, the map's key_size is {}", where,
                                      key.size(), m.key_size));
      std::vector<uint8_t> value;
      if (e.contains("prog")) {
        if (m.type != BPF_MAP_TYPE_PROG_ARRAY || !e["prog"].is_string())
          throw DeviceError(where + ": \"prog\" (a program name) is only for prog arrays");
        int p = find_prog(e["prog"].get<std::string>());
        if (p < 0)
          throw DeviceError(
              fmt::format("{}: no program '{}'", where, e["prog"].get<std::string>()));
        value = le32(uint32_t(p));
      } else if (e.contains("values")) {
        if (!m.percpu || !e["values"].is_array())
          throw DeviceError(where + ": \"values\" (a list, one per CPU) is only for percpu maps");
        if (e["values"].size() != cfg_.map_cpus)
          throw DeviceError(
              fmt::format("{}: {} values for {} CPUs", where, e["values"].size(), cfg_.map_cpus));
        value.assign(m.sys_value_size, 0);
        for (size_t c = 0; c < e["values"].size(); ++c) {
          std::vector<uint8_t> one = hex_field(e["values"][c], "values");
          if (one.size() != m.value_size)
            throw DeviceError(
                fmt::format("{}: CPU {} value has {} bytes, the map's value_size is {}", where, c,
                            one.size(), m.value_size));
          std::copy(one.begin(), one.end(), value.begin() + c * round8(m.value_size));
        }
      } else if (e.contains("value")) {
        value = hex_field(e["value"], "value");
        if (value.size() != m.value_size)
          throw DeviceError(fmt::format("{}: value has {} bytes, the map's value_size is {}", where,
                                        value.size(), m.value_size));
      } else {
        throw DeviceError(where + ": needs a \"value\", \"values\" or \"prog\"");
      }
      update(m, key, value, BPF_ANY, where);
    }
  }
}

nlohmann::json Device::dump_maps_json() {
  nlohmann::json maps = nlohmann::json::object();
  for (size_t k = 0; k < maps_.size(); ++k) {
    const MapInfo m = maps_[k];
    nlohmann::json list = nlohmann::json::array();
    for (auto& [key, value] : map_dump(m.name)) {
      nlohmann::json ent{{"key", bpf::to_hex(key)}};
      if (m.percpu) {
        nlohmann::json vals = nlohmann::json::array();
        for (unsigned c = 0; c < cfg_.map_cpus; ++c)
          vals.push_back(bpf::to_hex(value.data() + c * round8(m.value_size), m.value_size));
        ent["values"] = vals;
      } else if (m.type == BPF_MAP_TYPE_PROG_ARRAY && value.size() == 4) {
        uint32_t slot;
        std::memcpy(&slot, value.data(), 4);
        if (slot < img_.programs.size())
          ent["prog"] = img_.programs[slot].name;
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
    maps[m.name] = list;
  }
  return nlohmann::json{{"maps", maps}};
}

uint64_t Device::counter(unsigned i) {
  if (i >= NPU_NUM_COUNTERS)
    throw DeviceError(fmt::format("device: no counter {} (there are {})", i, NPU_NUM_COUNTERS));
  return m_->read64(cls(NPU_CLS_COUNTERS) + 8 * uint64_t(i));
}

}  // namespace npu::driver
