// BPF ELF front end. libelf reads sections, symbols and relocations; libbpf
// supplies what it already knows how to parse (BTF-defined maps and global
// data maps through bpf_object__open_mem, BTF strings, section -> program
// type). Relocation and subprogram linking are done here because libbpf 1.1
// only applies them while loading into a kernel.
#include "compiler/bpf/program.h"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>

#include <sys/wait.h>
#include <unistd.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <optional>

#ifndef EM_BPF
#define EM_BPF 247
#endif

namespace bpf {
namespace {

constexpr uint32_t kRelocLddw = 1;   // R_BPF_64_64: lddw immediate
constexpr uint32_t kRelocCall = 10;  // R_BPF_64_32: call immediate

struct Section {
  std::string name;
  GElf_Shdr hdr{};
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool exec() const { return hdr.sh_type == SHT_PROGBITS && (hdr.sh_flags & SHF_EXECINSTR); }
};

struct Symbol {
  std::string name;
  uint64_t value = 0;
  uint64_t size = 0;
  uint16_t shndx = 0;
  uint8_t type = 0;
  uint8_t bind = 0;
};

struct Reloc {
  uint32_t type;
  uint32_t sym;
};

// Sections known not to hold programs, maps or data the program references.
bool is_metadata_section(const std::string& n) {
  return n.empty() || n == ".BTF" || n == ".BTF.ext" || n == ".symtab" || n == ".strtab" ||
         n == ".shstrtab" || n == "license" || n == "version" || n == ".llvm_addrsig" ||
         n.rfind(".debug", 0) == 0 || n.rfind(".rel", 0) == 0 || n == ".eh_frame";
}

bool is_data_section(const std::string& n) {
  for (const char* p : {".data", ".rodata", ".bss"}) {
    size_t l = std::strlen(p);
    if (n.compare(0, l, p) == 0 && (n.size() == l || n[l] == '.')) return true;
  }
  return false;
}

class ElfReader {
 public:
  ElfReader(std::vector<uint8_t> bytes, const std::string& path)
      : bytes_(std::move(bytes)), path_(path) {
    if (elf_version(EV_CURRENT) == EV_NONE) fail("libelf initialisation failed");
    if (bytes_.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes_.data(), ELFMAG, SELFMAG) != 0)
      fail("not an ELF file");
    elf_ = elf_memory(reinterpret_cast<char*>(bytes_.data()), bytes_.size());
    if (!elf_) fail(std::string("malformed ELF: ") + elf_errmsg(-1));
    GElf_Ehdr eh;
    if (!gelf_getehdr(elf_, &eh)) fail(std::string("malformed ELF header: ") + elf_errmsg(-1));
    if (eh.e_ident[EI_CLASS] != ELFCLASS64) fail("not a 64-bit ELF object");
    if (eh.e_ident[EI_DATA] != ELFDATA2LSB) fail("not a little-endian BPF object");
    if (eh.e_machine != EM_BPF) fail(fmt::format("not a BPF object (e_machine {})", eh.e_machine));
    if (eh.e_type != ET_REL) fail("not a relocatable object (compile with clang -c)");
    read_sections(eh);
  }
  ~ElfReader() {
    if (elf_) elf_end(elf_);
  }
  ElfReader(const ElfReader&) = delete;
  ElfReader& operator=(const ElfReader&) = delete;

  [[noreturn]] void fail(const std::string& why) const { throw LoadError(path_ + ": " + why); }

  const std::vector<uint8_t>& bytes() const { return bytes_; }
  std::vector<Section> sections;
  std::vector<Symbol> symbols;
  // Relocations of each section, keyed by byte offset within it.
  std::map<size_t, std::map<uint64_t, Reloc>> relocs;

  int find_section(const std::string& name) const {
    for (size_t i = 0; i < sections.size(); ++i)
      if (sections[i].name == name) return static_cast<int>(i);
    return -1;
  }

 private:
  void read_sections(const GElf_Ehdr& eh) {
    size_t shstrndx = 0;
    if (elf_getshdrstrndx(elf_, &shstrndx) != 0) fail("no section name table");
    size_t n = 0;
    if (elf_getshdrnum(elf_, &n) != 0) fail("cannot count sections");
    sections.resize(n);
    for (size_t i = 1; i < n; ++i) {
      Elf_Scn* scn = elf_getscn(elf_, i);
      Section& s = sections[i];
      if (!scn || !gelf_getshdr(scn, &s.hdr)) fail(fmt::format("malformed section header {}", i));
      const char* nm = elf_strptr(elf_, shstrndx, s.hdr.sh_name);
      if (!nm) fail(fmt::format("section {} has no name", i));
      s.name = nm;
      if (s.hdr.sh_type == SHT_NOBITS) {
        s.size = s.hdr.sh_size;
        continue;
      }
      if (s.hdr.sh_offset > bytes_.size() || s.hdr.sh_size > bytes_.size() - s.hdr.sh_offset)
        fail(fmt::format("section '{}' extends past the end of the file (truncated?)", s.name));
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (!d && s.hdr.sh_size) fail(fmt::format("cannot read section '{}'", s.name));
      if (d) {
        s.data = static_cast<const uint8_t*>(d->d_buf);
        s.size = d->d_size;
      }
    }
    for (size_t i = 1; i < n; ++i) {
      if (sections[i].hdr.sh_type == SHT_SYMTAB) read_symbols(i);
    }
    if (symbols.empty()) fail("no symbol table");
    for (size_t i = 1; i < n; ++i) {
      const Section& s = sections[i];
      if (s.hdr.sh_type == SHT_RELA) fail(fmt::format("unexpected RELA section '{}'", s.name));
      if (s.hdr.sh_type != SHT_REL) continue;
      if (s.hdr.sh_info >= n) fail(fmt::format("relocation section '{}' has a bad target", s.name));
      size_t cnt = s.hdr.sh_entsize ? s.size / s.hdr.sh_entsize : 0;
      Elf_Data* d = elf_getdata(elf_getscn(elf_, i), nullptr);
      for (size_t k = 0; k < cnt; ++k) {
        GElf_Rel r;
        if (!gelf_getrel(d, static_cast<int>(k), &r))
          fail(fmt::format("bad relocation in '{}'", s.name));
        uint32_t sym = GELF_R_SYM(r.r_info);
        if (sym >= symbols.size())
          fail(fmt::format("relocation in '{}' names symbol {} out of range", s.name, sym));
        relocs[s.hdr.sh_info][r.r_offset] =
            Reloc{static_cast<uint32_t>(GELF_R_TYPE(r.r_info)), sym};
      }
    }
  }

  void read_symbols(size_t idx) {
    const Section& s = sections[idx];
    Elf_Data* d = elf_getdata(elf_getscn(elf_, idx), nullptr);
    size_t cnt = s.hdr.sh_entsize ? s.size / s.hdr.sh_entsize : 0;
    symbols.resize(cnt);
    for (size_t k = 0; k < cnt; ++k) {
      GElf_Sym sym;
      if (!gelf_getsym(d, static_cast<int>(k), &sym)) fail("malformed symbol table");
      const char* nm = elf_strptr(elf_, s.hdr.sh_link, sym.st_name);
      Symbol& out = symbols[k];
      out.name = nm ? nm : "";
      out.value = sym.st_value;
      out.size = sym.st_size;
      out.shndx = sym.st_shndx;
      out.type = GELF_ST_TYPE(sym.st_info);
      out.bind = GELF_ST_BIND(sym.st_info);
    }
  }

  std::vector<uint8_t> bytes_;
  std::string path_;
  Elf* elf_ = nullptr;
};

std::vector<uint8_t> read_file(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) throw LoadError(path + ": is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw LoadError(path + ": cannot open: " + std::strerror(errno));
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// A function of the object: a FUNC symbol inside an executable section.
struct Func {
  size_t sec;
  uint64_t start;  // insn index within the section
  uint64_t len;    // in insns
  std::string name;
};

class Linker {
 public:
  Linker(ElfReader& elf, Object& obj, std::map<size_t, int>& sec_map,
         std::map<uint32_t, int>& sym_map, const struct btf* btf)
      : elf_(elf), obj_(obj), sec_map_(sec_map), sym_map_(sym_map), btf_(btf) {
    for (const Symbol& s : elf.symbols) {
      if (s.type != STT_FUNC || s.shndx == 0 || s.shndx >= elf.sections.size()) continue;
      const Section& sec = elf.sections[s.shndx];
      if (!sec.exec()) continue;
      if (s.value % 8 || s.size % 8 || s.value > sec.size || s.size > sec.size - s.value)
        elf.fail(fmt::format("function '{}' is not within section '{}'", s.name, sec.name));
      funcs_.push_back(Func{s.shndx, s.value / 8, s.size / 8, s.name});
    }
    parse_line_info();
  }

  const std::vector<Func>& funcs() const { return funcs_; }

  Program link(const Func& entry) {
    Program p;
    p.name = entry.name;
    p.section = elf_.sections[entry.sec].name;
    placed_.clear();
    std::vector<const Func*> queue{&entry};
    placed_[&entry] = 0;
    for (size_t qi = 0; qi < queue.size(); ++qi) {
      const Func* f = queue[qi];
      uint32_t base = static_cast<uint32_t>(p.insns.size());
      p.func_starts.push_back(base);
      p.func_names.push_back(f->name);
      const Section& sec = elf_.sections[f->sec];
      const Insn* src = reinterpret_cast<const Insn*>(sec.data) + f->start;
      p.insns.insert(p.insns.end(), src, src + f->len);
      add_lines(p, *f, base);
      for (uint64_t k = 0; k < f->len; ++k) {
        Insn& in = p.insns[base + k];
        uint64_t sec_insn = f->start + k;
        const Reloc* r = reloc_at(f->sec, sec_insn);
        if (in.is_lddw()) {
          if (k + 1 >= f->len)
            elf_.fail(fmt::format("{}: lddw at insn {} is truncated", p.section, sec_insn));
          if (r) relocate_lddw(p, f, base + k, sec_insn, *r, queue);
          ++k;
          continue;
        }
        if (in.is_call() && (in.src == BPF_PSEUDO_CALL || r)) {
          const Func* tgt = nullptr;
          uint64_t tgt_insn = 0;
          if (r) {
            if (r->type != kRelocCall)
              elf_.fail(fmt::format("{}: insn {}: unsupported call relocation type {}", p.section,
                                    sec_insn, r->type));
            const Symbol& sym = elf_.symbols[r->sym];
            if (sym.shndx == 0)
              elf_.fail(
                  fmt::format("{}: insn {} calls extern function '{}' (kfuncs are not supported)",
                              p.section, sec_insn, sym.name));
            tgt_insn = sym.value / 8 + static_cast<int64_t>(in.imm) + 1;
            tgt = func_at(sym.shndx, tgt_insn, p.section, sec_insn);
          } else {
            tgt_insn = sec_insn + static_cast<int64_t>(in.imm) + 1;
            tgt = func_at(f->sec, tgt_insn, p.section, sec_insn);
          }
          uint32_t at = place(tgt, queue);
          in.src = BPF_PSEUDO_CALL;
          in.imm = static_cast<int32_t>(at + (tgt_insn - tgt->start)) -
                   static_cast<int32_t>(base + k + 1);
        } else if (r) {
          elf_.fail(fmt::format("{}: unexpected relocation at insn {} (opcode 0x{:02x})", p.section,
                                sec_insn, in.code));
        }
      }
    }
    std::stable_sort(p.lines.begin(), p.lines.end(),
                     [](const LineInfo& a, const LineInfo& b) { return a.insn < b.insn; });
    return p;
  }

 private:
  const Reloc* reloc_at(size_t sec, uint64_t insn) const {
    auto s = elf_.relocs.find(sec);
    if (s == elf_.relocs.end()) return nullptr;
    auto r = s->second.find(insn * 8);
    return r == s->second.end() ? nullptr : &r->second;
  }

  const Func* func_at(size_t sec, uint64_t insn, const std::string& from, uint64_t at) const {
    for (const Func& f : funcs_)
      if (f.sec == sec && insn >= f.start && insn < f.start + f.len) return &f;
    elf_.fail(fmt::format("{}: insn {} refers to code at {}+{} outside any function", from, at,
                          elf_.sections[sec].name, insn));
  }

  // Returns the function's position if known, or queues it (position filled in later).
  uint32_t place(const Func* f, std::vector<const Func*>& queue) {
    auto it = placed_.find(f);
    if (it != placed_.end()) return it->second;
    // Queued functions are laid out in queue order: compute where this one will land.
    uint32_t at = 0;
    for (const Func* q : queue) at += static_cast<uint32_t>(q->len);
    placed_[f] = at;
    queue.push_back(f);
    return at;
  }

  void relocate_lddw(Program& p, const Func* f, size_t idx, uint64_t sec_insn, const Reloc& r,
                     std::vector<const Func*>& queue) {
    const Symbol& sym = elf_.symbols[r.sym];
    Insn& lo = p.insns[idx];
    Insn& hi = p.insns[idx + 1];
    if (r.type != kRelocLddw)
      elf_.fail(
          fmt::format("{}: insn {}: unsupported relocation type {}", p.section, sec_insn, r.type));
    if (sym.shndx == 0 || sym.shndx >= elf_.sections.size())
      elf_.fail(
          fmt::format("{}: insn {} references extern symbol '{}' (externs and kconfig are not "
                      "supported)",
                      p.section, sec_insn, sym.name));
    const Section& tsec = elf_.sections[sym.shndx];
    auto by_sym = sym_map_.find(r.sym);
    if (by_sym != sym_map_.end() && !obj_.maps[by_sym->second].global_data) {
      lo.src = BPF_PSEUDO_MAP_FD;
      lo.imm = by_sym->second;
      hi.imm = 0;
      return;
    }
    if (tsec.exec()) {
      uint64_t tgt_insn = (sym.value + static_cast<uint32_t>(lo.imm)) / 8;
      const Func* tgt = func_at(sym.shndx, tgt_insn, p.section, sec_insn);
      uint32_t at = place(tgt, queue);
      lo.src = BPF_PSEUDO_FUNC;
      lo.imm = static_cast<int32_t>(at + (tgt_insn - tgt->start)) - static_cast<int32_t>(idx + 1);
      hi.imm = 0;
      return;
    }
    auto by_sec = sec_map_.find(sym.shndx);
    if (by_sec == sec_map_.end())
      elf_.fail(
          fmt::format("{}: insn {} references '{}' in section '{}', which is not a map or "
                      "global data",
                      p.section, sec_insn, sym.name, tsec.name));
    uint64_t off = static_cast<uint32_t>(lo.imm);
    if (sym.type != STT_SECTION) off += sym.value;
    const MapDef& m = obj_.maps[by_sec->second];
    if (off >= std::max<uint64_t>(m.value_size, 1))
      elf_.fail(
          fmt::format("{}: insn {}: offset {} is outside '{}'", p.section, sec_insn, off, m.name));
    lo.src = BPF_PSEUDO_MAP_VALUE;
    lo.imm = by_sec->second;
    hi.imm = static_cast<int32_t>(off);
  }

  struct RawLine {
    uint64_t sec_insn;
    uint32_t file_off, line_off, line_col;
  };

  void parse_line_info() {
    int idx = elf_.find_section(".BTF.ext");
    if (idx < 0 || !btf_) return;
    const Section& s = elf_.sections[idx];
    auto u32 = [&](size_t off) -> uint32_t {
      if (off + 4 > s.size) elf_.fail(".BTF.ext is truncated");
      uint32_t v;
      std::memcpy(&v, s.data + off, 4);
      return v;
    };
    if (s.size < 24) elf_.fail(".BTF.ext is truncated");
    uint16_t magic;
    std::memcpy(&magic, s.data, 2);
    if (magic != 0xeB9F) elf_.fail(".BTF.ext has a bad magic number");
    uint32_t hdr_len = u32(4);
    uint64_t start = uint64_t(hdr_len) + u32(16);
    uint64_t end = start + u32(20);
    if (end > s.size) elf_.fail(".BTF.ext line info is out of bounds");
    if (end == start) return;
    uint32_t rec = u32(start);
    if (rec < 16) elf_.fail(".BTF.ext line info records are too small");
    for (uint64_t off = start + 4; off < end;) {
      const char* sec_name = btf__name_by_offset(btf_, u32(off));
      uint32_t n = u32(off + 4);
      off += 8;
      if (uint64_t(n) * rec > end - off) elf_.fail(".BTF.ext line info is truncated");
      int sidx = sec_name ? elf_.find_section(sec_name) : -1;
      for (uint32_t k = 0; k < n; ++k, off += rec) {
        if (sidx < 0) continue;
        lines_[sidx].push_back(RawLine{u32(off) / 8, u32(off + 4), u32(off + 8), u32(off + 12)});
      }
    }
  }

  void add_lines(Program& p, const Func& f, uint32_t base) {
    auto it = lines_.find(f.sec);
    if (it == lines_.end()) return;
    for (const RawLine& l : it->second) {
      if (l.sec_insn < f.start || l.sec_insn >= f.start + f.len) continue;
      LineInfo li;
      li.insn = base + static_cast<uint32_t>(l.sec_insn - f.start);
      const char* file = btf__name_by_offset(btf_, l.file_off);
      const char* text = btf__name_by_offset(btf_, l.line_off);
      li.file = file ? file : "";
      li.source = text ? text : "";
      li.line = l.line_col >> 10;
      li.col = l.line_col & 0x3ff;
      p.lines.push_back(std::move(li));
    }
  }

  ElfReader& elf_;
  Object& obj_;
  std::map<size_t, int>& sec_map_;
  std::map<uint32_t, int>& sym_map_;
  const struct btf* btf_;
  std::vector<Func> funcs_;
  std::map<const Func*, uint32_t> placed_;
  std::map<size_t, std::vector<RawLine>> lines_;
};

// Legacy `struct bpf_map_def` maps in the "maps" section, which libbpf 1.x no longer reads.
void read_legacy_maps(ElfReader& elf, size_t sec_idx, Object& obj,
                      std::map<uint32_t, int>& sym_map) {
  const Section& sec = elf.sections[sec_idx];
  for (uint32_t i = 0; i < elf.symbols.size(); ++i) {
    const Symbol& s = elf.symbols[i];
    if (s.shndx != sec_idx || s.type == STT_SECTION || s.name.empty()) continue;
    constexpr size_t kDefSize = 5 * sizeof(uint32_t);
    if (!sec.data || s.value > sec.size || kDefSize > sec.size - s.value)
      elf.fail(fmt::format("legacy map '{}' does not fit in section 'maps'", s.name));
    uint32_t f[5];
    std::memcpy(f, sec.data + s.value, kDefSize);
    MapDef m;
    m.name = s.name;
    m.type = f[0];
    m.key_size = f[1];
    m.value_size = f[2];
    m.max_entries = f[3];
    m.flags = f[4];
    sym_map[i] = static_cast<int>(obj.maps.size());
    obj.maps.push_back(std::move(m));
  }
}

struct ObjCloser {
  void operator()(bpf_object* o) const { bpf_object__close(o); }
};

int silent_print(enum libbpf_print_level, const char*, va_list) {
  return 0;
}

// libbpf 1.1 is not hardened against malformed objects: some corrupt BTF that
// btf__new() accepts crashes bpf_object__open_mem(). Try the open in a child
// process first, so bad input gives an error line instead of taking us down.
void check_libbpf_survives(const ElfReader& elf, const bpf_object_open_opts* opts) {
  std::fflush(nullptr);
  pid_t pid = fork();
  if (pid < 0) return;  // cannot isolate: proceed as libbpf would anyway
  if (pid == 0) {
    libbpf_set_print(silent_print);
    bpf_object* o = bpf_object__open_mem(elf.bytes().data(), elf.bytes().size(), opts);
    _exit(libbpf_get_error(o) ? 1 : 0);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status))
    elf.fail(
        fmt::format("malformed object: libbpf crashed parsing it (signal {})", WTERMSIG(status)));
}

// Maps that libbpf finds (BTF-defined and global data), matched to their ELF symbols/sections.
void read_libbpf_maps(ElfReader& elf, const std::string& path, Object& obj,
                      std::map<size_t, int>& sec_map, std::map<uint32_t, int>& sym_map) {
  // Named as bpf_object__open_file names it (basename up to the first '.'), so global data
  // maps get the names users see in bpftool.
  std::string objname = path.substr(path.find_last_of('/') + 1);
  objname = objname.substr(0, objname.find('.'));
  LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = objname.c_str());
  check_libbpf_survives(elf, &opts);
  auto old = libbpf_set_print(silent_print);
  bpf_object* raw = bpf_object__open_mem(elf.bytes().data(), elf.bytes().size(), &opts);
  int err = libbpf_get_error(raw);
  libbpf_set_print(old);
  if (err) elf.fail(fmt::format("libbpf cannot open the object: {}", std::strerror(-err)));
  std::unique_ptr<bpf_object, ObjCloser> o(raw);
  int maps_sec = elf.find_section(".maps");
  bpf_map* map;
  bpf_object__for_each_map(map, o.get()) {
    MapDef m;
    m.name = bpf_map__name(map);
    m.type = bpf_map__type(map);
    m.key_size = bpf_map__key_size(map);
    m.value_size = bpf_map__value_size(map);
    m.max_entries = bpf_map__max_entries(map);
    m.flags = bpf_map__map_flags(map);
    m.extra = bpf_map__map_extra(map);
    int idx = static_cast<int>(obj.maps.size());
    if (bpf_map__is_internal(map)) {
      m.global_data = true;
      size_t sz = 0;
      const void* init = bpf_map__initial_value(map, &sz);
      if (init && sz) {
        auto* b = static_cast<const uint8_t*>(init);
        m.initial.assign(b, b + sz);
      }
      // libbpf names global data maps "<obj prefix><section>" or, for custom sections, by
      // the section name, truncated to 15 characters: match the section by that suffix.
      int found = -1;
      for (size_t s = 1; s < elf.sections.size(); ++s) {
        const std::string& sn = elf.sections[s].name;
        if (!is_data_section(sn) || elf.sections[s].size != m.value_size) continue;
        std::string tail = sn.substr(0, std::min<size_t>(sn.size(), m.name.size()));
        bool suffix = m.name.size() >= sn.size() &&
                      m.name.compare(m.name.size() - sn.size(), sn.size(), sn) == 0;
        if (suffix || (m.name.size() == 15 && m.name.rfind(tail, 0) == 0) ||
            m.name.find(sn.substr(0, std::min<size_t>(sn.size(), 7))) != std::string::npos) {
          if (sec_map.count(s)) continue;
          found = static_cast<int>(s);
          if (suffix) break;
        }
      }
      if (found < 0)
        elf.fail(fmt::format("cannot find the section of global data map '{}'", m.name));
      sec_map[found] = idx;
    } else if (maps_sec >= 0) {
      for (uint32_t i = 0; i < elf.symbols.size(); ++i) {
        const Symbol& s = elf.symbols[i];
        if (s.shndx == static_cast<uint16_t>(maps_sec) && s.name == m.name) sym_map[i] = idx;
      }
    }
    obj.maps.push_back(std::move(m));
  }
  for (size_t i = 0; i < obj.maps.size(); ++i) {
    bpf_map* mm = bpf_object__find_map_by_name(o.get(), obj.maps[i].name.c_str());
    bpf_map* inner = mm ? bpf_map__inner_map(mm) : nullptr;
    if (inner) {
      MapDef in;
      in.name = obj.maps[i].name + ".inner";
      in.type = bpf_map__type(inner);
      in.key_size = bpf_map__key_size(inner);
      in.value_size = bpf_map__value_size(inner);
      in.max_entries = bpf_map__max_entries(inner);
      in.flags = bpf_map__map_flags(inner);
      obj.maps[i].inner_map = static_cast<int>(obj.maps.size());
      obj.maps.push_back(std::move(in));
    }
  }
}

struct BtfFree {
  void operator()(struct btf* b) const { btf__free(b); }
};

}  // namespace

Object load_object(const std::string& path) {
  // libbpf reports problems on stderr by default; ours are one line in LoadError.
  struct QuietLibbpf {
    libbpf_print_fn_t old = libbpf_set_print(silent_print);
    ~QuietLibbpf() { libbpf_set_print(old); }
  } quiet;
  ElfReader elf(read_file(path), path);
  Object obj;
  obj.path = path;

  int lic = elf.find_section("license");
  if (lic >= 0 && elf.sections[lic].data) {
    const char* b = reinterpret_cast<const char*>(elf.sections[lic].data);
    obj.license.assign(b, strnlen(b, elf.sections[lic].size));
  }

  std::unique_ptr<struct btf, BtfFree> btf;
  int btf_idx = elf.find_section(".BTF");
  if (btf_idx >= 0 && elf.sections[btf_idx].data) {
    struct btf* b = btf__new(elf.sections[btf_idx].data, elf.sections[btf_idx].size);
    if (libbpf_get_error(b)) elf.fail("malformed .BTF section");
    btf.reset(b);
  }

  std::map<size_t, int> sec_map;    // data section -> global data map
  std::map<uint32_t, int> sym_map;  // map symbol -> map
  int legacy = elf.find_section("maps");
  if (legacy >= 0) {
    read_legacy_maps(elf, legacy, obj, sym_map);
    // Global data needs libbpf's view, which refuses legacy objects: build it ourselves.
    for (size_t s = 1; s < elf.sections.size(); ++s) {
      const Section& sec = elf.sections[s];
      if (!is_data_section(sec.name) || sec.size == 0) continue;
      MapDef m;
      m.name = sec.name;
      m.type = BPF_MAP_TYPE_ARRAY;
      m.key_size = 4;
      m.value_size = static_cast<uint32_t>(sec.size);
      m.max_entries = 1;
      m.global_data = true;
      if (sec.name.rfind(".rodata", 0) == 0) m.flags = BPF_F_RDONLY_PROG;
      if (sec.data) m.initial.assign(sec.data, sec.data + sec.size);
      sec_map[s] = static_cast<int>(obj.maps.size());
      obj.maps.push_back(std::move(m));
    }
  } else {
    read_libbpf_maps(elf, path, obj, sec_map, sym_map);
  }

  // Every section must be something we understand.
  for (size_t s = 1; s < elf.sections.size(); ++s) {
    const Section& sec = elf.sections[s];
    if (sec.exec() || is_metadata_section(sec.name) || is_data_section(sec.name) ||
        sec.name == ".maps" || sec.name == "maps" || sec.hdr.sh_type == SHT_NULL ||
        sec.hdr.sh_type == SHT_STRTAB || sec.hdr.sh_type == SHT_SYMTAB)
      continue;
    elf.fail(fmt::format("unknown section '{}'", sec.name));
  }

  Linker linker(elf, obj, sec_map, sym_map, btf.get());
  for (const Func& f : linker.funcs()) {
    const Section& sec = elf.sections[f.sec];
    if (sec.name == ".text") continue;  // subprograms: linked into the programs that call them
    const Symbol* sym = nullptr;
    for (const Symbol& s : elf.symbols)
      if (s.name == f.name && s.shndx == f.sec) sym = &s;
    if (sym && sym->bind != STB_GLOBAL) continue;
    enum bpf_prog_type type;
    enum bpf_attach_type attach;
    if (libbpf_prog_type_by_name(sec.name.c_str(), &type, &attach) != 0)
      elf.fail(fmt::format("unknown program section '{}'", sec.name));
    Program p = linker.link(f);
    p.type = type;
    obj.programs.push_back(std::move(p));
  }
  if (obj.programs.empty()) elf.fail("no BPF programs in the object");
  for (MapDef& m : obj.maps) {
    // As libbpf does when it creates the map: one slot per possible CPU by default.
    if (m.type == BPF_MAP_TYPE_PERF_EVENT_ARRAY && m.max_entries == 0)
      m.max_entries = uint32_t(std::max(libbpf_num_possible_cpus(), 1));
    if (m.type == BPF_MAP_TYPE_UNSPEC || m.type > BPF_MAP_TYPE_USER_RINGBUF)
      elf.fail(fmt::format("map '{}' has unknown map type {}", m.name, m.type));
  }
  return obj;
}

}  // namespace bpf
