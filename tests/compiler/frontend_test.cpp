// The BPF front end: maps, global data, linking of subprograms, line info,
// and one-line errors on bad input.
#include "compiler/bpf/program.h"
#include "sim/ref/vm.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace {

std::string data(const std::string& name) {
  return std::string(DATA_DIR) + "/" + name + ".o";
}

const bpf::MapDef& map_named(const bpf::Object& o, const std::string& n) {
  int i = o.find_map(n);
  EXPECT_GE(i, 0) << "no map " << n;
  return o.maps.at(i < 0 ? 0 : i);
}

std::vector<uint8_t> read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

std::string write_temp(const std::string& name, const std::vector<uint8_t>& bytes) {
  std::string path = testing::TempDir() + name;
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  return path;
}

std::string load_error(const std::string& path) {
  try {
    bpf::load_object(path);
  } catch (const bpf::LoadError& e) {
    return e.what();
  }
  return "";
}

TEST(Frontend, MapsAndGlobalData) {
  bpf::Object o = bpf::load_object(data("linking"));
  EXPECT_EQ(o.license, "GPL");
  EXPECT_EQ(map_named(o, "hmap").type, uint32_t(BPF_MAP_TYPE_HASH));
  EXPECT_EQ(map_named(o, "hmap").max_entries, 16u);
  EXPECT_EQ(map_named(o, "jt").type, uint32_t(BPF_MAP_TYPE_PROG_ARRAY));
  // Global data maps are named as libbpf names them: "<object>.<section>".
  const bpf::MapDef& ro = map_named(o, "linking.rodata");
  EXPECT_TRUE(ro.global_data);
  ASSERT_EQ(ro.initial.size(), 4u);
  EXPECT_EQ(ro.initial[0], 7);
  EXPECT_TRUE(map_named(o, "linking.bss").global_data);
  EXPECT_EQ(map_named(o, "linking.data").value_size, 16u);
}

TEST(Frontend, LinksSubprogramsIntoEachProgram) {
  bpf::Object o = bpf::load_object(data("linking"));
  ASSERT_EQ(o.programs.size(), 2u);
  const bpf::Program& entry = o.programs[o.find_program("entry")];
  EXPECT_EQ(entry.section, "xdp");
  EXPECT_EQ(entry.type, uint32_t(BPF_PROG_TYPE_XDP));
  EXPECT_EQ(entry.func_names, (std::vector<std::string>{"entry", "helper1", "helper2"}));
  // Every BPF-to-BPF call lands on the start of a linked function.
  int calls = 0;
  for (size_t i = 0; i < entry.insns.size(); ++i) {
    if (!entry.insns[i].is_pseudo_call()) continue;
    ++calls;
    uint32_t target = uint32_t(int64_t(i) + 1 + entry.insns[i].imm);
    EXPECT_NE(std::find(entry.func_starts.begin(), entry.func_starts.end(), target),
              entry.func_starts.end())
        << "call at " << i;
  }
  EXPECT_EQ(calls, 2);
  // helper2 alone is linked into "second".
  const bpf::Program& second = o.programs[o.find_program("second")];
  EXPECT_EQ(second.func_names, (std::vector<std::string>{"second", "helper2"}));
}

TEST(Frontend, LineInfoCitesTheSource) {
  bpf::Object o = bpf::load_object(data("linking"));
  const bpf::Program& p = o.programs[0];
  ASSERT_FALSE(p.lines.empty());
  const bpf::LineInfo* l = p.line_for(0);
  ASSERT_NE(l, nullptr);
  EXPECT_NE(l->file.find("linking.c"), std::string::npos);
  EXPECT_GT(l->line, 0u);
  EXPECT_FALSE(l->source.empty());
}

TEST(Frontend, DisassemblyNamesMapsAndHelpers) {
  bpf::Object o = bpf::load_object(data("linking"));
  const bpf::Program& p = o.programs[o.find_program("entry")];
  std::string all;
  for (size_t i = 0; i < p.insns.size(); ++i) all += bpf::disasm(p.insns, i, &o) + "\n";
  EXPECT_NE(all.find("r1 = map[hmap] ll"), std::string::npos) << all;
  EXPECT_NE(all.find("map[linking.bss] + 0 ll"), std::string::npos) << all;
  EXPECT_NE(all.find("call bpf_map_lookup_elem#1"), std::string::npos) << all;
  EXPECT_NE(all.find("call bpf_tail_call#12"), std::string::npos) << all;
}

TEST(Frontend, LinkedProgramRunsAsTheCSays) {
  bpf::Object o = bpf::load_object(data("linking"));
  ref::Interpreter ip(o);
  std::vector<uint8_t> pkt(64, 0xab);
  // helper1(ctx, 4) = helper2(4) + len = 4 * 3 + cfg(7) + 64; the empty prog array falls through.
  ref::XdpResult r = ip.run_xdp(o.find_program("entry"), pkt);
  ASSERT_EQ(r.error, "");
  EXPECT_EQ(r.verdict, uint32_t(XDP_PASS));
  uint32_t zero = 0;
  uint64_t counter = 0;
  std::vector<uint8_t> msg(16);
  ASSERT_EQ(ip.map(o.find_map("linking.bss")).sys_lookup(&zero, &counter), 0);
  EXPECT_EQ(counter, 83u);
  ASSERT_EQ(ip.map(o.find_map("linking.data")).sys_lookup(&zero, msg.data()), 0);
  EXPECT_EQ(std::string(msg.begin(), msg.begin() + 5), "Hello");
  EXPECT_EQ(ip.run_xdp(o.find_program("second"), pkt).verdict, uint32_t(XDP_DROP));
}

TEST(Frontend, LegacyMapSection) {
  bpf::Object o = bpf::load_object(data("legacy_maps"));
  const bpf::MapDef& m = map_named(o, "counters");
  EXPECT_EQ(m.type, uint32_t(BPF_MAP_TYPE_ARRAY));
  EXPECT_EQ(m.value_size, 8u);
  ref::Interpreter ip(o);
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(ip.run_xdp(0, std::vector<uint8_t>(60)).verdict, uint32_t(XDP_PASS));
  uint32_t zero = 0;
  uint64_t v = 0;
  ASSERT_EQ(ip.map(0).sys_lookup(&zero, &v), 0);
  EXPECT_EQ(v, 3u);
}

TEST(Frontend, EveryProgramSection) {
  bpf::Object o = bpf::load_object(data("tc_prog"));
  ASSERT_EQ(o.programs.size(), 2u);
  EXPECT_EQ(o.programs[o.find_program("classify")].type, uint32_t(BPF_PROG_TYPE_SCHED_CLS));
  EXPECT_EQ(o.programs[o.find_program("pass")].type, uint32_t(BPF_PROG_TYPE_XDP));
}

TEST(Frontend, UnknownSectionIsOneLine) {
  std::string e = load_error(data("unknown_section"));
  EXPECT_NE(e.find(data("unknown_section") + ": "), std::string::npos) << e;
  EXPECT_NE(e.find("frobnicate"), std::string::npos) << e;
  EXPECT_EQ(e.find('\n'), std::string::npos) << e;
}

TEST(Frontend, UnsupportedHelperIsRefusedByName) {
  bpf::Object o = bpf::load_object(data("unsupported_helper"));
  try {
    ref::Interpreter ip(o);
    FAIL() << "accepted a program that calls bpf_xdp_load_bytes";
  } catch (const bpf::LoadError& e) {
    EXPECT_NE(std::string(e.what()).find("bpf_xdp_load_bytes"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unsupported_helper.c:"), std::string::npos) << e.what();
  }
}

TEST(Frontend, BadFilesGiveOneLineErrors) {
  EXPECT_NE(load_error("/nonexistent/x.o").find("/nonexistent/x.o: cannot open"),
            std::string::npos);
  std::string empty = write_temp("empty.o", {});
  EXPECT_NE(load_error(empty).find("not an ELF file"), std::string::npos);
  std::string text = write_temp("text.o", {'h', 'e', 'l', 'l', 'o'});
  EXPECT_NE(load_error(text).find("not an ELF file"), std::string::npos);
  // A host ELF is not a BPF object.
  EXPECT_NE(load_error("/bin/true").find("not a BPF object"), std::string::npos)
      << load_error("/bin/true");
}

TEST(Frontend, TruncatedAndCorruptObjectsNeverCrash) {
  std::vector<uint8_t> good = read_all(data("linking"));
  ASSERT_GT(good.size(), 1000u);
  int rejected = 0;
  for (size_t len = 0; len < good.size(); len += 97) {
    std::vector<uint8_t> cut(good.begin(), good.begin() + len);
    std::string e = load_error(write_temp("cut.o", cut));
    EXPECT_FALSE(e.empty()) << "truncated to " << len << " bytes and accepted";
    EXPECT_EQ(e.find('\n'), std::string::npos);
    rejected += !e.empty();
  }
  EXPECT_GT(rejected, 10);
  // Flipped bytes: either a clean error or a loadable object, never a crash. The legacy
  // object takes the path that never reaches libbpf's parser.
  for (const char* name : {"linking", "legacy_maps"}) {
    std::vector<uint8_t> orig = read_all(data(name));
    for (size_t at = 0; at < orig.size(); at += 13) {
      std::vector<uint8_t> bad = orig;
      bad[at] ^= 0xff;
      std::string path = write_temp("flip.o", bad);
      try {
        bpf::Object o = bpf::load_object(path);
        ref::Interpreter ip(o);  // what loads must also be safe to run
        ip.run_xdp(0, std::vector<uint8_t>(64));
      } catch (const bpf::LoadError& e) {
        EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
      }
    }
  }
}

}  // namespace
