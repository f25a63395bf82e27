// NPU images through libelf. The reader checks every offset and size against
// the file before it looks at the bytes, so a corrupt file is an ImageError.
#include "compiler/npu/image.h"

#include "firmware/abi.h"

#include <fmt/format.h>
#include <gelf.h>
#include <libelf.h>

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

namespace npu {
namespace {

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

void write_fd(const Object& obj, int fd, const std::string& path) {
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
  for (size_t i = 1; i < shnum; ++i) {
    const GElf_Shdr& sh = raw[i].sh;
    const std::string& sname = raw[i].name;
    if (sh.sh_type == SHT_SYMTAB) {
      if (symtab) throw bad("more than one symbol table");
      symtab = i;
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
  return img;
}

}  // namespace npu
