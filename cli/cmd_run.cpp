// npu run PROG.c|PROG.o: compile (clang for .c, then npu compile), offload and
// simulate a default traffic mix on the default NIC; the demo. Initial maps
// and a traffic profile are taken from PROG.maps.json and PROG.traffic.json
// next to the source when they exist, as examples/xdp has them.
#include "cli/commands.h"
#include "cli/sim_options.h"
#include "compiler/backend/compile.h"
#include "compiler/bpf/program.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sys/wait.h>
#include <unistd.h>

namespace npu_cli {
namespace {

namespace fs = std::filesystem;

// clang -O2 -g -target bpf -mcpu=v3 -c src -o obj. On failure, throws with
// clang's first error line: the one line the user needs.
void compile_c(const std::string& src, const std::string& obj) {
  std::vector<std::string> args = {
      NPU_BPF_CLANG, "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-I" NPU_MULTIARCH_INCLUDE,
      "-c",          src,   "-o", obj};
  int fd[2];
  if (pipe(fd) != 0) throw std::runtime_error("pipe failed");
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    close(fd[0]);
    dup2(fd[1], STDERR_FILENO);
    std::vector<char*> av;
    for (auto& a : args) av.push_back(a.data());
    av.push_back(nullptr);
    execv(av[0], av.data());
    _exit(127);
  }
  close(fd[1]);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) err.append(buf, size_t(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return;
  std::string first;
  for (size_t at = 0; at < err.size();) {
    size_t end = err.find('\n', at);
    std::string line = err.substr(at, end == std::string::npos ? std::string::npos : end - at);
    if (first.empty() || line.find("error:") != std::string::npos) {
      first = line;
      if (line.find("error:") != std::string::npos) break;
    }
    if (end == std::string::npos) break;
    at = end + 1;
  }
  throw std::runtime_error(fmt::format(
      "{} (clang failed{})", first.empty() ? src : first,
      WIFEXITED(status) && WEXITSTATUS(status) == 127 ? ": cannot run " NPU_BPF_CLANG : ""));
}

}  // namespace

void add_run(CLI::App& app) {
  struct Options {
    std::string input;
    SimCliOptions sim;
  };
  auto opt = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "run",
      "compile an XDP program (.c or .o), offload it to the simulated NIC and run a "
      "default traffic mix: the demo");
  cmd->add_option("input", opt->input, "XDP program: C source or BPF object")->required();
  add_sim_options(cmd, opt->sim);
  cmd->callback([opt] {
    fs::path in = opt->input;
    if (!fs::exists(in)) throw std::runtime_error(opt->input + ": no such file");
    std::string obj = opt->input;
    fs::path tmp;
    if (in.extension() == ".c") {
      tmp = fs::temp_directory_path() / fmt::format("npu-run-{}", getpid());
      fs::create_directories(tmp);
      obj = (tmp / in.stem()).string() + ".o";
    }
    npucc::CompileResult r;
    try {
      if (!tmp.empty()) compile_c(opt->input, obj);
      r = npucc::compile(bpf::load_object(obj), {});
    } catch (...) {
      if (!tmp.empty()) fs::remove_all(tmp);
      throw;
    }
    if (!tmp.empty()) fs::remove_all(tmp);
    SimCliOptions so = opt->sim;
    fs::path stem = in;
    stem.replace_extension();
    if (so.maps.empty() && fs::exists(stem.string() + ".maps.json"))
      so.maps = stem.string() + ".maps.json";
    if (so.profile.empty() && fs::exists(stem.string() + ".traffic.json"))
      so.profile = stem.string() + ".traffic.json";
    for (const npucc::ProgramStats& s : r.stats)
      if (!so.json)
        std::cout << fmt::format("{}: {} BPF -> {} NPU instructions\n", s.name, s.bpf_insns,
                                 s.npu_insns);
    run_simulation(r.image, in.filename().string(), so,
                   "size=imix,flows=1024,dist=zipf:1.1,proto=mixed,rate=line,packets=20000");
  });
}

}  // namespace npu_cli
