// The verifier corpora (issue 4): small XDP programs in
// tests/compiler/data/verifier/reject, each doing one unsafe thing, and in
// tests/compiler/data/verifier/accept, each safe but tricky to prove so. The
// kernel's verifier is the judge: every reject file must fail to load and the
// kernel's reason must contain the file's `// kernel:` text; every accept file
// must load. Our verifier is later checked against the same files.
//
// Header of a corpus file (its leading `//` comment block):
//   // reject: <what is wrong>        (or `// accept: <what is tricky>`), first line
//   // kernel: <substring of the kernel's reason>   (reject files only, exactly once)
//   // caps: CAP_BPF CAP_NET_ADMIN ...               (optional: load with only these)
// Without `caps`, a file is loaded with the test's own capabilities (root).
#include "compiler/bpf/program.h"
#include "compiler/verifier/verifier.h"
#include "sim/kernel/oracle.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <ostream>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

const std::string kSourceDir = CORPUS_SOURCE_DIR;  // .../tests/compiler/data/verifier
const std::string kBinaryDir = CORPUS_BINARY_DIR;  // .../build/tests/compiler/data/verifier

constexpr size_t kMinReject = 40;
constexpr size_t kMinAccept = 15;

// Capabilities a `// caps:` line may name.
struct CapName {
  const char* name;
  int bit;
};
constexpr CapName kCaps[] = {
    {"CAP_NET_ADMIN", 12},
    {"CAP_SYS_ADMIN", 21},
    {"CAP_PERFMON", 38},
    {"CAP_BPF", 39},
};

struct Header {
  std::string verdict;              // "reject" or "accept", from the first line
  std::string what;                 // its text
  std::vector<std::string> kernel;  // every `// kernel:` text
  bool has_caps = false;
  uint64_t caps = 0;                  // bit mask of kCaps
  std::vector<std::string> problems;  // what is wrong with the header, if anything
};

bool starts_with(const std::string& s, const std::string& p) {
  return s.rfind(p, 0) == 0;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

Header parse_header(const std::string& path) {
  Header h;
  std::ifstream in(path);
  if (!in) {
    h.problems.push_back("cannot be read");
    return h;
  }
  std::string line;
  bool first = true;
  while (std::getline(in, line) && starts_with(line, "//")) {
    if (first) {
      first = false;
      for (const char* v : {"reject", "accept"}) {
        std::string tag = fmt::format("// {}:", v);
        if (starts_with(line, tag)) {
          h.verdict = v;
          h.what = trim(line.substr(tag.size()));
        }
      }
      continue;
    }
    if (starts_with(line, "// kernel:")) {
      h.kernel.push_back(trim(line.substr(10)));
    } else if (starts_with(line, "// caps:")) {
      if (h.has_caps) h.problems.push_back("has two `// caps:` lines");
      h.has_caps = true;
      // Capability names up to the first word that is not one (a comment may follow).
      std::istringstream words(line.substr(8));
      std::string w;
      while (words >> w) {
        auto c = std::find_if(std::begin(kCaps), std::end(kCaps),
                              [&](const CapName& n) { return w == n.name; });
        if (c == std::end(kCaps)) break;
        h.caps |= uint64_t(1) << c->bit;
      }
      if (h.caps == 0) h.problems.push_back("`// caps:` names no capability it knows");
    }
  }
  if (h.verdict.empty())
    h.problems.push_back("does not start with `// reject: ...` or `// accept: ...`");
  else if (h.what.empty())
    h.problems.push_back(fmt::format("`// {}:` says nothing", h.verdict));
  if (h.verdict == "reject") {
    if (h.kernel.size() != 1)
      h.problems.push_back(fmt::format("has {} `// kernel:` lines in its leading comment, wants 1",
                                       h.kernel.size()));
    else if (h.kernel[0].empty())
      h.problems.push_back("`// kernel:` gives no text");
  }
  if (h.verdict == "accept" && !h.kernel.empty())
    h.problems.push_back("an accept file has a `// kernel:` line");
  return h;
}

struct Case {
  std::string kind;  // "reject" or "accept": the folder
  std::string name;  // file name without .c
  std::string source() const { return fmt::format("{}/{}/{}.c", kSourceDir, kind, name); }
  std::string object() const { return fmt::format("{}/{}/{}.o", kBinaryDir, kind, name); }
};

// How gtest prints a case: "reject/pkt_read_no_check".
void PrintTo(const Case& c, std::ostream* os) {
  *os << c.kind << "/" << c.name;
}

std::vector<Case> corpus(const std::string& kind) {
  std::vector<Case> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kSourceDir + "/" + kind, ec)) {
    if (e.path().extension() == ".c") out.push_back({kind, e.path().stem().string()});
  }
  std::sort(out.begin(), out.end(), [](const Case& a, const Case& b) { return a.name < b.name; });
  return out;
}

// ------------------------------------------------------------ loading

struct Load {
  bool loaded = false;
  bool refused = false;  // bpf() itself said no (EPERM) before verifying anything
  std::string log;       // the verifier's log of the failed program
  std::string libbpf;    // libbpf's warnings
};

std::string* g_sink = nullptr;

int capture(enum libbpf_print_level level, const char* format, va_list ap) {
  if (level == LIBBPF_DEBUG || !g_sink) return 0;
  char buf[2048];
  int n = vsnprintf(buf, sizeof buf, format, ap);
  *g_sink += buf;
  return n;
}

// Opens and loads an object with libbpf. On failure libbpf loads the program
// again with log level 1 into our buffer; the kernel keeps the log's tail.
Load load_here(const std::string& obj) {
  Load r;
  g_sink = &r.libbpf;
  libbpf_print_fn_t old = libbpf_set_print(capture);
  bpf_object* o = bpf_object__open_file(obj.c_str(), nullptr);
  if (libbpf_get_error(o)) {
    r.libbpf += fmt::format("cannot open {}\n", obj);
  } else {
    std::vector<char> log(4 << 20, '\0');
    bpf_program* p;
    bpf_object__for_each_program(p, o) bpf_program__set_log_buf(p, log.data(), log.size());
    int err = bpf_object__load(o);
    r.loaded = err == 0;
    r.log = log.data();
    r.refused = !r.loaded && (err == -EPERM || err == -EACCES) && r.log.empty();
    bpf_object__close(o);
  }
  libbpf_set_print(old);
  g_sink = nullptr;
  return r;
}

// The same in a child process whose capabilities are exactly `caps`
// (effective and permitted), e.g. root without CAP_PERFMON.
Load load_with_caps(const std::string& obj, uint64_t caps) {
  int fds[2];
  if (pipe(fds) != 0) {
    Load r;
    r.libbpf = fmt::format("pipe: {}", std::strerror(errno));
    return r;
  }
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    __user_cap_header_struct hdr{};
    hdr.version = _LINUX_CAPABILITY_VERSION_3;
    __user_cap_data_struct data[2]{};
    for (int i = 0; i < 2; i++) {
      data[i].effective = data[i].permitted = uint32_t(caps >> (32 * i));
    }
    Load r;
    if (syscall(SYS_capset, &hdr, data) != 0) {
      r.refused = true;
      r.libbpf = fmt::format("capset: {}", std::strerror(errno));
    } else {
      r = load_here(obj);
    }
    std::string msg = fmt::format("{}{}{}\n{}", r.loaded ? 'L' : '-', r.refused ? 'R' : '-',
                                  r.libbpf.size(), r.libbpf + r.log);
    for (size_t at = 0; at < msg.size();) {
      ssize_t n = write(fds[1], msg.data() + at, msg.size() - at);
      if (n <= 0) break;
      at += size_t(n);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[65536];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) msg.append(buf, size_t(n));
  close(fds[0]);
  int status = 0;
  if (pid > 0) waitpid(pid, &status, 0);
  Load r;
  size_t nl = msg.find('\n');
  if (pid < 0 || nl == std::string::npos || nl < 3) {
    r.libbpf =
        pid < 0 ? fmt::format("fork: {}", std::strerror(errno)) : "the loading child process died";
    return r;
  }
  r.loaded = msg[0] == 'L';
  r.refused = msg[1] == 'R';
  size_t libbpf_len = std::stoul(msg.substr(2, nl - 2));
  r.libbpf = msg.substr(nl + 1, libbpf_len);
  r.log = msg.substr(nl + 1 + libbpf_len);
  return r;
}

// Whether this process has a capability in its effective set.
bool have_cap(int bit) {
  __user_cap_header_struct hdr{};
  hdr.version = _LINUX_CAPABILITY_VERSION_3;
  __user_cap_data_struct data[2]{};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return (data[bit / 32].effective >> (bit % 32)) & 1;
}

// The part of the log that gives the reason: from the last instruction the
// verifier printed ("12: (61) r0 = ...", which some messages continue on the
// same line) to the end; the whole log when it printed none (CFG checks).
std::string reason_part(const std::string& log) {
  std::vector<std::string> lines;
  std::istringstream in(log);
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  size_t from = 0;
  for (size_t i = lines.size(); i-- > 0;) {
    const std::string& l = lines[i];
    size_t colon = l.find(": (");
    if (colon != std::string::npos && colon > 0 && l.find_first_not_of("0123456789") == colon) {
      from = i;
      break;
    }
  }
  std::string out;
  for (size_t i = from; i < lines.size(); i++) {
    if (starts_with(lines[i], "processed ") || starts_with(lines[i], "verification time") ||
        starts_with(lines[i], "stack depth"))
      continue;
    out += lines[i] + "\n";
  }
  return out;
}

// ------------------------------------------------------------ unit: the files themselves

TEST(CorpusFiles, HaveTheirHeaderLines) {
  for (const char* kind : {"reject", "accept"}) {
    for (const Case& c : corpus(kind)) {
      Header h = parse_header(c.source());
      for (const std::string& p : h.problems) ADD_FAILURE() << c.source() << ": " << p;
      if (!h.verdict.empty()) {
        EXPECT_EQ(h.verdict, c.kind) << c.source() << ": header says `" << h.verdict
                                     << "` but the file is in " << c.kind << "/";
      }
    }
  }
}

TEST(CorpusFiles, AreLargeEnough) {
  EXPECT_GE(corpus("reject").size(), kMinReject) << kSourceDir << "/reject";
  EXPECT_GE(corpus("accept").size(), kMinAccept) << kSourceDir << "/accept";
}

TEST(CorpusFiles, AreAllBuilt) {
  for (const char* kind : {"reject", "accept"}) {
    for (const Case& c : corpus(kind)) {
      EXPECT_TRUE(fs::exists(c.object()))
          << c.object() << " is missing: re-run cmake so that its glob sees " << c.source();
    }
  }
}

// ------------------------------------------------------------ kernel: the verdicts

class KernelVerifier : public testing::TestWithParam<Case> {};

TEST_P(KernelVerifier, AgreesWithTheCorpus) {
  if (auto r = kern::bpf_unavailable_reason(); !r.empty()) GTEST_SKIP() << r;
  const Case& c = GetParam();
  Header h = parse_header(c.source());
  ASSERT_TRUE(h.problems.empty()) << c.source() << ": " << h.problems.front();
  ASSERT_TRUE(fs::exists(c.object())) << c.object();

  // Without `// caps:` a file is judged as root's loader sees it; CAP_PERFMON
  // (or CAP_SYS_ADMIN) changes verdicts: pointer leaks, uninitialised stack.
  if (!h.has_caps && !have_cap(38) && !have_cap(21))
    GTEST_SKIP() << "needs CAP_PERFMON or CAP_SYS_ADMIN: the corpus is judged as root loads it";
  Load r = h.has_caps ? load_with_caps(c.object(), h.caps) : load_here(c.object());
  if (r.refused)
    GTEST_SKIP() << "bpf() refused with the capabilities this file asks for: " << trim(r.libbpf);
  std::string reason = reason_part(r.log);
  if (c.kind == "accept") {
    EXPECT_TRUE(r.loaded) << c.source() << ": the kernel rejected it (" << h.what << "):\n"
                          << (reason.empty() ? r.libbpf : reason);
    return;
  }
  ASSERT_FALSE(r.loaded) << c.source() << ": the kernel accepted it (" << h.what << ")";
  ASSERT_FALSE(r.log.empty()) << c.source() << ": no verifier log; libbpf said:\n" << r.libbpf;
  EXPECT_TRUE(reason.find(h.kernel[0]) != std::string::npos)
      << c.source() << ": the kernel's reason does not contain `" << h.kernel[0] << "`:\n"
      << reason;
}

// ------------------------------------------------------------ ours: the same verdicts

class OurVerifier : public testing::TestWithParam<Case> {};

TEST_P(OurVerifier, AgreesWithTheCorpus) {
  const Case& c = GetParam();
  Header h = parse_header(c.source());
  ASSERT_TRUE(h.problems.empty()) << c.source() << ": " << h.problems.front();
  bpf::Object obj = bpf::load_object(c.object());
  ASSERT_EQ(obj.programs.size(), 1u) << c.object();
  verifier::Options opt;
  // The privilege the kernel test loads the file with.
  opt.perfmon = !h.has_caps || (h.caps & ((uint64_t(1) << 38) | (uint64_t(1) << 21)));
  try {
    verifier::Result r = verifier::verify(obj, 0, opt);
    EXPECT_EQ(c.kind, "accept") << c.source() << ": accepted, but the kernel rejects it ("
                                << h.kernel[0] << "); processed " << r.insns_processed;
  } catch (const verifier::VerifyError& e) {
    EXPECT_EQ(c.kind, "reject") << c.source() << ": rejected, but the kernel accepts it:\n"
                                << e.what();
    if (c.kind == "reject")
      std::cout << "[ ours ] " << e.what() << "\n[kernel] " << h.kernel[0] << "\n";
  }
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  std::string n = info.param.name;
  for (char& ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  return n;
}

INSTANTIATE_TEST_SUITE_P(Reject, KernelVerifier, testing::ValuesIn(corpus("reject")), case_name);
INSTANTIATE_TEST_SUITE_P(Accept, KernelVerifier, testing::ValuesIn(corpus("accept")), case_name);
INSTANTIATE_TEST_SUITE_P(Reject, OurVerifier, testing::ValuesIn(corpus("reject")), case_name);
INSTANTIATE_TEST_SUITE_P(Accept, OurVerifier, testing::ValuesIn(corpus("accept")), case_name);

}  // namespace
