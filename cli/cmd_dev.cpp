// npu dev: simulated cards the kernel sees (docs/shim.md).
//   npu dev start NAME [--config nic.yaml] [--wire IF] [--group G] [--mirror-ms N]
//   npu dev list | stop NAME
//   npu dev prog load OBJ dev NAME [prog FUNC] [--force] | show [dev NAME] | detach dev NAME
//   npu dev map show [dev NAME] | dump|lookup|update|delete|getnext MAP ...  (bpftool's syntax)
// `start` forks the device process (sim/card) and the host shim
// (driver/shim); every other command talks to the shim's control socket.
#include "cli/commands.h"
#include "compiler/bpf/hex.h"
#include "driver/bar.h"
#include "driver/bpftool_fmt.h"
#include "driver/dev_socket.h"
#include "driver/shim.h"
#include "sim/card/card.h"
#include "sim/nic/config.h"

#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>
#include <linux/bpf.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

namespace npu_cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
namespace bt = npu::driver::bpftool;

struct StartOptions {
  std::string name, config, wire, group, firmware = NPU_FIRMWARE_PATH;
  unsigned mirror_ms = 100;
  int timeout_s = 120;
  bool json = false;
};

[[noreturn]] void fail(const std::string& line) {
  throw std::runtime_error(line);
}

// Runs a command quietly; false when it fails.
bool sh(const std::string& cmd) {
  return std::system((cmd + " >/dev/null 2>&1").c_str()) == 0;
}

void redirect_output(const std::string& log) {
  int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int nul = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (nul >= 0) dup2(nul, 0);
  if (fd >= 0) {
    dup2(fd, 1);
    dup2(fd, 2);
  }
}

void start(const StartOptions& o) {
  if (!npu::driver::valid_card_name(o.name))
    fail(fmt::format("{}: a card name is 1 to 12 letters, digits, '-' or '_'", o.name));
  if (geteuid() != 0)
    fail(fmt::format("{}: npu dev start needs root (a TAP netdev, packet sockets, bpffs)", o.name));
  const std::string dir = npu::driver::card_dir(o.name);
  if (fs::exists(dir + "/ctl.sock")) {
    try {
      npu::driver::dev_call(o.name, {{"cmd", "info"}});
      fail(fmt::format("{}: the card is already running (npu dev stop {})", o.name, o.name));
    } catch (const std::runtime_error& e) {
      if (std::string(e.what()).find("already running") != std::string::npos) throw;
      fs::remove_all(dir);  // a card that died without cleaning up
    }
  }
  if (if_nametoindex(o.name.c_str()))
    fail(fmt::format("{}: a network interface of that name exists", o.name));
  gid_t gid = gid_t(-1);
  if (!o.group.empty()) {
    group* g = getgrnam(o.group.c_str());
    if (!g) fail(fmt::format("--group {}: no such group", o.group));
    gid = g->gr_gid;
  }
  npu::nic::NicConfig cfg;
  if (!o.config.empty()) cfg = npu::nic::NicConfig::from_yaml_file(o.config);
  if (!fs::exists(o.firmware)) fail(fmt::format("{}: no firmware image", o.firmware));
  std::string wire = o.wire;
  bool own_wire = false;
  if (wire.empty()) {
    wire = o.name + "w";
    // A pair left by a card that died before it could remove it.
    if (if_nametoindex(wire.c_str()) && !fs::exists(dir)) sh("ip link del " + wire);
    if (!sh(fmt::format("ip link add {} type veth peer name {}p", wire, o.name)))
      fail(fmt::format("{}: cannot create the veth pair {} / {}p", o.name, wire, o.name));
    own_wire = true;
    sh(fmt::format("sysctl -qw net.ipv6.conf.{}.disable_ipv6=1", wire));
    sh(fmt::format("ip link set {} up", wire));
    sh(fmt::format("ip link set {}p up", o.name));
    // No cable carries offload super-frames: the peer's stack segments and
    // checksums what it sends (docs/card.md, "The wire").
    sh(fmt::format("ethtool -K {}p tso off gso off", o.name));
  } else if (!if_nametoindex(wire.c_str())) {
    fail(fmt::format("--wire {}: no such interface", wire));
  } else {
    sh(fmt::format("ip link set {} up", wire));
  }
  bool made_dir = false;
  auto undo = [&] {
    if (own_wire) sh(fmt::format("ip link del {}", wire));
    std::error_code ec;
    if (made_dir) fs::remove_all(dir, ec);
  };
  try {
    fs::create_directories(npu::driver::run_root());
    // Pins left by a card that died.
    std::error_code ec;
    fs::remove_all("/sys/fs/bpf/npu/" + o.name, ec);
    if (mkdir(dir.c_str(), 0700) != 0) fail(fmt::format("{}: {}", dir, std::strerror(errno)));
    made_dir = true;
    // chmod: the umask must not take the group's access away.
    if (gid != gid_t(-1) && (chown(dir.c_str(), 0, gid) != 0 || chmod(dir.c_str(), 0750) != 0))
      fail(fmt::format("{}: {}", dir, std::strerror(errno)));
    const std::string bar = dir + "/bar";
    // The BAR is root's alone, whatever the group: it steers root's memory
    // copies. The group reaches the card through the control socket.
    npu::driver::Bar::create(bar, 0600, gid_t(-1));
    npu::driver::Doorbell kick_dev, kick_host;
    int ready[2];
    if (pipe(ready) != 0) fail("pipe: " + std::string(std::strerror(errno)));
    std::fflush(nullptr);
    pid_t dev = fork();
    if (dev == 0) {
      ::close(ready[0]);
      ::close(ready[1]);
      setsid();
      prctl(PR_SET_NAME, ("npu-card-" + o.name).c_str());
      redirect_output(dir + "/device.log");
      npu::card::CardOptions co;
      co.name = o.name;
      co.nic = cfg;
      co.firmware = o.firmware;
      co.bar = bar;
      co.wire = wire;
      co.kick_dev = kick_dev.fd();
      co.kick_host = kick_host.fd();
      _exit(npu::card::run_card(co));
    }
    pid_t shim = fork();
    if (shim == 0) {
      ::close(ready[0]);
      setsid();
      prctl(PR_SET_NAME, ("npu-shim-" + o.name).c_str());
      redirect_output(dir + "/shim.log");
      npu::driver::ShimOptions so;
      so.name = o.name;
      so.run_dir = dir;
      so.bar = bar;
      so.netdev = o.name;
      so.wire = wire;
      so.own_wire = own_wire;
      so.pin_dir = "/sys/fs/bpf/npu/" + o.name;
      so.group = gid;
      so.mirror_ms = o.mirror_ms;
      so.kick_dev = kick_dev.fd();
      so.kick_host = kick_host.fd();
      so.dev_pid = dev;
      so.ready_fd = ready[1];
      _exit(npu::driver::run_shim(so));
    }
    ::close(ready[1]);
    std::string line;
    pollfd p{ready[0], POLLIN, 0};
    char buf[512];
    if (poll(&p, 1, o.timeout_s * 1000) > 0) {
      ssize_t n = ::read(ready[0], buf, sizeof buf);
      if (n > 0) line.assign(buf, size_t(n));
    }
    ::close(ready[0]);
    if (line.rfind("ok", 0) != 0) {
      kill(dev, SIGKILL);
      kill(shim, SIGKILL);
      std::string log;
      std::ifstream in(dir + "/device.log");
      std::getline(in, log);
      while (!line.empty() && line.back() == '\n') line.pop_back();
      fail(fmt::format("{}: the card did not start: {}", o.name,
                       !line.empty()  ? line
                       : !log.empty() ? log
                                      : "no answer within " + std::to_string(o.timeout_s) + " s"));
    }
    // The children are not ours to wait for: they outlive this command.
    json info = npu::driver::dev_call(o.name, {{"cmd", "info"}});
    // What `npu dev stop` needs to clean up after a card that died.
    std::ofstream(dir + "/card.json") << json{
        {"dev_pid", int(dev)},
        {"shim_pid", int(shim)},
        {"wire", wire},
        {"own_wire", own_wire},
        {"pin_dir",
         info.value("pin_dir", "")}}.dump();
    if (o.json) {
      std::cout << info.dump() << "\n";
      return;
    }
    std::cout << fmt::format(
        "{}: card started: netdev {} (ifindex {}), wire {}{}, device pid {}, shim pid {}\n"
        "  maps mirrored under {} every {} ms{}\n",
        o.name, info.value("netdev", ""), info.value("ifindex", 0), wire,
        own_wire ? fmt::format(" (its peer {}p is yours)", o.name) : "", int(dev), int(shim),
        info.value("pin_dir", ""), o.mirror_ms,
        info.value("kernel", false) ? "" : " (no kernel: " + info.value("kernel_note", "") + ")");
  } catch (...) {
    undo();
    throw;
  }
}

// A card whose shim does not answer: its processes are killed and what it
// made (run directory, its own veth, the pins) is removed.
void clean_up_dead(const std::string& name, const std::string& why) {
  const std::string dir = npu::driver::card_dir(name);
  json c = json::parse(std::ifstream(dir + "/card.json"), nullptr, false);
  if (c.is_object()) {
    // Only processes that are still the card's: pids are reused.
    for (const char* k : {"shim_pid", "dev_pid"}) {
      const int pid = c.value(k, 0);
      std::string comm;
      std::getline(std::ifstream("/proc/" + std::to_string(pid) + "/comm"), comm);
      if (pid > 0 && comm.rfind("npu-", 0) == 0) kill(pid, SIGKILL);
    }
    if (c.value("own_wire", false)) sh("ip link del " + c.value("wire", std::string("-")));
    const std::string pins = c.value("pin_dir", std::string());
    std::error_code ec;
    if (pins.rfind("/sys/fs/bpf/npu/", 0) == 0) fs::remove_all(pins, ec);
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  std::cerr << fmt::format(
      "{}: the card did not answer ({}); its processes and what it made were "
      "removed\n",
      name, why);
}

// Returns how it stopped: "stopped", or "cleaned up" for a card that did not answer.
std::string stop(const std::string& name) {
  const std::string dir = npu::driver::card_dir(name);
  json r;
  try {
    r = npu::driver::dev_call(name, {{"cmd", "stop"}});
  } catch (const std::runtime_error& e) {
    if (!npu::driver::valid_card_name(name) || !fs::exists(dir)) throw;
    clean_up_dead(name, e.what());
    return "cleaned up";
  }
  if (r.contains("error")) fail(r["error"].get<std::string>());
  for (int i = 0; i < 200 && fs::exists(dir + "/ctl.sock"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  if (!fs::exists(dir + "/ctl.sock")) return "stopped";
  clean_up_dead(name, "it did not stop within 10 s");
  return "cleaned up";
}

json call(const std::string& name, const json& req) {
  json r = npu::driver::dev_call(name, req);
  if (r.contains("error")) fail(r["error"].get<std::string>());
  return r;
}

void list(bool as_json) {
  json out = json::array();
  for (const std::string& n : npu::driver::card_names()) {
    try {
      out.push_back(call(n, {{"cmd", "info"}}));
    } catch (const std::exception& e) {
      out.push_back({{"name", n}, {"error", e.what()}});
    }
  }
  if (as_json) {
    std::cout << out.dump() << "\n";
    return;
  }
  for (const json& c : out) {
    if (c.contains("error")) {
      std::cout << fmt::format("{}: {}\n", c["name"].get<std::string>(),
                               c["error"].get<std::string>());
      continue;
    }
    const json& p = c["prog"];
    const json& s = c["stats"];
    std::cout << fmt::format(
        "{}: netdev {} (ifindex {})  wire {}  device pid {}  shim pid {}\n"
        "\tprog {}\n\twire rx {}  tx {}  to host {}  from host {}  dropped {} (card {}, "
        "ring {}, refused {})\n",
        c["name"].get<std::string>(), c["netdev"].get<std::string>(), c["ifindex"].get<int>(),
        c["wire"].get<std::string>(), c["dev_pid"].get<int>(), c["shim_pid"].get<int>(),
        p.is_null() ? std::string("none")
                    : fmt::format("{} (id {}, tag {}) from {}", p["name"].get<std::string>(),
                                  p["id"].get<uint32_t>(), p["tag"].get<std::string>(),
                                  p["file"].get<std::string>()),
        s["wire_rx"].get<uint64_t>(), s["wire_tx"].get<uint64_t>(), s["to_host"].get<uint64_t>(),
        s["from_host"].get<uint64_t>(), s["drop"].get<uint64_t>(), s["nic_drop"].get<uint64_t>(),
        s["ring_full"].get<uint64_t>(), s["bad_frame"].get<uint64_t>());
  }
}

// ---- bpftool-style arguments ----

struct Args {
  std::vector<std::string> v;
  size_t pos = 0;
  bool more() const { return pos < v.size(); }
  const std::string& peek() const { return v[pos]; }
  std::string next(const char* what) {
    if (!more()) fail(fmt::format("expected {}", what));
    return v[pos++];
  }
};

// Takes "dev NAME" from the arguments, wherever it is not itself the value
// of another keyword (a map or program may be called "dev").
std::string take_dev(Args& a) {
  static const std::set<std::string> takes_value = {"name", "pinned",  "id",
                                                    "prog", "section", "tag"};
  for (size_t i = 0; i + 1 < a.v.size(); ++i)
    if (a.v[i] == "dev" && (i == 0 || !takes_value.count(a.v[i - 1]))) {
      std::string n = a.v[i + 1];
      a.v.erase(a.v.begin() + long(i), a.v.begin() + long(i) + 2);
      return n;
    }
  return "";
}

// "show [id N | name X | pinned P | tag T]": what a show lists.
struct ShowFilter {
  std::string how, what;
  bool match(const std::string& h, const std::string& value) const {
    return how.empty() || (how == h && what == value);
  }
};

// prog show takes id, name and tag; map show id, name and pinned (a card's
// programs are not pinned; maps have no tag). Keywords by prefix, as bpftool.
ShowFilter take_filter(Args& a, const char* verb, const std::vector<std::string>& keys) {
  ShowFilter f;
  if (!a.more()) return f;
  const std::string word = a.next("a filter");
  for (const std::string& k : keys)
    if (!word.empty() && k.rfind(word, 0) == 0) f.how = k;
  if (f.how.empty())
    fail(fmt::format("{}: expected {}, got '{}'", verb,
                     keys.size() == 3 ? fmt::format("'{}', '{}' or '{}'", keys[0], keys[1], keys[2])
                                      : std::string("a filter"),
                     word));
  f.what = a.next("a value");
  if (a.more()) fail(fmt::format("{}: unexpected '{}'", verb, a.peek()));
  return f;
}

std::vector<std::string> cards_or(const std::string& dev) {
  if (!dev.empty()) return {dev};
  return npu::driver::card_names();
}

bt::ProgDesc prog_desc(const json& c) {
  const json& p = c["prog"];
  bt::ProgDesc d;
  d.id = p["id"].get<uint32_t>();
  d.name = p["name"].get<std::string>();
  d.tag = p["tag"].get<std::string>();
  d.gpl = p["gpl"].get<bool>();
  d.loaded_at = p["loaded_at"].get<int64_t>();
  d.uid = p["uid"].get<uint32_t>();
  d.xlated = p["bytes_xlated"].get<uint32_t>();
  d.jited = p["bytes_jited"].get<uint32_t>();
  d.memlock = (uint64_t(d.jited) + 4095) / 4096 * 4096;
  d.map_ids = p["map_ids"].get<std::vector<uint32_t>>();
  d.ifname = c["netdev"].get<std::string>();
  d.ifindex = c["ifindex"].get<uint32_t>();
  return d;
}

bt::MapDesc map_desc(const json& c, const json& m) {
  bt::MapDesc d;
  d.id = m["id"].get<uint32_t>();
  d.name = m["name"].get<std::string>();
  d.type = m["type"].get<uint32_t>();
  d.key_size = m["key_size"].get<uint32_t>();
  d.value_size = m["value_size"].get<uint32_t>();
  d.max_entries = m["max_entries"].get<uint32_t>();
  d.flags = m["flags"].get<uint32_t>();
  d.ncpus = m["ncpus"].get<unsigned>();
  d.memlock = (uint64_t(d.key_size + d.value_size) * d.max_entries * d.ncpus + 4095) / 4096 * 4096;
  d.ifname = c["netdev"].get<std::string>();
  d.ifindex = c["ifindex"].get<uint32_t>();
  if (!m["pinned"].get<std::string>().empty()) d.pinned = {m["pinned"].get<std::string>()};
  return d;
}

void prog_cmd(Args a, bool as_json, bool force) {
  const std::string verb = a.next("a verb: load, show or detach");
  std::string dev = take_dev(a);
  if (verb == "load" || verb == "attach") {
    const std::string obj = a.next("an object file");
    std::string prog;
    while (a.more()) {
      std::string k = a.next("an argument");
      if (k == "prog" || k == "section")
        prog = a.next("a program name");
      else
        fail(fmt::format("prog load: unexpected '{}'", k));
    }
    if (dev.empty()) fail("prog load: which card? (dev NAME)");
    std::ifstream in(obj, std::ios::binary);
    if (!in) fail(fmt::format("{}: cannot open: {}", obj, std::strerror(errno)));
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    const std::string hex = bpf::to_hex(bytes);
    json r = call(dev, {{"cmd", "prog_load"},
                        {"file", fs::path(obj).filename().string()},
                        {"prog", prog},
                        {"force", force},
                        {"object", hex}});
    if (as_json)
      std::cout << r.dump() << "\n";
    else
      std::cout << fmt::format(
          "{}: {} loaded and attached: id {} tag {}{}\n", dev, r["name"].get<std::string>(),
          r["id"].get<uint32_t>(), r["tag"].get<std::string>(),
          r["kernel"].get<bool>()
              ? ""
              : " (not verified by the kernel: " + r["kernel_note"].get<std::string>() + ")");
    return;
  }
  if (verb == "detach" || verb == "unload") {
    if (dev.empty()) fail("prog detach: which card? (dev NAME)");
    call(dev, {{"cmd", "prog_detach"}});
    return;
  }
  if (verb == "show" || verb == "list") {
    bt::Json out = bt::Json::array();
    std::string text;
    const ShowFilter f = take_filter(a, "prog show", {"id", "name", "tag"});
    for (const std::string& n : cards_or(dev)) {
      json c = call(n, {{"cmd", "info"}});
      if (c["prog"].is_null()) continue;
      bt::ProgDesc d = prog_desc(c);
      if (!f.match("id", std::to_string(d.id)) && !f.match("name", d.name) &&
          !f.match("tag", d.tag))
        continue;
      out.push_back(bt::show_prog_json(d));
      text += bt::show_prog_text(d);
    }
    std::cout << (as_json ? bt::json_text(out) + "\n" : text);
    return;
  }
  fail(fmt::format("prog: unknown verb '{}' (load, show, detach)", verb));
}

// The card and map an "id N | name NAME | pinned PATH" reference names.
std::pair<json, json> find_map(Args& a, const std::string& dev) {
  const std::string how = a.next("id, name or pinned");
  const std::string what = a.next("a map reference");
  for (const std::string& n : cards_or(dev)) {
    json c = call(n, {{"cmd", "info"}});
    for (const json& m : c["maps"]) {
      bool hit = how == "id"       ? std::to_string(m["id"].get<uint32_t>()) == what
                 : how == "name"   ? m["name"].get<std::string>() == what
                 : how == "pinned" ? m["pinned"].get<std::string>() == what
                                   : false;
      if (hit) return {c, m};
    }
  }
  if (how != "id" && how != "name" && how != "pinned")
    fail(fmt::format("expected 'id', 'name' or 'pinned', got '{}'", how));
  fail(fmt::format("no map with {} {} on {}", how, what, dev.empty() ? "any npu card" : dev));
}

void map_cmd(Args a, bool as_json) {
  const std::string verb = a.next("a verb");
  const std::string dev = take_dev(a);
  if (verb == "show" || verb == "list") {
    bt::Json out = bt::Json::array();
    std::string text;
    const ShowFilter f = take_filter(a, "map show", {"id", "name", "pinned"});
    for (const std::string& n : cards_or(dev)) {
      json c = call(n, {{"cmd", "info"}});
      for (const json& m : c["maps"]) {
        bt::MapDesc d = map_desc(c, m);
        if (!f.match("id", std::to_string(d.id)) && !f.match("name", d.name) &&
            !f.match("pinned", m["pinned"].get<std::string>()))
          continue;
        out.push_back(bt::show_map_json(d));
        text += bt::show_map_text(d);
      }
    }
    std::cout << (as_json ? bt::json_text(out) + "\n" : text);
    return;
  }
  auto [c, m] = find_map(a, dev);
  const std::string card = c["name"].get<std::string>();
  const std::string name = m["name"].get<std::string>();
  bt::MapDesc d = map_desc(c, m);
  json req = {{"cmd", "map"}, {"op", verb}, {"map", name}};
  auto as_bytes = [](const json& j) { return j.get<std::vector<uint8_t>>(); };
  // The whole element is parsed, as bpftool does, before anything is sent.
  auto elem = [&](bool update) {
    try {
      return bt::parse_elem(d, a.v, a.pos, update);
    } catch (const std::invalid_argument& e) {
      fail(e.what());
    }
  };
  if (verb == "dump") {
    if (a.more()) fail(fmt::format("map dump: unexpected '{}'", a.peek()));
    json r = call(card, req);
    bt::Entries e;
    for (const json& x : r["entries"]) e.emplace_back(as_bytes(x["key"]), as_bytes(x["value"]));
    std::cout << (as_json ? bt::json_text(bt::dump_json(d, e)) + "\n" : bt::dump_text(d, e));
  } else if (verb == "lookup") {
    const std::vector<uint8_t> key = elem(false).key;
    req["key"] = key;
    json r = npu::driver::dev_call(card, req);
    if (r.value("errno", 0) == ENOENT) {
      // As bpftool: the key and "Not found" (null), and a failure.
      std::cout << (as_json ? bt::json_text(bt::lookup_json(d, key, nullptr)) + "\n"
                            : bt::lookup_text(d, key, nullptr));
      std::cout.flush();
      fail(r["error"].get<std::string>());
    }
    if (r.contains("error")) fail(r["error"].get<std::string>());
    const std::vector<uint8_t> val = as_bytes(r["value"]);
    std::cout << (as_json ? bt::json_text(bt::lookup_json(d, key, &val)) + "\n"
                          : bt::lookup_text(d, key, &val));
  } else if (verb == "getnext") {
    std::vector<uint8_t> key;
    if (a.more()) {
      key = elem(false).key;
      req["key"] = key;
    }
    json r = call(card, req);
    std::vector<uint8_t> next = as_bytes(r["next_key"]);
    const std::vector<uint8_t>* kp = req.contains("key") ? &key : nullptr;
    std::cout << (as_json ? bt::json_text(bt::getnext_json(d, kp, next)) + "\n"
                          : bt::getnext_text(d, kp, next));
  } else if (verb == "delete") {
    req["key"] = elem(false).key;
    call(card, req);
  } else if (verb == "update") {
    bt::Elem e = elem(true);
    if (!e.value_ref.empty())
      fail("map update: values that name programs or maps are not supported on a card");
    req["key"] = e.key;
    req["value"] = e.value;
    req["flags"] = e.flags;
    call(card, req);
  } else {
    fail(fmt::format("map: unknown verb '{}' (show, dump, lookup, update, delete, getnext)", verb));
  }
}

}  // namespace

void add_dev(CLI::App& app) {
  CLI::App* dev = app.add_subcommand(
      "dev", "simulated cards the kernel sees: start, list, stop; offload programs; maps");
  dev->require_subcommand(1);

  auto so = std::make_shared<StartOptions>();
  CLI::App* st = dev->add_subcommand("start", "start a card: the NIC model and its host shim");
  st->add_option("name", so->name, "the card's name (also its netdev's)")->required();
  st->add_option("--config", so->config, "NIC config (default: the built-in card)");
  st->add_option("--wire", so->wire,
                 "interface the card's wire port uses (default: a new veth pair NAMEw/NAMEp)");
  st->add_option("--group", so->group, "a group allowed to use the card besides root");
  st->add_option("--mirror-ms", so->mirror_ms, "refresh period of the kernel map mirrors (ms)")
      ->check(CLI::Range(10u, 60000u));
  st->add_option("--firmware", so->firmware, "firmware image");
  st->add_option("--timeout", so->timeout_s, "seconds to wait for the card to come up");
  st->add_flag("-j,--json", so->json, "the card's description as JSON (as npu dev list -j)");
  st->callback([so] { start(*so); });

  auto as_json = std::make_shared<bool>(false);
  CLI::App* ls = dev->add_subcommand("list", "the running cards");
  ls->add_flag("-j,--json", *as_json, "JSON");
  ls->callback([as_json] { list(*as_json); });

  auto stop_name = std::make_shared<std::string>();
  CLI::App* sp = dev->add_subcommand("stop", "stop a card and remove what it made");
  sp->add_option("name", *stop_name, "the card")->required();
  auto stop_json = std::make_shared<bool>(false);
  sp->add_flag("-j,--json", *stop_json, "the outcome as JSON");
  sp->callback([stop_name, stop_json] {
    const std::string how = stop(*stop_name);
    if (*stop_json) std::cout << json{{"name", *stop_name}, {"outcome", how}}.dump() << "\n";
  });

  auto pargs = std::make_shared<std::vector<std::string>>();
  auto force = std::make_shared<bool>(false);
  auto pjson = std::make_shared<bool>(false);
  CLI::App* pr = dev->add_subcommand(
      "prog", "load OBJ dev NAME [prog FUNC] [--force] | show [dev NAME] | detach dev NAME");
  pr->add_option("args", *pargs, "bpftool-style arguments")->required();
  pr->add_flag("--force", *force, "replace an attached program");
  pr->add_flag("-j,--json", *pjson, "JSON, as bpftool's");
  pr->callback([pargs, force, pjson] { prog_cmd(Args{*pargs}, *pjson, *force); });

  auto margs = std::make_shared<std::vector<std::string>>();
  auto mjson = std::make_shared<bool>(false);
  CLI::App* mp = dev->add_subcommand(
      "map",
      "show [dev NAME] | dump|lookup|update|delete|getnext {id N | name M | pinned P} "
      "[key BYTES] [value BYTES] [any|exist|noexist] [dev NAME]");
  mp->add_option("args", *margs, "bpftool-style arguments")->required();
  mp->add_flag("-j,--json", *mjson, "JSON, as bpftool's");
  mp->callback([margs, mjson] { map_cmd(Args{*margs}, *mjson); });
}

}  // namespace npu_cli
