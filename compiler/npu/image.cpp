// NPU images through libelf. The reader checks every offset and size against
// the file before it looks at the bytes, so a corrupt file is an ImageError.
#include "compiler/npu/image.h"

#include "compiler/npu/isa.h"
#include "firmware/abi.h"

#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>
#include <linux/bpf.h>

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <set>

namespace npu {

static_assert(uint32_t(Object::RelocKind::kMapId) == NPU_RELOC_MAP_ID, "relocation kinds");
static_assert(uint32_t(Object::RelocKind::kMapValueLo) == NPU_RELOC_MAP_VALUE_LO,
              "relocation kinds");
static_assert(uint32_t(Object::RelocKind::kMapValueHi) == NPU_RELOC_MAP_VALUE_HI,
              "relocation kinds");
static_assert(uint32_t(Object::RelocKind::kHelper) == NPU_RELOC_HELPER, "relocation kinds");

namespace {

constexpr const char* kMetaName = ".npu.meta";
constexpr const char* kMapsName = ".npu.maps";
constexpr const char* kMapInitName = ".npu.mapinit";
constexpr const char* kRelName = ".npu.rel";
constexpr const char* kStrtabName = ".npu.strtab";

const std::pair<uint64_t, const char*> kFeatures[] = {
    {NPU_FEAT_TAIL_CALL, "tail_call"},
    {NPU_FEAT_ADJUST_HEAD, "adjust_head"},
    {NPU_FEAT_ADJUST_META, "adjust_meta"},
    {NPU_FEAT_ADJUST_TAIL, "adjust_tail"},
    {NPU_FEAT_REDIRECT, "redirect"},
    {NPU_FEAT_CSUM_DIFF, "csum_diff"},
    {NPU_FEAT_MAPS, "maps"},
    {NPU_FEAT_ATOMICS, "atomics"},
    {NPU_FEAT_CSUM, "csum"},
    {NPU_FEAT_HASH, "hash"},
    {NPU_FEAT_RAND, "rand"},
    {NPU_FEAT_TIME, "time"},
};

// A name as messages print it: control bytes as \xNN, so that the message
// stays one line of text.
std::string printable(const std::string& name) {
  std::string out;
  for (unsigned char c : name)
    out += c < 0x20 || c == 0x7f ? fmt::format("\\x{:02x}", c) : std::string(1, char(c));
  return out;
}

// The syntax letter of an instruction's IMM operand (i, j, m, s, q), or 0.
char imm_operand(Op op) {
  for (const char* p = op_info(op).syntax; *p; ++p)
    if (p[0] == '%' && p[1] && std::strchr("ijmsq", p[1])) return p[1];
  return 0;
}

void init_libelf() {
  if (elf_version(EV_CURRENT) == EV_NONE)
    throw ImageError(fmt::format("libelf: {}", elf_errmsg(-1)));
}

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

// Section names and symbol names: one NUL-separated table.
class StrTab {
 public:
  StrTab() : s_(1, '\0') {}
  uint32_t add(const std::string& name) {
    uint32_t at = uint32_t(s_.size());
    s_ += name;
    s_ += '\0';
    return at;
  }
  std::string& bytes() { return s_; }

 private:
  std::string s_;
};

bool is_rodata(const std::string& name) {
  return name == ".rodata" || name.rfind(".rodata.", 0) == 0;
}

// The compiled-program sections' bytes: records with names in one string table.
struct ProgramSections {
  std::vector<uint8_t> meta, maps, mapinit, rel;
  StrTab strtab;
};

template <typename T>
void append(std::vector<uint8_t>& b, const T& rec) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(&rec);
  b.insert(b.end(), p, p + sizeof rec);
}

ProgramSections program_sections(const Object& obj) {
  ProgramSections ps;
  std::map<std::string, uint32_t> names;
  auto name = [&](const std::string& n) {
    auto it = names.find(n);
    if (it != names.end()) return it->second;
    uint32_t at = ps.strtab.add(n);
    names.emplace(n, at);
    return at;
  };
  npu_image_meta meta{};
  meta.version = NPU_IMAGE_VERSION;
  meta.nprogs = uint32_t(obj.programs.size());
  meta.features = obj.features;
  append(ps.meta, meta);
  for (const Object::Program& p : obj.programs) {
    npu_image_prog r{};
    r.name = name(p.name);
    r.section = name(p.section);
    r.entry = p.entry;
    r.stack_size = p.stack_size;
    r.bpf_insns = p.bpf_insns;
    r.npu_insns = p.npu_insns;
    append(ps.meta, r);
  }
  for (const Object::Map& m : obj.maps) {
    npu_image_map r{};
    r.name = name(m.name);
    r.type = m.type;
    r.key_size = m.key_size;
    r.value_size = m.value_size;
    r.max_entries = m.max_entries;
    r.map_flags = m.flags;
    r.inner_map = m.inner_map;
    r.flags = m.global_data ? NPU_IMAGE_MAP_GLOBAL_DATA : 0;
    if (!m.initial.empty()) {
      r.init_off = ps.mapinit.size();
      r.init_size = uint32_t(m.initial.size());
      ps.mapinit.insert(ps.mapinit.end(), m.initial.begin(), m.initial.end());
    }
    append(ps.maps, r);
  }
  for (const Object::Reloc& x : obj.relocs) {
    npu_image_reloc r{};
    r.insn = x.insn;
    r.kind = uint32_t(x.kind);
    r.target = x.kind == Object::RelocKind::kHelper ? name(x.helper) : x.map;
    r.addend = x.addend;
    append(ps.rel, r);
  }
  return ps;
}

void write_fd(const Object& obj, int fd, const std::string& path) {
  check_image(obj, path);
  init_libelf();
  ElfPtr e(elf_begin(fd, ELF_C_WRITE, nullptr));
  auto fail = [&](const char* what) {
    throw ImageError(fmt::format("{}: {}: {}", path, what, elf_errmsg(-1)));
  };
  if (!e) fail("elf_begin");
  if (!gelf_newehdr(e.get(), ELFCLASS64)) fail("gelf_newehdr");
  GElf_Ehdr eh;
  if (!gelf_getehdr(e.get(), &eh)) fail("gelf_getehdr");
  eh.e_ident[EI_DATA] = ELFDATA2LSB;
  eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
  eh.e_type = ET_EXEC;
  eh.e_machine = EM_NPU;
  eh.e_version = EV_CURRENT;
  eh.e_entry = obj.entry;

  // Buffers libelf points into until elf_update.
  std::vector<std::vector<uint8_t>> bufs;
  StrTab shstr, str;
  auto add_section = [&](const std::string& name, uint32_t type, uint64_t flags, uint64_t addr,
                         uint64_t align, const void* data, size_t size, Elf_Type dtype) {
    Elf_Scn* scn = elf_newscn(e.get());
    if (!scn) fail("elf_newscn");
    if (size) {
      Elf_Data* d = elf_newdata(scn);
      if (!d) fail("elf_newdata");
      d->d_buf = const_cast<void*>(data);
      d->d_size = size;
      d->d_type = dtype;
      d->d_align = align;
      d->d_version = EV_CURRENT;
    }
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) fail("gelf_getshdr");
    sh.sh_name = shstr.add(name);
    sh.sh_type = type;
    sh.sh_flags = flags;
    sh.sh_addr = addr;
    sh.sh_addralign = align;
    if (!gelf_update_shdr(scn, &sh)) fail("gelf_update_shdr");
    return scn;
  };

  std::vector<size_t> index;  // ELF section index of obj.sections[i]
  for (const Object::Section& s : obj.sections) {
    std::vector<uint8_t> b;
    if (s.code) {
      b.resize(s.words.size() * NPU_INSN_BYTES);
      for (size_t i = 0; i < s.words.size(); ++i)
        for (unsigned k = 0; k < 8; ++k) b[i * 8 + k] = uint8_t(s.words[i] >> (8 * k));
    } else {
      b = s.bytes;
    }
    bufs.push_back(std::move(b));
    uint64_t flags = SHF_ALLOC | (s.code ? SHF_EXECINSTR : is_rodata(s.name) ? 0 : SHF_WRITE);
    Elf_Scn* scn =
        add_section(s.name, SHT_PROGBITS, flags, s.code ? s.base * NPU_INSN_BYTES : s.base,
                    s.code ? 8 : 1, bufs.back().data(), bufs.back().size(), ELF_T_BYTE);
    index.push_back(elf_ndxscn(scn));
  }

  // A compiled program's sections, linked to their string table.
  if (obj.is_program_image()) {
    ProgramSections ps = program_sections(obj);
    std::vector<Elf_Scn*> linked;
    auto add_npu = [&](const char* name, std::vector<uint8_t>& b, size_t entsize, bool link) {
      if (b.empty()) return;
      bufs.push_back(std::move(b));
      Elf_Scn* scn = add_section(name, SHT_PROGBITS, 0, 0, 8, bufs.back().data(),
                                 bufs.back().size(), ELF_T_BYTE);
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) fail("gelf_getshdr");
      sh.sh_entsize = entsize;
      if (!gelf_update_shdr(scn, &sh)) fail("gelf_update_shdr");
      if (link) linked.push_back(scn);
    };
    add_npu(kMetaName, ps.meta, 0, true);
    add_npu(kMapsName, ps.maps, sizeof(npu_image_map), true);
    add_npu(kMapInitName, ps.mapinit, 0, false);
    add_npu(kRelName, ps.rel, sizeof(npu_image_reloc), true);
    std::string& st = ps.strtab.bytes();
    bufs.emplace_back(st.begin(), st.end());
    Elf_Scn* strscn = add_section(kStrtabName, SHT_STRTAB, 0, 0, 1, bufs.back().data(),
                                  bufs.back().size(), ELF_T_BYTE);
    for (Elf_Scn* scn : linked) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh)) fail("gelf_getshdr");
      sh.sh_link = uint32_t(elf_ndxscn(strscn));
      if (!gelf_update_shdr(scn, &sh)) fail("gelf_update_shdr");
    }
  }

  // Symbols: the null symbol, locals, then globals (sh_info = first global).
  std::vector<Elf64_Sym> syms(1);
  std::vector<const Object::Symbol*> order;
  for (const Object::Symbol& s : obj.symbols) order.push_back(&s);
  std::stable_partition(order.begin(), order.end(),
                        [](const Object::Symbol* s) { return !s->global; });
  size_t first_global = 1;
  for (const Object::Symbol* s : order) {
    Elf64_Sym y{};
    y.st_name = str.add(s->name);
    y.st_value = s->value;
    unsigned type = STT_NOTYPE;
    if (s->section < 0 || size_t(s->section) >= obj.sections.size()) {
      y.st_shndx = SHN_ABS;
    } else {
      y.st_shndx = uint16_t(index[size_t(s->section)]);
      if (s->global) type = obj.sections[size_t(s->section)].code ? STT_FUNC : STT_OBJECT;
    }
    y.st_info = uint8_t(GELF_ST_INFO(s->global ? STB_GLOBAL : STB_LOCAL, type));
    y.st_other = STV_DEFAULT;
    syms.push_back(y);
    if (!s->global) first_global = syms.size();
  }
  Elf_Scn* symscn = add_section(".symtab", SHT_SYMTAB, 0, 0, 8, syms.data(),
                                syms.size() * sizeof(Elf64_Sym), ELF_T_SYM);
  Elf_Scn* strscn = add_section(".strtab", SHT_STRTAB, 0, 0, 1, str.bytes().data(),
                                str.bytes().size(), ELF_T_BYTE);
  GElf_Shdr sh;
  if (!gelf_getshdr(symscn, &sh)) fail("gelf_getshdr");
  sh.sh_link = uint32_t(elf_ndxscn(strscn));
  sh.sh_info = uint32_t(first_global);
  sh.sh_entsize = sizeof(Elf64_Sym);
  if (!gelf_update_shdr(symscn, &sh)) fail("gelf_update_shdr");
  // The section name table names itself too, so its name goes in first.
  uint32_t shstr_name = shstr.add(".shstrtab");
  Elf_Scn* shscn = elf_newscn(e.get());
  if (!shscn) fail("elf_newscn");
  Elf_Data* d = elf_newdata(shscn);
  if (!d) fail("elf_newdata");
  d->d_buf = shstr.bytes().data();
  d->d_size = shstr.bytes().size();
  d->d_type = ELF_T_BYTE;
  d->d_align = 1;
  d->d_version = EV_CURRENT;
  if (!gelf_getshdr(shscn, &sh)) fail("gelf_getshdr");
  sh.sh_name = shstr_name;
  sh.sh_type = SHT_STRTAB;
  sh.sh_addralign = 1;
  if (!gelf_update_shdr(shscn, &sh)) fail("gelf_update_shdr");
  eh.e_shstrndx = uint16_t(elf_ndxscn(shscn));
  if (!gelf_update_ehdr(e.get(), &eh)) fail("gelf_update_ehdr");
  if (elf_update(e.get(), ELF_C_WRITE) < 0) fail("elf_update");
}

uint64_t le64(const uint8_t* p) {
  uint64_t v = 0;
  for (unsigned k = 0; k < 8; ++k) v |= uint64_t(p[k]) << (8 * k);
  return v;
}

}  // namespace

void write_image(const Object& obj, const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw ImageError(fmt::format("{}: cannot create ({})", path, std::strerror(errno)));
  try {
    write_fd(obj, fd, path);
  } catch (...) {
    close(fd);
    std::remove(path.c_str());
    throw;
  }
  if (close(fd) != 0) throw ImageError(fmt::format("{}: {}", path, std::strerror(errno)));
}

std::vector<uint8_t> image_bytes(const Object& obj) {
  FILE* f = std::tmpfile();
  if (!f) throw ImageError(fmt::format("tmpfile: {}", std::strerror(errno)));
  std::unique_ptr<FILE, int (*)(FILE*)> guard(f, std::fclose);
  write_fd(obj, fileno(f), "(memory)");
  off_t size = lseek(fileno(f), 0, SEEK_END);
  std::vector<uint8_t> b(size_t(std::max<off_t>(size, 0)));
  if (pread(fileno(f), b.data(), b.size(), 0) != ssize_t(b.size()))
    throw ImageError(fmt::format("tmpfile: {}", std::strerror(errno)));
  return b;
}

Image read_image(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ImageError(fmt::format("{}: cannot read: is a directory", path));
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ImageError(fmt::format("{}: cannot open ({})", path, std::strerror(errno)));
  std::vector<uint8_t> b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_image(b, path);
}

Image parse_image(const std::vector<uint8_t>& bytes, const std::string& name) {
  auto bad = [&](const std::string& why) -> ImageError {
    return ImageError(fmt::format("{}: {}", name, why));
  };
  const size_t n = bytes.size();
  if (n < EI_NIDENT || std::memcmp(bytes.data(), ELFMAG, SELFMAG) != 0)
    throw bad("not an ELF file");
  if (bytes[EI_CLASS] != ELFCLASS64) throw bad("not a 64-bit ELF file");
  if (bytes[EI_DATA] != ELFDATA2LSB) throw bad("not a little-endian ELF file");
  if (n < sizeof(Elf64_Ehdr)) throw bad("truncated ELF header");
  init_libelf();
  // libelf reads from a private copy (elf_memory wants a mutable buffer).
  std::vector<char> copy(bytes.begin(), bytes.end());
  ElfPtr e(elf_memory(copy.data(), copy.size()));
  if (!e || elf_kind(e.get()) != ELF_K_ELF) throw bad("not an ELF file");
  GElf_Ehdr eh;
  if (!gelf_getehdr(e.get(), &eh)) throw bad(fmt::format("bad ELF header ({})", elf_errmsg(-1)));
  if (eh.e_machine != EM_NPU)
    throw bad(fmt::format("e_machine 0x{:x} is not EM_NPU (0x{:x})", eh.e_machine, EM_NPU));
  if (eh.e_type != ET_EXEC) throw bad(fmt::format("e_type {} is not ET_EXEC", eh.e_type));
  size_t shnum = 0, shstrndx = 0;
  if (elf_getshdrnum(e.get(), &shnum) != 0)
    throw bad(fmt::format("bad section header table ({})", elf_errmsg(-1)));
  if (shnum == 0) throw bad("no sections");
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) throw bad("bad e_shentsize");
  if (eh.e_shoff > n || (n - eh.e_shoff) / sizeof(Elf64_Shdr) < shnum)
    throw bad("truncated section header table");
  if (elf_getshdrstrndx(e.get(), &shstrndx) != 0 || shstrndx == 0 || shstrndx >= shnum)
    throw bad("bad section name table index");

  struct Raw {
    GElf_Shdr sh;
    std::string name;
  };
  std::vector<Raw> raw(shnum);
  for (size_t i = 1; i < shnum; ++i) {
    Elf_Scn* scn = elf_getscn(e.get(), i);
    if (!scn || !gelf_getshdr(scn, &raw[i].sh))
      throw bad(fmt::format("bad section header {} ({})", i, elf_errmsg(-1)));
    const GElf_Shdr& sh = raw[i].sh;
    if (sh.sh_type != SHT_NOBITS && (sh.sh_offset > n || sh.sh_size > n - sh.sh_offset))
      throw bad(fmt::format("section {} extends past the end of the file", i));
  }
  if (raw[shstrndx].sh.sh_type != SHT_STRTAB) throw bad("the section name table is no SHT_STRTAB");
  for (size_t i = 1; i < shnum; ++i) {
    const char* s = elf_strptr(e.get(), shstrndx, raw[i].sh.sh_name);
    if (!s) throw bad(fmt::format("section {}: bad name", i));
    raw[i].name = s;
  }

  Image img;
  img.entry = eh.e_entry;
  std::map<size_t, int> ours;  // ELF section index -> img.sections index
  size_t symtab = 0;
  // The compiled-program sections, by name: their ELF section index.
  std::map<std::string, size_t> npu_secs{
      {kMetaName, 0}, {kMapsName, 0}, {kMapInitName, 0}, {kRelName, 0}, {kStrtabName, 0}};
  for (size_t i = 1; i < shnum; ++i) {
    const GElf_Shdr& sh = raw[i].sh;
    const std::string& sname = raw[i].name;
    if (sh.sh_type == SHT_SYMTAB) {
      if (symtab) throw bad("more than one symbol table");
      symtab = i;
    }
    if (!(sh.sh_flags & SHF_ALLOC) && sname.rfind(".npu.", 0) == 0) {
      auto it = npu_secs.find(sname);
      if (it == npu_secs.end()) throw bad(fmt::format("unknown section {}", sname));
      if (it->second) throw bad(fmt::format("more than one {} section", sname));
      uint32_t want = sname == kStrtabName ? SHT_STRTAB : SHT_PROGBITS;
      if (sh.sh_type != want)
        throw bad(fmt::format("section {}: type {} is not {}", sname, sh.sh_type, want));
      it->second = i;
      continue;
    }
    if (!(sh.sh_flags & SHF_ALLOC)) continue;
    if (sh.sh_type != SHT_PROGBITS)
      throw bad(fmt::format("section {}: unsupported type {}", sname, sh.sh_type));
    const uint8_t* p = bytes.data() + sh.sh_offset;
    Object::Section s;
    s.name = sname;
    s.code = sh.sh_flags & SHF_EXECINSTR;
    if (s.code) {
      if (sh.sh_size % NPU_INSN_BYTES)
        throw bad(fmt::format("section {}: size {} is not a multiple of {}", sname, sh.sh_size,
                              NPU_INSN_BYTES));
      if (sh.sh_addr % NPU_INSN_BYTES)
        throw bad(fmt::format("section {}: address 0x{:x} is not a multiple of {}", sname,
                              sh.sh_addr, NPU_INSN_BYTES));
      s.base = sh.sh_addr / NPU_INSN_BYTES;
      for (uint64_t k = 0; k < sh.sh_size; k += 8) s.words.push_back(le64(p + k));
    } else {
      s.base = sh.sh_addr;
      s.bytes.assign(p, p + sh.sh_size);
    }
    if (s.base + s.size() < s.base)
      throw bad(fmt::format("section {}: runs past the end of the address space", sname));
    ours[i] = int(img.sections.size());
    img.sections.push_back(std::move(s));
  }

  if (symtab) {
    const GElf_Shdr& sh = raw[symtab].sh;
    if (sh.sh_entsize != sizeof(Elf64_Sym)) throw bad("symbol table: bad sh_entsize");
    if (sh.sh_link == 0 || sh.sh_link >= shnum || raw[sh.sh_link].sh.sh_type != SHT_STRTAB)
      throw bad("symbol table: bad string table link");
    Elf_Data* d = elf_getdata(elf_getscn(e.get(), symtab), nullptr);
    size_t count = sh.sh_size / sizeof(Elf64_Sym);
    if (count && (!d || d->d_size < count * sizeof(Elf64_Sym)))
      throw bad(fmt::format("symbol table: {}", elf_errmsg(-1)));
    for (size_t i = 1; i < count; ++i) {
      GElf_Sym y;
      if (!gelf_getsym(d, int(i), &y)) throw bad(fmt::format("symbol {}: unreadable", i));
      unsigned type = GELF_ST_TYPE(y.st_info), bind = GELF_ST_BIND(y.st_info);
      if (type == STT_SECTION || type == STT_FILE) continue;
      const char* sn = elf_strptr(e.get(), sh.sh_link, y.st_name);
      if (!sn) throw bad(fmt::format("symbol {}: bad name", i));
      if (!*sn) continue;
      Object::Symbol s;
      s.name = sn;
      s.value = y.st_value;
      s.global = bind == STB_GLOBAL || bind == STB_WEAK;
      if (y.st_shndx == SHN_ABS) {
        s.section = -1;
      } else {
        auto it = ours.find(y.st_shndx);
        if (it == ours.end())
          throw bad(fmt::format("symbol '{}' is in section {}, which holds no code or data", sn,
                                y.st_shndx));
        s.section = it->second;
      }
      img.symbols.push_back(std::move(s));
    }
  }

  // A compiled program's sections: records checked field by field here, their
  // meaning by check_image.
  size_t meta = npu_secs[kMetaName], maps = npu_secs[kMapsName], mapinit = npu_secs[kMapInitName],
         rel = npu_secs[kRelName], strtab = npu_secs[kStrtabName];
  if (!meta) {
    for (const auto& [sname, i] : npu_secs)
      if (i) throw bad(fmt::format("section {} without {}", sname, kMetaName));
  } else {
    if (!strtab) throw bad(fmt::format("{} without {}", kMetaName, kStrtabName));
    auto span = [&](size_t i) { return bytes.data() + raw[i].sh.sh_offset; };
    const uint8_t* st = span(strtab);
    const uint64_t st_size = raw[strtab].sh.sh_size;
    if (st_size == 0 || st[0] != 0 || st[st_size - 1] != 0)
      throw bad(fmt::format("section {}: not a table of NUL-terminated strings", kStrtabName));
    for (size_t i : {meta, maps, rel})
      if (i && raw[i].sh.sh_link != strtab)
        throw bad(fmt::format("section {}: sh_link {} is not {}", raw[i].name, raw[i].sh.sh_link,
                              kStrtabName));
    auto str = [&](uint32_t off, const std::string& what) {
      if (off >= st_size)
        throw bad(fmt::format("{}: name offset {} is outside {} ({} bytes)", what, off, kStrtabName,
                              st_size));
      return std::string(reinterpret_cast<const char*>(st + off));
    };
    auto records = [&](size_t i, size_t rec) -> uint64_t {
      if (!i) return 0;
      const GElf_Shdr& sh = raw[i].sh;
      if (sh.sh_entsize != rec)
        throw bad(
            fmt::format("section {}: sh_entsize {} is not {}", raw[i].name, sh.sh_entsize, rec));
      if (sh.sh_size % rec)
        throw bad(fmt::format("section {}: size {} is not a multiple of {}", raw[i].name,
                              sh.sh_size, rec));
      return sh.sh_size / rec;
    };

    const GElf_Shdr& msh = raw[meta].sh;
    npu_image_meta mh;
    if (msh.sh_size < sizeof mh)
      throw bad(
          fmt::format("section {}: {} bytes, shorter than its header", kMetaName, msh.sh_size));
    std::memcpy(&mh, span(meta), sizeof mh);
    if (mh.version != NPU_IMAGE_VERSION)
      throw bad(fmt::format("section {}: version {} (this reader knows {})", kMetaName, mh.version,
                            NPU_IMAGE_VERSION));
    if (msh.sh_size != sizeof mh + uint64_t(mh.nprogs) * sizeof(npu_image_prog))
      throw bad(fmt::format("section {}: {} bytes do not hold {} program records", kMetaName,
                            msh.sh_size, mh.nprogs));
    img.features = mh.features;
    for (uint32_t k = 0; k < mh.nprogs; ++k) {
      npu_image_prog r;
      std::memcpy(&r, span(meta) + sizeof mh + k * sizeof r, sizeof r);
      std::string what = fmt::format("program {}", k);
      if (r.reserved) throw bad(what + ": reserved field is not 0");
      Object::Program p;
      p.name = str(r.name, what);
      p.section = str(r.section, what);
      p.entry = r.entry;
      p.stack_size = r.stack_size;
      p.bpf_insns = r.bpf_insns;
      p.npu_insns = r.npu_insns;
      img.programs.push_back(std::move(p));
    }

    uint64_t init_size = mapinit ? raw[mapinit].sh.sh_size : 0;
    for (uint64_t k = 0, n = records(maps, sizeof(npu_image_map)); k < n; ++k) {
      npu_image_map r;
      std::memcpy(&r, span(maps) + k * sizeof r, sizeof r);
      std::string what = fmt::format("map {}", k);
      if (r.reserved) throw bad(what + ": reserved field is not 0");
      if (r.flags & ~uint32_t(NPU_IMAGE_MAP_GLOBAL_DATA))
        throw bad(fmt::format("{}: unknown flags 0x{:x}", what, r.flags));
      Object::Map m;
      m.name = str(r.name, what);
      m.type = r.type;
      m.key_size = r.key_size;
      m.value_size = r.value_size;
      m.max_entries = r.max_entries;
      m.flags = r.map_flags;
      m.inner_map = r.inner_map;
      m.global_data = r.flags & NPU_IMAGE_MAP_GLOBAL_DATA;
      if (r.init_size == 0 && r.init_off != 0)
        throw bad(fmt::format("{}: initial value offset {} without a size", what, r.init_off));
      if (r.init_off > init_size || r.init_size > init_size - r.init_off)
        throw bad(fmt::format("{}: initial value [{}, +{}) is outside {} ({} bytes)", what,
                              r.init_off, r.init_size, kMapInitName, init_size));
      if (r.init_size)
        m.initial.assign(span(mapinit) + r.init_off, span(mapinit) + r.init_off + r.init_size);
      img.maps.push_back(std::move(m));
    }

    for (uint64_t k = 0, n = records(rel, sizeof(npu_image_reloc)); k < n; ++k) {
      npu_image_reloc r;
      std::memcpy(&r, span(rel) + k * sizeof r, sizeof r);
      std::string what = fmt::format("relocation {}", k);
      if (r.kind == 0 || r.kind > NPU_RELOC_KINDS)
        throw bad(fmt::format("{}: unknown kind {}", what, r.kind));
      Object::Reloc x;
      x.insn = r.insn;
      x.kind = Object::RelocKind(r.kind);
      if (x.kind == Object::RelocKind::kHelper)
        x.helper = str(r.target, what);
      else
        x.map = r.target;
      x.addend = r.addend;
      img.relocs.push_back(std::move(x));
    }
  }
  check_image(img, name);
  return img;
}

uint64_t patch_imm(uint64_t word, uint64_t insn, uint64_t value) {
  Insn in;
  std::string why;
  if (!decode(word, &in, &why))
    throw ImageError(fmt::format("insn {}: cannot relocate: {}", insn, why));
  char operand = imm_operand(in.op);
  if (operand != 'i' && operand != 'j')
    throw ImageError(fmt::format("insn {}: '{}' has no immediate value or jump target", insn,
                                 full_mnemonic(in)));
  in.imm = int32_t(uint32_t(operand == 'j' ? value - insn : value));
  return encode(in);
}

const Object::Section* code_section_at(const Image& img, uint64_t insn) {
  for (const Object::Section& s : img.sections)
    if (s.code && insn >= s.base && insn - s.base < s.words.size()) return &s;
  return nullptr;
}

const char* reloc_kind_name(Object::RelocKind kind) {
  switch (kind) {
    case Object::RelocKind::kMapId:
      return "map_id";
    case Object::RelocKind::kMapValueLo:
      return "map_value_lo";
    case Object::RelocKind::kMapValueHi:
      return "map_value_hi";
    case Object::RelocKind::kHelper:
      return "helper";
  }
  return "unknown";
}

std::vector<std::string> feature_names(uint64_t features) {
  std::vector<std::string> out;
  for (unsigned bit = 0; bit < 64; ++bit) {
    uint64_t f = uint64_t(1) << bit;
    if (!(features & f)) continue;
    const char* n = nullptr;
    for (const auto& [v, name] : kFeatures)
      if (v == f) n = name;
    out.push_back(n ? std::string(n) : fmt::format("bit {}", bit));
  }
  return out;
}

void check_image(const Image& img, const std::string& name) {
  auto bad = [&](const std::string& why) -> ImageError {
    return ImageError(fmt::format("{}: {}", name, why));
  };
  auto check_name = [&](const std::string& n, const std::string& what) {
    if (n.empty()) throw bad(what + ": empty name");
    for (unsigned char c : n)
      if (c < 0x20 || c == 0x7f) throw bad(what + ": name with a control byte");
  };
  if (!img.is_program_image()) return;
  // Code is where it runs: one instruction address, one word.
  for (size_t i = 0; i < img.sections.size(); ++i)
    for (size_t k = 0; k < i; ++k) {
      const Object::Section &a = img.sections[k], &b = img.sections[i];
      if (a.code && b.code && a.base < b.end() && b.base < a.end())
        throw bad(fmt::format("code sections {} and {} overlap", a.name, b.name));
    }
  std::set<std::string> seen;
  for (size_t i = 0; i < img.programs.size(); ++i) {
    const Object::Program& p = img.programs[i];
    std::string what = fmt::format("program {} '{}'", i, printable(p.name));
    check_name(p.name, what);
    check_name(p.section, what + ": section");
    if (!seen.insert(p.name).second) throw bad(what + ": a second program of that name");
    if (!code_section_at(img, p.entry))
      throw bad(fmt::format("{}: entry {} is not in a code section", what, p.entry));
  }
  seen.clear();
  for (size_t i = 0; i < img.maps.size(); ++i) {
    const Object::Map& m = img.maps[i];
    std::string what = fmt::format("map {} '{}'", i, printable(m.name));
    check_name(m.name, what);
    if (!seen.insert(m.name).second) throw bad(what + ": a second map of that name");
    if (m.inner_map != -1 &&
        (m.inner_map < 0 || size_t(m.inner_map) >= img.maps.size() || size_t(m.inner_map) == i))
      throw bad(fmt::format("{}: inner map {} is no other map of the image", what, m.inner_map));
    if (m.global_data && (m.type != BPF_MAP_TYPE_ARRAY || m.key_size != 4 || m.max_entries != 1))
      throw bad(what + ": global data needs a one-entry array with 4-byte keys");
    if (!m.initial.empty() && !m.global_data)
      throw bad(what + ": initial contents are only for global data");
    if (!m.initial.empty() && m.initial.size() != m.value_size)
      throw bad(fmt::format("{}: initial contents of {} bytes for a value of {}", what,
                            m.initial.size(), m.value_size));
  }
  for (size_t i = 0; i < img.relocs.size(); ++i) {
    const Object::Reloc& r = img.relocs[i];
    std::string what =
        fmt::format("relocation {} ({} at insn {})", i, reloc_kind_name(r.kind), r.insn);
    if (i && r.insn <= img.relocs[i - 1].insn)
      throw bad(what + ": relocations must be sorted by instruction, one per instruction");
    const Object::Section* s = code_section_at(img, r.insn);
    if (!s) throw bad(what + ": not in a code section");
    Insn in;
    std::string why;
    if (!decode(s->words[r.insn - s->base], &in, &why))
      throw bad(fmt::format("{}: the instruction does not decode ({})", what, why));
    char operand = imm_operand(in.op);
    switch (r.kind) {
      case Object::RelocKind::kMapId:
      case Object::RelocKind::kMapValueLo:
      case Object::RelocKind::kMapValueHi: {
        if (r.map >= img.maps.size())
          throw bad(
              fmt::format("{}: map {} does not exist ({} maps)", what, r.map, img.maps.size()));
        if (!r.helper.empty()) throw bad(what + ": names a helper");
        if (operand != 'i')
          throw bad(
              fmt::format("{}: '{}' has no immediate value to patch", what, full_mnemonic(in)));
        const Object::Map& m = img.maps[r.map];
        if (r.kind == Object::RelocKind::kMapId) {
          if (r.addend) throw bad(fmt::format("{}: addend {} (map ids take none)", what, r.addend));
          break;
        }
        if (m.type != BPF_MAP_TYPE_ARRAY)
          throw bad(fmt::format("{}: map '{}' is not an array", what, m.name));
        // Global data (a one-entry array): inside its value. Other arrays:
        // inside the window of values (the compiler's inlined lookups).
        const uint64_t limit =
            m.max_entries == 1 ? m.value_size
                               : uint64_t(m.max_entries) * ((uint64_t(m.value_size) + 7) / 8 * 8);
        if (r.addend < 0 || uint64_t(r.addend) >= limit)
          throw bad(fmt::format("{}: addend {} is outside the {}-byte {} of map '{}'", what,
                                r.addend, limit, m.max_entries == 1 ? "value" : "window", m.name));
        break;
      }
      case Object::RelocKind::kHelper:
        check_name(r.helper, what + ": helper");
        if (r.map || r.addend) throw bad(what + ": a helper takes no map or addend");
        if (operand != 'i' && operand != 'j')
          throw bad(fmt::format("{}: '{}' has no immediate value or jump target to patch", what,
                                full_mnemonic(in)));
        break;
      default:
        throw bad(fmt::format("{}: unknown kind {}", what, uint32_t(r.kind)));
    }
  }
}

}  // namespace npu
