// The compiler driver: verify each program, run the BPF-level passes, lower,
// run the NPU-level passes, emit into one image with the object's maps.
#include "compiler/backend/compile.h"

#include "compiler/backend/emit.h"
#include "compiler/backend/passes.h"
#include "firmware/abi.h"

#include <fmt/format.h>

#include <algorithm>
#include <sstream>

namespace npucc {

namespace {

void build_module(Module& m) {
  const bpf::Program& p = *m.prog;
  m.meta.resize(p.insns.size());
  for (size_t i = 0; i < p.insns.size(); i++) {
    m.meta[i].insn = p.insns[i];
    m.meta[i].facts = &m.verified.facts[i];
  }
  for (size_t i = 0; i + 1 < p.insns.size(); i++)
    if (p.insns[i].is_lddw()) m.meta[++i].skip = true;  // the second half carries no code
  // Functions, in address order; the verifier's depths are in func_starts order.
  std::vector<size_t> order(std::max<size_t>(p.func_starts.size(), 1));
  for (size_t k = 0; k < order.size(); k++) order[k] = k;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return (p.func_starts.empty() ? 0 : p.func_starts[a]) <
           (p.func_starts.empty() ? 0 : p.func_starts[b]);
  });
  for (size_t k = 0; k < order.size(); k++) {
    Function f;
    f.begin = p.func_starts.empty() ? 0 : p.func_starts[order[k]];
    f.end = k + 1 < order.size() ? p.func_starts[order[k + 1]] : uint32_t(p.insns.size());
    f.stack_depth = order[k] < m.verified.stack_depth.size() ? m.verified.stack_depth[order[k]] : 0;
    m.funcs.push_back(f);
  }
}

}  // namespace

CompileResult compile(const bpf::Object& obj, const CompileOptions& opt) {
  for (const std::string& name : opt.disabled)
    if (!find_pass(name)) throw CompileError(fmt::format("-fno-{}: no such pass", name));
  CompileResult res;
  npu::Object& img = res.image;
  img.sections.resize(1);
  img.sections[0].name = ".text";
  img.sections[0].code = true;
  img.sections[0].base = NPU_PROG_TEXT_BASE;
  for (const bpf::MapDef& d : obj.maps) {
    npu::Object::Map mp;
    mp.name = d.name;
    mp.type = d.type;
    mp.key_size = d.key_size;
    mp.value_size = d.value_size;
    mp.max_entries = d.max_entries;
    mp.flags = d.flags;
    mp.inner_map = d.inner_map;
    mp.global_data = d.global_data;
    mp.initial = d.initial;
    img.maps.push_back(mp);
  }
  std::ostringstream listing;
  for (size_t pi = 0; pi < obj.programs.size(); pi++) {
    Module m;
    m.obj = &obj;
    m.prog_index = pi;
    m.prog = &obj.programs[pi];
    m.verified = verifier::verify(obj, pi, opt.verify);
    build_module(m);
    for (const Pass& p : passes())
      if (p.stage == Stage::BPF && !opt.disabled.count(p.name)) p.run(m);
    lower(m);
    for (const Pass& p : passes())
      if (p.stage == Stage::NPU && !opt.disabled.count(p.name)) p.run(m);

    const uint64_t entry = img.sections[0].end();
    std::vector<ListingLine> lines;
    emit_program(m, img, opt.listing ? &lines : nullptr);
    const uint32_t nwords = uint32_t(img.sections[0].end() - entry);
    if (img.sections[0].end() > NPU_CODE_STORE_SIZE)
      throw CompileError(
          fmt::format("{}: {}: {} instructions do not fit the code store ({} "
                      "instructions from {})",
                      obj.path, m.prog->name, img.sections[0].end() - NPU_PROG_TEXT_BASE,
                      NPU_CODE_STORE_SIZE - NPU_PROG_TEXT_BASE, NPU_PROG_TEXT_BASE));
    npu::Object::Program ip;
    ip.name = m.prog->name;
    ip.section = m.prog->section;
    ip.entry = entry;
    ip.stack_size = uint32_t(std::max(m.funcs[0].stack_depth, 0));
    ip.bpf_insns = uint32_t(m.prog->insns.size());
    ip.npu_insns = nwords;
    img.programs.push_back(ip);
    npu::Object::Symbol sym;
    sym.name = m.prog->name;
    sym.value = entry;
    sym.section = 0;
    sym.global = true;
    img.symbols.push_back(sym);
    img.features |= m.features;

    ProgramStats st;
    st.name = m.prog->name;
    st.bpf_insns = ip.bpf_insns;
    st.npu_insns = nwords;
    st.verifier_insns = m.verified.insns_processed;
    st.passes = m.stats;
    res.stats.push_back(st);

    if (opt.listing) {
      listing << fmt::format("; program {} (section {}): {} BPF -> {} NPU instructions\n",
                             m.prog->name, m.prog->section, ip.bpf_insns, nwords);
      uint32_t last_bpf = UINT32_MAX;
      int last_line = -1;
      for (const ListingLine& l : lines) {
        if (l.bpf != last_bpf && l.bpf != UINT32_MAX) {
          // The C line and the BPF instructions this stretch of code comes from.
          const bpf::LineInfo* li = m.prog->line_for(l.bpf);
          if (li && int(li->line) != last_line) {
            listing << fmt::format(";   {}:{}: {}\n", li->file.substr(li->file.rfind('/') + 1),
                                   li->line, li->source);
            last_line = int(li->line);
          }
          listing << fmt::format(";     {:4}: {}\n", l.bpf,
                                 bpf::disasm(m.prog->insns, l.bpf, &obj));
          last_bpf = l.bpf;
        }
        npu::Insn in;
        const uint64_t word = img.sections[0].words[size_t(l.pc - img.sections[0].base)];
        auto hex = [](uint64_t addr, void*) { return fmt::format("{:#x}", addr); };
        std::string text = npu::decode(word, &in) ? npu::format_insn(in, l.pc, hex) : "?";
        std::string line =
            fmt::format("{:6x}:  {:<36}{}", l.pc, text, l.note.empty() ? "" : "; " + l.note);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        listing << line << "\n";
      }
    }
  }
  res.listing = listing.str();
  return res;
}

}  // namespace npucc
