// Listings: every line's text column is assembler input (directives, labels,
// instructions from format_insn, .insn for words that do not decode, .byte
// for data), so that the text alone assembles back to the same image.
#include "compiler/npu/listing.h"

#include "compiler/npu/isa.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <map>

namespace npu {
namespace {

constexpr size_t kBytesPerLine = 8;
// "      1234: 0123456789abcdef  ": the address and word columns.
constexpr size_t kPrefix = 10 + 2 + 16 + 2;

std::string label_fn(uint64_t addr, void* ctx) {
  return static_cast<const Disassembler*>(ctx)->label_at(addr);
}

class Writer {
 public:
  explicit Writer(bool addresses) : addresses_(addresses) {}
  void directive(const std::string& text) {
    out_ += addresses_ ? std::string(kPrefix, ' ') : std::string(8, ' ');
    out_ += text;
    out_ += '\n';
  }
  void label(const std::string& name) { out_ += name + ":\n"; }
  void code(uint64_t addr, uint64_t word, const std::string& text) {
    out_ += addresses_ ? fmt::format("{:>10}: {:016x}  ", addr, word) : std::string(8, ' ');
    out_ += text;
    out_ += '\n';
  }
  void data(uint64_t addr, const uint8_t* p, size_t n) {
    std::string hex, text = ".byte ";
    for (size_t i = 0; i < n; ++i) {
      hex += fmt::format("{:02x}", p[i]);
      text += fmt::format("{}0x{:02x}", i ? ", " : "", p[i]);
    }
    out_ += addresses_ ? fmt::format("{:>10x}: {:<16}  ", addr, hex) : std::string(8, ' ');
    out_ += text;
    out_ += '\n';
  }
  void comment(const std::string& text) { out_ += "; " + text + "\n"; }
  void blank() { out_ += '\n'; }
  std::string take() { return std::move(out_); }

 private:
  bool addresses_;
  std::string out_;
};

std::string section_directive(const std::string& name) {
  if (name == ".text" || name == ".data" || name == ".rodata") return name;
  return ".section " + name;
}

// The word with only the fields the syntax shows: what the text assembles to.
uint64_t shown_word(const Insn& in) {
  Insn s;
  s.op = in.op;
  s.width = in.width;
  for (const char* p = op_info(in.op).syntax; *p; ++p) {
    if (*p != '%') continue;
    switch (*++p) {
      case 'a':
        s.a = in.a;
        break;
      case 'b':
        s.b = in.b;
        break;
      case 'c':
        s.c = in.c;
        break;
      case 'd':
        s.d = in.d;
        break;
      case 'e':
        s.e = in.e;
        break;
      case 'o':
      case 'n':
        s.off = in.off;
        break;
      default:
        s.imm = in.imm;
        break;
    }
  }
  return encode(s);
}

}  // namespace

Disassembler::Disassembler(const Image& img) {
  // Globals first, so that they win when several labels share an address.
  for (int pass = 0; pass < 2; ++pass)
    for (const Object::Symbol& s : img.symbols) {
      if (s.global != (pass == 0) || s.section < 0 || size_t(s.section) >= img.sections.size() ||
          !img.sections[size_t(s.section)].code)
        continue;
      labels_.emplace(s.value, s.name);
    }
}

std::string Disassembler::label_at(uint64_t addr) const {
  auto it = labels_.find(addr);
  return it == labels_.end() ? std::string() : it->second;
}

std::string Disassembler::text(uint64_t word, uint64_t pc) const {
  Insn in;
  std::string why;
  if (!decode(word, &in, &why)) return fmt::format(".insn 0x{:016x}  ; {}", word, why);
  std::string text = format_insn(in, pc, label_fn, const_cast<Disassembler*>(this));
  // Formats with fields some of their instructions do not show (aadd's a,
  // mlookup's d and e): such words decode, but the text would lose bits.
  uint64_t shown = shown_word(in);
  if (shown != word)
    return fmt::format(".insn 0x{:016x}  ; {} with bits 0x{:016x} outside its operands", word, text,
                       word ^ shown);
  return text;
}

std::string reloc_text(const Image& img, const Object::Reloc& r) {
  std::string text = reloc_kind_name(r.kind);
  if (r.kind == Object::RelocKind::kHelper) return text + " " + r.helper;
  text += " " + (r.map < img.maps.size() ? img.maps[r.map].name : fmt::format("map#{}", r.map));
  if (r.addend) text += fmt::format("{:+}", r.addend);
  return text;
}

std::vector<std::string> program_image_summary(const Image& img, const ListingOptions& opt) {
  constexpr size_t kShownBytes = 16;
  std::vector<std::string> lines;
  std::string features =
      img.features ? fmt::format("{}", fmt::join(feature_names(img.features), ", ")) : "none";
  lines.push_back(fmt::format("features: {} (0x{:x})", features, img.features));
  for (const Object::Program& p : img.programs)
    lines.push_back(fmt::format(
        "program {} (section {}): entry {}, stack {} bytes, {} BPF -> {} NPU instructions", p.name,
        p.section, p.entry, p.stack_size, p.bpf_insns, p.npu_insns));
  for (size_t i = 0; i < img.maps.size(); ++i) {
    const Object::Map& m = img.maps[i];
    std::string type =
        opt.map_type_name ? opt.map_type_name(m.type) : fmt::format("type {}", m.type);
    std::string line =
        fmt::format("map {} {}: {}, key {}, value {}, max_entries {}, flags 0x{:x}", i, m.name,
                    type, m.key_size, m.value_size, m.max_entries, m.flags);
    if (m.inner_map >= 0 && size_t(m.inner_map) < img.maps.size())
      line += fmt::format(", inner map {}", img.maps[size_t(m.inner_map)].name);
    if (m.global_data) {
      line += ", global data";
      if (!m.initial.empty()) {
        line += " ";
        for (size_t k = 0; k < std::min(kShownBytes, m.initial.size()); ++k)
          line += fmt::format("{:02x}", m.initial[k]);
        if (m.initial.size() > kShownBytes) line += "...";
      }
    }
    lines.push_back(line);
  }
  lines.push_back(
      fmt::format("{} relocation{}", img.relocs.size(), img.relocs.size() == 1 ? "" : "s"));
  return lines;
}

std::string listing(const Image& img, const ListingOptions& opt) {
  Writer w(opt.addresses);
  Disassembler dis(img);
  size_t ninsns = 0, nbytes = 0;
  for (const Object::Section& s : img.sections) (s.code ? ninsns : nbytes) += s.size();
  w.comment(fmt::format("NPU image: {} instruction{}, {} data byte{}, {} symbol{}, entry {}",
                        ninsns, ninsns == 1 ? "" : "s", nbytes, nbytes == 1 ? "" : "s",
                        img.symbols.size(), img.symbols.size() == 1 ? "" : "s", img.entry));
  if (img.is_program_image())
    for (const std::string& line : program_image_summary(img, opt)) w.comment(line);
  std::map<uint64_t, const Object::Reloc*> relocs;
  for (const Object::Reloc& r : img.relocs) relocs.emplace(r.insn, &r);

  // Labels of each section by offset; absolute symbols and labels outside
  // their section become .equ.
  std::vector<std::vector<std::pair<uint64_t, const Object::Symbol*>>> at(img.sections.size());
  std::vector<const Object::Symbol*> absolute;
  for (const Object::Symbol& s : img.symbols) {
    const Object::Section* sec = s.section >= 0 && size_t(s.section) < img.sections.size()
                                     ? &img.sections[size_t(s.section)]
                                     : nullptr;
    if (sec && s.value >= sec->base && s.value <= sec->end())
      at[size_t(s.section)].push_back({s.value - sec->base, &s});
    else
      absolute.push_back(&s);
  }
  for (const Object::Symbol* s : absolute) {
    if (s->global) w.directive(".global " + s->name);
    w.directive(fmt::format(".equ {}, 0x{:x}", s->name, s->value));
  }

  for (size_t k = 0; k < img.sections.size(); ++k) {
    const Object::Section& sec = img.sections[k];
    auto& labels = at[k];
    std::stable_sort(labels.begin(), labels.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    w.blank();
    w.directive(section_directive(sec.name));
    w.directive(fmt::format(
        ".org {}", sec.code ? fmt::format("{}", sec.base) : fmt::format("0x{:x}", sec.base)));
    size_t next = 0;
    auto labels_at = [&](uint64_t off) {
      for (; next < labels.size() && labels[next].first == off; ++next) {
        if (labels[next].second->global) w.directive(".global " + labels[next].second->name);
        w.label(labels[next].second->name);
      }
    };
    if (sec.code) {
      for (uint64_t i = 0; i < sec.words.size(); ++i) {
        labels_at(i);
        std::string text = dis.text(sec.words[i], sec.base + i);
        auto r = relocs.find(sec.base + i);
        if (r != relocs.end()) text += "  ; " + reloc_text(img, *r->second);
        w.code(sec.base + i, sec.words[i], text);
      }
    } else {
      uint64_t i = 0;
      while (i < sec.bytes.size()) {
        labels_at(i);
        uint64_t stop = std::min<uint64_t>(sec.bytes.size(), i + kBytesPerLine);
        if (next < labels.size()) stop = std::min(stop, labels[next].first);
        w.data(sec.base + i, sec.bytes.data() + i, size_t(stop - i));
        i = stop;
      }
    }
    labels_at(sec.size());
  }
  return w.take();
}

}  // namespace npu
