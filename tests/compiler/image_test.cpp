// The compiled-program parts of an image (docs/abi.md, "Image format"):
// programs, maps, relocations and features through write -> read, what
// readelf sees of them, every consistency rule of check_image, corrupt
// records, and the listing's annotations.
#include "compiler/npu/asm.h"
#include "compiler/npu/image.h"
#include "compiler/npu/isa.h"
#include "compiler/npu/listing.h"
#include "firmware/abi.h"

#include <elf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <random>

namespace {

namespace fs = std::filesystem;
using npu::Image;
using npu::Object;
using K = Object::RelocKind;

const char* const kCode = R"(
prog_a:
        ldp.1   r2, [r24]
        st.4    [r10-4], r2
map_ld: li      r1, 0
        add     r2, r10, -4
        mlookup r3, r1, r2
call1:  jal     lr, .
ro_lo:  liw     r4, 0
ro_hi:  lih     r4, 0
        exit    2
prog_b:
call2:  li      r5, 0
        jalr    lr, r5
        exit    1
)";

uint64_t sym(const Image& img, const std::string& name) {
  const Object::Symbol* s = img.find_symbol(name);
  EXPECT_NE(s, nullptr) << name;
  return s ? s->value : 0;
}

// A program image with every kind of part: two programs, maps (one map-in-map,
// global data with and without initial bytes), each relocation kind, features.
Image sample() {
  npu::AsmOptions o;
  o.section_base[".text"] = NPU_PROG_TEXT_BASE;
  Image img = npu::assemble(kCode, "prog.s", o);
  img.programs = {{"prog_a", "xdp", sym(img, "prog_a"), 24, 9, 9},
                  {"prog_b", "xdp/frags", sym(img, "prog_b"), 0, 3, 3}};
  Object::Map m;
  m.name = "table";
  m.type = BPF_MAP_TYPE_HASH;
  m.key_size = 4;
  m.value_size = 8;
  m.max_entries = 64;
  m.flags = BPF_F_NO_PREALLOC;
  img.maps.push_back(m);
  m.name = "outer";
  m.type = BPF_MAP_TYPE_ARRAY_OF_MAPS;
  m.value_size = 4;
  m.max_entries = 2;
  m.flags = 0;
  m.inner_map = 0;
  img.maps.push_back(m);
  m = Object::Map();
  m.name = ".rodata";
  m.type = BPF_MAP_TYPE_ARRAY;
  m.key_size = 4;
  m.value_size = 12;
  m.max_entries = 1;
  m.flags = BPF_F_RDONLY_PROG;
  m.global_data = true;
  m.initial = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
  img.maps.push_back(m);
  m.name = ".bss";
  m.value_size = 8;
  m.flags = 0;
  m.initial.clear();
  img.maps.push_back(m);
  auto reloc = [&](const char* label, K kind, uint32_t map, int64_t addend, const char* helper) {
    Object::Reloc r;
    r.insn = sym(img, label);
    r.kind = kind;
    r.map = map;
    r.addend = addend;
    r.helper = helper;
    img.relocs.push_back(r);
  };
  reloc("map_ld", K::kMapId, 0, 0, "");
  reloc("call1", K::kHelper, 0, 0, "xdp_adjust_head");
  reloc("ro_lo", K::kMapValueLo, 2, 4, "");
  reloc("ro_hi", K::kMapValueHi, 2, 4, "");
  reloc("call2", K::kHelper, 0, 0, "xdp_adjust_head");  // the same name, stored once
  img.features = NPU_FEAT_MAPS | NPU_FEAT_ADJUST_HEAD;
  return img;
}

std::string image_error(const std::vector<uint8_t>& b) {
  try {
    npu::parse_image(b, "x.npu");
  } catch (const npu::ImageError& e) {
    std::string what = e.what();
    EXPECT_EQ(what.find('\n'), std::string::npos) << what;
    return what;
  }
  return "(no error)";
}

std::string check_error(const Image& img) {
  try {
    npu::check_image(img, "x.npu");
  } catch (const npu::ImageError& e) {
    return e.what();
  }
  return "(no error)";
}

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Section headers of an image, by name.
struct Sections {
  explicit Sections(const std::vector<uint8_t>& b) {
    std::memcpy(&eh, b.data(), sizeof eh);
    for (size_t i = 0; i < eh.e_shnum; ++i) {
      Elf64_Shdr sh;
      std::memcpy(&sh, b.data() + header(i), sizeof sh);
      headers.push_back(sh);
    }
    const Elf64_Shdr& names = headers[eh.e_shstrndx];
    for (const Elf64_Shdr& sh : headers)
      index_names.push_back(reinterpret_cast<const char*>(b.data() + names.sh_offset + sh.sh_name));
  }
  size_t index(const std::string& name) const {
    for (size_t i = 0; i < index_names.size(); ++i)
      if (index_names[i] == name) return i;
    ADD_FAILURE() << "no section " << name;
    return 0;
  }
  size_t header(size_t i) const { return eh.e_shoff + i * eh.e_shentsize; }
  // File offset of the named section's byte `at`.
  size_t at(const std::string& name, size_t at = 0) const {
    return headers[index(name)].sh_offset + at;
  }
  Elf64_Ehdr eh;
  std::vector<Elf64_Shdr> headers;
  std::vector<std::string> index_names;
};

template <typename T>
void poke(std::vector<uint8_t>* b, size_t at, T v) {
  std::memcpy(b->data() + at, &v, sizeof v);
}

TEST(Image, ProgramPartsRoundTrip) {
  Image img = sample();
  ASSERT_TRUE(img.is_program_image());
  std::string path = testing::TempDir() + "program.npu";
  npu::write_image(img, path);
  Image back = npu::read_image(path);
  EXPECT_EQ(back, img);
  EXPECT_EQ(back.maps[3].initial.size(), 0u);
  EXPECT_EQ(back.relocs[1].helper, "xdp_adjust_head");
  EXPECT_EQ(npu::image_bytes(back), npu::image_bytes(img));
  // Each part takes part in equality.
  Image other = img;
  other.relocs[2].addend = 5;
  EXPECT_NE(other, img);
  other = img;
  other.maps[1].inner_map = -1;
  EXPECT_NE(other, img);
  other = img;
  other.programs[1].stack_size = 8;
  EXPECT_NE(other, img);
  other = img;
  other.features = 0;
  EXPECT_NE(other, img);
}

TEST(Image, SectionLayout) {
  std::vector<uint8_t> b = npu::image_bytes(sample());
  Sections s(b);
  size_t strtab = s.index(".npu.strtab");
  const Elf64_Shdr& meta = s.headers[s.index(".npu.meta")];
  EXPECT_EQ(meta.sh_type, uint32_t(SHT_PROGBITS));
  EXPECT_EQ(meta.sh_flags, 0u);
  EXPECT_EQ(meta.sh_link, strtab);
  EXPECT_EQ(meta.sh_size, sizeof(npu_image_meta) + 2 * sizeof(npu_image_prog));
  const Elf64_Shdr& maps = s.headers[s.index(".npu.maps")];
  EXPECT_EQ(maps.sh_entsize, sizeof(npu_image_map));
  EXPECT_EQ(maps.sh_size, 4 * sizeof(npu_image_map));
  EXPECT_EQ(maps.sh_link, strtab);
  const Elf64_Shdr& rel = s.headers[s.index(".npu.rel")];
  EXPECT_EQ(rel.sh_entsize, sizeof(npu_image_reloc));
  EXPECT_EQ(rel.sh_size, 5 * sizeof(npu_image_reloc));
  EXPECT_EQ(s.headers[s.index(".npu.mapinit")].sh_size, 12u);
  EXPECT_EQ(s.headers[strtab].sh_type, uint32_t(SHT_STRTAB));
  // The records as abi.h lays them out.
  npu_image_meta mh;
  std::memcpy(&mh, b.data() + meta.sh_offset, sizeof mh);
  EXPECT_EQ(mh.version, uint32_t(NPU_IMAGE_VERSION));
  EXPECT_EQ(mh.nprogs, 2u);
  EXPECT_EQ(mh.features, uint64_t(NPU_FEAT_MAPS | NPU_FEAT_ADJUST_HEAD));
  npu_image_reloc r;
  std::memcpy(&r, b.data() + rel.sh_offset + 2 * sizeof r, sizeof r);
  EXPECT_EQ(r.kind, uint32_t(NPU_RELOC_MAP_VALUE_LO));
  EXPECT_EQ(r.target, 2u);
  EXPECT_EQ(r.addend, 4);
  npu_image_map m;
  std::memcpy(&m, b.data() + maps.sh_offset + 2 * sizeof m, sizeof m);
  EXPECT_EQ(m.flags, uint32_t(NPU_IMAGE_MAP_GLOBAL_DATA));
  EXPECT_EQ(m.init_size, 12u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(b.data() + s.at(".npu.strtab", m.name))),
            ".rodata");
  // The helper's name is in the table once.
  std::string table(reinterpret_cast<const char*>(b.data() + s.at(".npu.strtab")),
                    s.headers[strtab].sh_size);
  EXPECT_EQ(table.find("xdp_adjust_head"), table.rfind("xdp_adjust_head"));
}

TEST(Image, AssemblerImagesAreUnchanged) {
  Image a = npu::assemble(".global _start\n_start: li r1, 5\n exit 2\n.data\n.word 7\n", "a.s");
  EXPECT_FALSE(a.is_program_image());
  std::vector<uint8_t> b = npu::image_bytes(a);
  std::string text(b.begin(), b.end());
  EXPECT_EQ(text.find(".npu."), std::string::npos);
  EXPECT_EQ(npu::parse_image(b, "a.npu"), a);
}

TEST(Image, Readelf) {
  if (std::system("readelf --version > /dev/null 2>&1") != 0)
    GTEST_SKIP() << "readelf (binutils) is not installed: cannot read the image back";
  std::string path = testing::TempDir() + "readelf.npu";
  npu::write_image(sample(), path);
  std::string cmd = "readelf -h -S -W -s " + path + " > " + path + ".txt 2>&1 && readelf -p " +
                    ".npu.strtab " + path + " >> " + path + ".txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::string out = read_text(path + ".txt");
  EXPECT_EQ(out.find("Warning"), std::string::npos) << out;
  EXPECT_EQ(out.find("Error"), std::string::npos) << out;
  for (const char* s : {".npu.meta", ".npu.maps", ".npu.mapinit", ".npu.rel", ".npu.strtab",
                        "prog_a", "xdp/frags", "xdp_adjust_head", ".rodata"})
    EXPECT_NE(out.find(s), std::string::npos) << s << "\n" << out;
}

TEST(Image, CheckImageRules) {
  struct Case {
    std::function<void(Image&)> spoil;
    std::string error;
  };
  Image good = sample();
  uint64_t map_ld = sym(good, "map_ld"), call1 = sym(good, "call1"), ro_lo = sym(good, "ro_lo");
  std::vector<Case> cases = {
      {[](Image& i) { i.programs[1].name = "prog_a"; },
       "x.npu: program 1 'prog_a': a second program of that name"},
      {[](Image& i) { i.programs[0].name.clear(); }, "x.npu: program 0 '': empty name"},
      {[](Image& i) { i.programs[0].section.clear(); },
       "x.npu: program 0 'prog_a': section: empty name"},
      {[](Image& i) { i.programs[0].name = std::string("a\0b", 3); },
       "x.npu: program 0 'a\\x00b': name with a control byte"},
      {[](Image& i) { i.maps[0].name = "t\n"; }, "x.npu: map 0 't\\x0a': name with a control byte"},
      {[](Image& i) { i.programs[1].entry = 3; },
       "x.npu: program 1 'prog_b': entry 3 is not in a code section"},
      {[](Image& i) { i.maps[1].name = "table"; },
       "x.npu: map 1 'table': a second map of that name"},
      {[](Image& i) { i.maps[1].inner_map = 1; },
       "x.npu: map 1 'outer': inner map 1 is no other map of the image"},
      {[](Image& i) { i.maps[1].inner_map = 9; },
       "x.npu: map 1 'outer': inner map 9 is no other map of the image"},
      {[](Image& i) { i.maps[3].max_entries = 2; },
       "x.npu: map 3 '.bss': global data needs a one-entry array with 4-byte keys"},
      {[](Image& i) { i.maps[0].initial = {1}; },
       "x.npu: map 0 'table': initial contents are only for global data"},
      {[](Image& i) { i.maps[2].initial.pop_back(); },
       "x.npu: map 2 '.rodata': initial contents of 11 bytes for a value of 12"},
      {[](Image& i) { i.relocs[1].insn = i.relocs[0].insn; },
       fmt::format("x.npu: relocation 1 (helper at insn {}): relocations must be sorted by "
                   "instruction, one per instruction",
                   map_ld)},
      {[](Image& i) { i.relocs.back().insn = 1u << 20; },
       "x.npu: relocation 4 (helper at insn 1048576): not in a code section"},
      {[](Image& i) { i.sections[0].words[i.relocs[0].insn - i.sections[0].base] = 0xff; },
       fmt::format("x.npu: relocation 0 (map_id at insn {}): the instruction does not decode "
                   "(undefined opcode 0xff)",
                   map_ld)},
      {[](Image& i) { i.relocs[0].map = 4; },
       fmt::format("x.npu: relocation 0 (map_id at insn {}): map 4 does not exist (4 maps)",
                   map_ld)},
      {[](Image& i) { i.relocs[0].helper = "x"; },
       fmt::format("x.npu: relocation 0 (map_id at insn {}): names a helper", map_ld)},
      {[&](Image& i) { i.relocs[0].insn = map_ld - 1; },  // st.4 [r10-4], r2
       fmt::format("x.npu: relocation 0 (map_id at insn {}): 'st.4' has no immediate value to "
                   "patch",
                   map_ld - 1)},
      {[](Image& i) { i.relocs[0].addend = 1; },
       fmt::format("x.npu: relocation 0 (map_id at insn {}): addend 1 (map ids take none)",
                   map_ld)},
      {[](Image& i) { i.relocs[2].map = 0; },
       fmt::format("x.npu: relocation 2 (map_value_lo at insn {}): map 'table' is not an "
                   "array",
                   ro_lo)},
      {[](Image& i) { i.relocs[2].addend = 12; },
       fmt::format("x.npu: relocation 2 (map_value_lo at insn {}): addend 12 is outside the "
                   "12-byte value of map '.rodata'",
                   ro_lo)},
      {[](Image& i) { i.relocs[2].addend = -1; },
       fmt::format("x.npu: relocation 2 (map_value_lo at insn {}): addend -1 is outside the "
                   "12-byte value of map '.rodata'",
                   ro_lo)},
      {[](Image& i) { i.relocs[1].helper.clear(); },
       fmt::format("x.npu: relocation 1 (helper at insn {}): helper: empty name", call1)},
      {[](Image& i) { i.relocs[1].map = 1; },
       fmt::format("x.npu: relocation 1 (helper at insn {}): a helper takes no map or addend",
                   call1)},
      {[&](Image& i) { i.relocs[1].insn = map_ld + 1; },  // add r2, r10, -4: a value
       "(no error)"},
      {[&](Image& i) { i.relocs[1].insn = map_ld + 2; },  // mlookup: none
       fmt::format("x.npu: relocation 1 (helper at insn {}): 'mlookup' has no immediate value or "
                   "jump target to patch",
                   map_ld + 2)},
      {[](Image& i) {
         Object::Section s = i.sections[0];
         s.name = ".text.more";
         s.base += 3;
         i.sections.push_back(s);
       },
       "x.npu: code sections .text and .text.more overlap"},
      {[](Image& i) { i.relocs[0].kind = K(9); },
       fmt::format("x.npu: relocation 0 (unknown at insn {}): unknown kind 9", map_ld)},
  };
  EXPECT_EQ(check_error(good), "(no error)");
  for (const Case& c : cases) {
    Image img = good;
    c.spoil(img);
    EXPECT_EQ(check_error(img), c.error);
  }
  // write_image checks too, and leaves no file behind.
  Image img = good;
  img.relocs[0].map = 4;
  std::string path = testing::TempDir() + "refused.npu";
  fs::remove(path);
  EXPECT_THROW(npu::write_image(img, path), npu::ImageError);
  EXPECT_FALSE(fs::exists(path));
}

TEST(Image, CorruptRecordsAreErrors) {
  const std::vector<uint8_t> good = npu::image_bytes(sample());
  const Sections s(good);
  struct Case {
    std::function<void(std::vector<uint8_t>&)> spoil;
    std::string error;
  };
  auto shdr = [&](const char* name, size_t field) { return s.header(s.index(name)) + field; };
  const size_t prog1 = sizeof(npu_image_meta) + sizeof(npu_image_prog);
  std::vector<Case> cases = {
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.meta"), 2); },
       "x.npu: section .npu.meta: version 2 (this reader knows 1)"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.meta", 4), 3); },
       "x.npu: section .npu.meta: 80 bytes do not hold 3 program records"},
      {[&](auto& b) { poke<uint64_t>(&b, shdr(".npu.meta", offsetof(Elf64_Shdr, sh_size)), 8); },
       "x.npu: section .npu.meta: 8 bytes, shorter than its header"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.meta", prog1 + 28), 1); },
       "x.npu: program 1: reserved field is not 0"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.meta", prog1), 5000); },
       fmt::format("x.npu: program 1: name offset 5000 is outside .npu.strtab ({} bytes)",
                   s.headers[s.index(".npu.strtab")].sh_size)},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.maps", 44), 1); },
       "x.npu: map 0: reserved field is not 0"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.maps", 28), 6); },
       "x.npu: map 0: unknown flags 0x6"},
      {[&](auto& b) { poke<uint64_t>(&b, s.at(".npu.maps", 32), 4); },
       "x.npu: map 0: initial value offset 4 without a size"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.maps", 2 * 48 + 40), 13); },
       "x.npu: map 2: initial value [0, +13) is outside .npu.mapinit (12 bytes)"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.rel", 8), 0); },
       "x.npu: relocation 0: unknown kind 0"},
      {[&](auto& b) { poke<uint32_t>(&b, s.at(".npu.rel", 8), 5); },
       "x.npu: relocation 0: unknown kind 5"},
      {[&](auto& b) { poke<uint64_t>(&b, shdr(".npu.rel", offsetof(Elf64_Shdr, sh_entsize)), 16); },
       "x.npu: section .npu.rel: sh_entsize 16 is not 24"},
      {[&](auto& b) { poke<uint64_t>(&b, shdr(".npu.maps", offsetof(Elf64_Shdr, sh_size)), 50); },
       "x.npu: section .npu.maps: size 50 is not a multiple of 48"},
      {[&](auto& b) { poke<uint32_t>(&b, shdr(".npu.rel", offsetof(Elf64_Shdr, sh_link)), 1); },
       "x.npu: section .npu.rel: sh_link 1 is not .npu.strtab"},
      {[&](auto& b) {
         poke<uint32_t>(&b, shdr(".npu.maps", offsetof(Elf64_Shdr, sh_type)), SHT_NOTE);
       },
       "x.npu: section .npu.maps: type 7 is not 1"},
      {[&](auto& b) {
         b[s.at(".npu.strtab", s.headers[s.index(".npu.strtab")].sh_size - 1)] = 'x';
       },
       "x.npu: section .npu.strtab: not a table of NUL-terminated strings"},
      {[&](auto& b) {  // .npu.rel renamed .npu.re
         uint32_t name = s.headers[s.index(".npu.rel")].sh_name;
         b[s.headers[s.eh.e_shstrndx].sh_offset + name + 7] = 0;
       },
       "x.npu: unknown section .npu.re"},
      {[&](auto& b) {  // .npu.maps named .npu.meta
         poke<uint32_t>(&b, shdr(".npu.maps", offsetof(Elf64_Shdr, sh_name)),
                        s.headers[s.index(".npu.meta")].sh_name);
       },
       "x.npu: more than one .npu.meta section"},
      {[&](auto& b) {  // the meta section becomes another program's
         poke<uint32_t>(&b, shdr(".npu.meta", offsetof(Elf64_Shdr, sh_name)),
                        s.headers[s.index(".symtab")].sh_name);
         poke<uint32_t>(&b, shdr(".npu.meta", offsetof(Elf64_Shdr, sh_type)), SHT_NOTE);
       },
       "x.npu: section .npu.mapinit without .npu.meta"},
      {[&](auto& b) {  // a relocation that check_image refuses
         poke<uint32_t>(&b, s.at(".npu.rel", 12), 7);
       },
       fmt::format("x.npu: relocation 0 (map_id at insn {}): map 7 does not exist (4 maps)",
                   sym(sample(), "map_ld"))},
  };
  EXPECT_EQ(image_error(good), "(no error)");
  for (const Case& c : cases) {
    std::vector<uint8_t> b = good;
    c.spoil(b);
    EXPECT_EQ(image_error(b), c.error);
  }

  // Every truncation, and random corruption: an ImageError or a valid image, never a crash.
  for (size_t n = 0; n < good.size(); ++n) {
    std::vector<uint8_t> t(good.begin(), good.begin() + n);
    EXPECT_NE(image_error(t), "(no error)") << "truncated to " << n;
  }
  std::mt19937 rng(5);
  size_t valid = 0;
  for (int k = 0; k < 20000; ++k) {
    std::vector<uint8_t> b = good;
    for (int f = 1 + int(rng() % 4); f > 0; --f) b[rng() % b.size()] ^= uint8_t(1 + rng() % 255);
    try {
      Image img = npu::parse_image(b, "x.npu");
      (void)npu::listing(img);
      ++valid;
    } catch (const npu::ImageError&) {
    }
  }
  EXPECT_GT(valid, 0u);
}

TEST(Image, ListingShowsTheProgramParts) {
  Image img = sample();
  std::string l = npu::listing(img, {true, [](uint32_t t) { return t == 1 ? "hash" : "other"; }});
  for (const char* want : {
           "; features: adjust_head, maps (0x102)\n",
           "; program prog_a (section xdp): entry 4096, stack 24 bytes, 9 BPF -> 9 NPU "
           "instructions\n",
           "; map 0 table: hash, key 4, value 8, max_entries 64, flags 0x1\n",
           "; map 1 outer: other, key 4, value 4, max_entries 2, flags 0x0, inner map table\n",
           "; map 2 .rodata: other, key 4, value 12, max_entries 1, flags 0x80, global data "
           "0102030405060708090a0b0c\n",
           "; map 3 .bss: other, key 4, value 8, max_entries 1, flags 0x0, global data\n",
           "; 5 relocations\n",
           "li r1, 0  ; map_id table\n",
           "jal r30, call1  ; helper xdp_adjust_head\n",
           "liw r4, 0  ; map_value_lo .rodata+4\n",
           "lih r4, 0  ; map_value_hi .rodata+4\n",
       })
    EXPECT_NE(l.find(want), std::string::npos) << want << "\n" << l;
  // Without a type namer, types are numbers.
  EXPECT_NE(npu::listing(img).find("; map 0 table: type 1,"), std::string::npos);
  // The text column still assembles back to the same code.
  npu::AsmOptions o;
  Image again = npu::assemble(npu::listing(img, {false}), "l.s", o);
  EXPECT_EQ(again.sections, img.sections);
  EXPECT_FALSE(again.is_program_image());
  EXPECT_EQ(npu::reloc_text(img, img.relocs[3]), "map_value_hi .rodata+4");
}

TEST(Image, PatchImm) {
  npu::Insn jal;
  jal.op = npu::Op::JAL;
  jal.a = 30;
  uint64_t w = npu::patch_imm(npu::encode(jal), 5000, 300);
  npu::Insn out;
  ASSERT_TRUE(npu::decode(w, &out));
  EXPECT_EQ(out.imm, 300 - 5000);  // a jump target: relative to the instruction
  EXPECT_EQ(out.a, 30);
  npu::Insn li;
  li.op = npu::Op::LIH;
  li.a = 4;
  ASSERT_TRUE(npu::decode(npu::patch_imm(npu::encode(li), 5000, 0x10000000003ull >> 32), &out));
  EXPECT_EQ(uint32_t(out.imm), 0x100u);  // a value: as it is
  EXPECT_EQ(out.op, npu::Op::LIH);
  ASSERT_TRUE(npu::decode(npu::patch_imm(npu::encode(li), 1, 0xfffffffful), &out));
  EXPECT_EQ(out.imm, -1);
  EXPECT_THROW(npu::patch_imm(0, 5, 1), npu::ImageError);     // nop: nothing to patch
  EXPECT_THROW(npu::patch_imm(0xff, 5, 1), npu::ImageError);  // does not decode
}

TEST(Image, FeatureNames) {
  EXPECT_TRUE(npu::feature_names(0).empty());
  EXPECT_EQ(npu::feature_names(NPU_FEAT_TAIL_CALL | NPU_FEAT_TIME | (uint64_t(1) << 50)),
            (std::vector<std::string>{"tail_call", "time", "bit 50"}));
  std::vector<std::string> all = npu::feature_names(NPU_FEAT_KNOWN);
  EXPECT_EQ(all.size(), 12u);
  for (const std::string& n : all) EXPECT_EQ(n.rfind("bit ", 0), std::string::npos) << n;
  EXPECT_STREQ(npu::reloc_kind_name(K::kMapValueLo), "map_value_lo");
}

}  // namespace
