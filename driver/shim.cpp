#include "driver/shim.h"

#include "compiler/backend/compile.h"
#include "compiler/bpf/hex.h"
#include "compiler/bpf/program.h"
#include "compiler/npu/image.h"
#include "driver/bar.h"
#include "driver/bpftool_fmt.h"
#include "driver/cmsg.h"
#include "driver/dev_socket.h"
#include "driver/kernel_mirror.h"
#include "driver/tap.h"
#include "sim/kernel/oracle.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <fmt/format.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>

namespace npu::driver {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;
using Bytes = std::vector<uint8_t>;

// A request refused with -errno and one line.
struct ShimError : std::runtime_error {
  ShimError(int e, const std::string& what) : std::runtime_error(what), err(e) {}
  int err;
};

using bpftool::is_percpu;

Bytes json_bytes(const json& j, const char* what) {
  if (!j.is_array()) throw ShimError(-EINVAL, fmt::format("{}: expected an array of bytes", what));
  Bytes b;
  for (const json& x : j) {
    if (!x.is_number_unsigned() || x.get<uint64_t>() > 255)
      throw ShimError(-EINVAL, fmt::format("{}: bytes must be 0..255", what));
    b.push_back(uint8_t(x.get<unsigned>()));
  }
  return b;
}

// A map of the loaded program: the card's view and its kernel mirror.
struct CardMap {
  npu_dev_map d{};
  std::string name;
  const MirrorMap* mirror = nullptr;
  Entries pushed;  // what the mirror held after our last write (kernel layout)
  bool have_pushed = false;
  std::string mirror_error;  // why the mirror is no longer refreshed, or ""
};

struct Loaded {
  std::string file, prog;
  uint32_t prog_index = 0;
  std::unique_ptr<KernelMirror> km;  // null when the kernel could not be used
  std::string kernel_note;           // why not
  uint32_t card_id = 0;              // our own id when the kernel gave none
  std::string tag;
  int64_t loaded_at = 0;
  uint32_t uid = 0;
  uint32_t bpf_insns = 0, npu_insns = 0;
  bool gpl = false;
  std::vector<CardMap> maps;
};

class Shim {
 public:
  explicit Shim(const ShimOptions& o)
      : o_(o),
        bar_(Bar::open(o.bar)),
        kick_dev_(dup(o.kick_dev)),
        kick_host_(dup(o.kick_host)),
        tap_(o.netdev),
        kcpus_(1) {
    bar_.set_reg32(NPU_REG_IFINDEX, tap_.ifindex());
    bar_.set_reg32(NPU_REG_HOST_PID, uint32_t(getpid()));
    kick_dev_.kick();
    kernel_note_ = kernel_unavailable_reason();
    if (kernel_note_.empty()) kcpus_ = unsigned(std::max(1, kern::possible_cpus()));
    listen_socket();
  }

  ~Shim() {
    for (const Client& c : clients_) ::close(c.fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }

  int run() {
    wait_ready();
    if (o_.ready_fd >= 0) {
      [[maybe_unused]] ssize_t n = ::write(o_.ready_fd, "ok\n", 3);
      ::close(o_.ready_fd);
    }
    auto next_refresh = Clock::now() + std::chrono::milliseconds(o_.mirror_ms);
    while (!stop_) {
      std::vector<pollfd> fds = {
          {tap_.fd(), POLLIN, 0}, {kick_host_.fd(), POLLIN, 0}, {listen_fd_, POLLIN, 0}};
      for (const Client& c : clients_)
        fds.push_back({c.fd, short(c.out.empty() ? POLLIN : POLLOUT), 0});
      int ms =
          int(std::chrono::duration_cast<std::chrono::milliseconds>(next_refresh - Clock::now())
                  .count());
      poll(fds.data(), fds.size(), std::clamp(ms, 0, int(o_.mirror_ms)));
      kick_host_.drain();
      if (bar_.reg32(NPU_REG_STATUS) & NPU_STATUS_FAILED) {
        std::fprintf(stderr, "%s: the device process failed (see device.log)\n", o_.name.c_str());
        break;
      }
      if (o_.dev_pid > 0 && !process_alive(o_.dev_pid)) {
        std::fprintf(stderr, "%s: the device process is gone\n", o_.name.c_str());
        break;
      }
      move_frames();
      if (fds[2].revents & POLLIN) accept_client();
      serve_clients();
      if (Clock::now() >= next_refresh) {
        refresh_mirrors();
        next_refresh = Clock::now() + std::chrono::milliseconds(o_.mirror_ms);
      }
    }
    shutdown();
    return 0;
  }

 private:
  void wait_ready() {
    for (int i = 0; i < 6000; ++i) {
      if (bar_.reg32(NPU_REG_MAGIC) == NPU_BAR_MAGIC &&
          (bar_.reg32(NPU_REG_STATUS) & NPU_STATUS_READY))
        return;
      if (bar_.reg32(NPU_REG_STATUS) & NPU_STATUS_FAILED) break;
      pollfd p{kick_host_.fd(), POLLIN, 0};
      poll(&p, 1, 50);
      kick_host_.drain();
    }
    throw std::runtime_error(o_.name + ": the device process did not come up (see device.log)");
  }

  void listen_socket() {
    const std::string path = o_.run_dir + "/ctl.sock";
    ::unlink(path.c_str());
    listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    const mode_t mode = o_.group == gid_t(-1) ? 0600 : 0660;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        chmod(path.c_str(), mode) != 0 ||
        (o_.group != gid_t(-1) && chown(path.c_str(), 0, o_.group) != 0) ||
        listen(listen_fd_, 16) != 0)
      throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  }

  // Frames between the TAP and the rings, both ways, until neither has any.
  void move_frames() {
    Bytes f;
    bool sent = false;
    for (int n = 0; n < 4096 && tap_.read(&f); ++n) {
      if (!bar_.push(NPU_RING_FROMHOST, f.data(), f.size())) ++host_ring_full_;
      sent = true;
    }
    if (sent) kick_dev_.kick();
    while (bar_.pop(NPU_RING_TOHOST, &f)) tap_.write(f.data(), f.size());
  }

  // Root, or a member of the named group.
  bool allowed(int fd, std::string* who) {
    ucred c{};
    socklen_t len = sizeof c;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len) != 0) return false;
    *who = fmt::format("uid {}", c.uid);
    if (c.uid == 0) return true;
    if (o_.group == gid_t(-1)) return false;
    if (c.gid == o_.group) return true;
    passwd* pw = getpwuid(c.uid);
    if (!pw) return false;
    int n = 64;
    std::vector<gid_t> groups(64);
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) < 0) {
      groups.resize(size_t(n));  // n is now the number needed
      if (getgrouplist(pw->pw_name, pw->pw_gid, groups.data(), &n) < 0) return false;
    }
    return std::find(groups.begin(), groups.begin() + n, o_.group) != groups.begin() + n;
  }

  // Clients are served from the loop, so one that connects and says
  // nothing holds up neither the packets nor other clients.
  struct Client {
    int fd = -1;
    uint32_t uid = 0;
    std::string buf;
    Clock::time_point since;
    std::string denied;  // why the client may not use the card, or ""
    std::string out;     // the reply being sent (length, then JSON)
    size_t sent = 0;
  };

  void accept_client() {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    std::string who;
    ucred c{};
    socklen_t len = sizeof c;
    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &c, &len);
    if (clients_.size() >= 64) {  // a flood of idle connections must not grow without bound
      ::close(fd);
      return;
    }
    Client cl{fd, c.uid, "", Clock::now(), ""};
    // Refused once its request is read: closing with unread data would
    // reset the connection and lose the answer.
    if (!allowed(fd, &who))
      cl.denied = fmt::format("{}: permission denied for {}: the card belongs to root{}", o_.name,
                              who, o_.group == gid_t(-1) ? "" : " and its group");
    clients_.push_back(std::move(cl));
  }

  // Replies go out from the loop as the client reads them: one that does
  // not read holds up nothing but itself, until its deadline.
  static void queue_reply(Client& c, const json& reply) {
    std::string body = reply.dump(-1, ' ', false, json::error_handler_t::replace);
    uint32_t n = uint32_t(body.size());
    c.out.assign(reinterpret_cast<const char*>(&n), 4);
    c.out += body;
    c.sent = 0;
    c.since = Clock::now();
  }

  // True when the client is done with (reply sent, or gone).
  static bool send_some(Client& c) {
    while (c.sent < c.out.size()) {
      ssize_t w =
          ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (w > 0) {
        c.sent += size_t(w);
        continue;
      }
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return false;
      return true;
    }
    return true;
  }

  void serve_clients() {
    constexpr size_t kMaxRequest = 64u << 20;  // an object as hex, with room
    for (size_t i = 0; i < clients_.size();) {
      Client& c = clients_[i];
      if (!c.out.empty()) {
        if (send_some(c) || Clock::now() - c.since > std::chrono::seconds(10)) {
          ::close(c.fd);
          clients_.erase(clients_.begin() + long(i));
        } else {
          ++i;
        }
        continue;
      }
      char buf[65536];
      ssize_t n;
      bool closed = false;
      while ((n = ::recv(c.fd, buf, sizeof buf, 0)) > 0) c.buf.append(buf, size_t(n));
      if (n == 0) closed = true;
      uint32_t want = 0;
      if (c.buf.size() >= 4) std::memcpy(&want, c.buf.data(), 4);
      const bool complete = c.buf.size() >= 4 && c.buf.size() >= 4 + size_t(want);
      json reply;
      bool done = true;
      if (!c.denied.empty() && (complete || closed || want > kMaxRequest)) {
        reply = {{"error", c.denied}, {"errno", EACCES}};
      } else if (c.buf.size() >= 4 && want > kMaxRequest) {
        reply = {{"error", "request too large"}, {"errno", E2BIG}};
      } else if (complete && c.denied.empty()) {
        json req = json::parse(c.buf.begin() + 4, c.buf.begin() + 4 + want, nullptr, false);
        if (req.is_discarded() || !req.is_object()) {
          reply = {{"error", "malformed request"}, {"errno", EINVAL}};
        } else {
          uid_ = c.uid;
          try {
            reply = handle(req);
          } catch (const ShimError& e) {
            reply = {{"error", e.what()}, {"errno", -e.err}};
          } catch (const std::exception& e) {
            reply = {{"error", e.what()}, {"errno", EINVAL}};
          }
        }
      } else if (closed || Clock::now() - c.since > std::chrono::seconds(10)) {
        ::close(c.fd);
        clients_.erase(clients_.begin() + long(i));
        continue;
      } else {
        done = false;
      }
      if (done) {
        queue_reply(c, reply);
        continue;  // sent from the top of the loop, now and as the client reads
      }
      ++i;
    }
  }

  json handle(const json& req) {
    const std::string cmd = req.value("cmd", "");
    if (cmd == "info") return info();
    if (cmd == "prog_load") return prog_load(req);
    if (cmd == "prog_detach") {
      if (!prog_) throw ShimError(-ENOENT, fmt::format("{}: no program attached", o_.name));
      try {
        detach();
      } catch (...) {
        if (prog_unknown_) roll_back(nullptr);  // the unload timed out: the program is given up
        throw;
      }
      return {{"ok", true}};
    }
    if (cmd == "map") return map_op(req);
    if (cmd == "stop") {
      stop_ = true;
      return {{"ok", true}};
    }
    throw ShimError(-EINVAL, fmt::format("unknown request '{}'", cmd));
  }

  // ---- control messages through the BAR ----

  struct Reply {
    int32_t err = 0;
    uint32_t result = 0;
    Bytes payload;
    std::string text() const {
      return std::string(payload.begin(), std::find(payload.begin(), payload.end(), 0));
    }
  };

  Reply call(Bytes msg, int timeout_s = 120) {
    // A request the card never answered still owns the buffer: its late
    // reply must not land on a new request.
    if (stuck_ && bar_.reg32(NPU_REG_CTRL_DONE) != stuck_)
      throw ShimError(-EBUSY,
                      fmt::format("{}: the card is still busy with an earlier request", o_.name));
    if (stuck_ && prog_unknown_) {
      // A program load or unload that timed out has finished after all: the
      // shim had given the program up, so the card gives it up too.
      stuck_ = 0;
      prog_unknown_ = false;
      call(cmsg_dev_request(NPU_CMSG_PROG_UNLOAD, 0), 60);
    }
    stuck_ = 0;
    const uint16_t seq = uint16_t(++seq_);
    std::memcpy(msg.data() + NPU_CMSG_SEQ, &seq, 2);
    if (msg.size() > NPU_BAR_CTRL_SIZE)
      throw ShimError(-E2BIG,
                      fmt::format("{}: a control message of {} bytes", o_.name, msg.size()));
    std::memcpy(bar_.ctrl(), msg.data(), msg.size());
    const uint32_t req = bar_.reg32(NPU_REG_CTRL_REQ) + 1;
    bar_.set_reg32(NPU_REG_CTRL_REQ, req);
    kick_dev_.kick();
    const auto start = Clock::now();
    const auto deadline = start + std::chrono::seconds(timeout_s);
    while (bar_.reg32(NPU_REG_CTRL_DONE) != req) {
      if (bar_.reg32(NPU_REG_STATUS) & NPU_STATUS_FAILED)
        throw ShimError(-EIO, fmt::format("{}: the device process failed", o_.name));
      if (!process_alive(o_.dev_pid))
        throw ShimError(-EIO, fmt::format("{}: the device process is gone", o_.name));
      if (Clock::now() > deadline) {
        stuck_ = req;
        const uint8_t t = msg[NPU_CMSG_TYPE];
        if (t == NPU_CMSG_PROG_LOAD || t == NPU_CMSG_PROG_UNLOAD) prog_unknown_ = true;
        throw ShimError(-ETIMEDOUT, fmt::format("{}: the card did not answer", o_.name));
      }
      pollfd p{kick_host_.fd(), POLLIN, 0};
      poll(&p, 1, 20);
      kick_host_.drain();
      move_frames();  // the host path keeps flowing while the card works
    }
    if (msg[NPU_CMSG_TYPE] >= NPU_CMSG_MAP_LOOKUP && msg[NPU_CMSG_TYPE] <= NPU_CMSG_MAP_GETNEXT) {
      const double us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
      if (map_op_us_.size() < 65536) map_op_us_.push_back(us);
    }
    const uint32_t len = bar_.reg32(NPU_REG_CTRL_LEN);
    CmsgReply r;
    std::string why;
    if (len > NPU_BAR_CTRL_SIZE ||
        !parse_reply(bar_.ctrl(), len, msg[NPU_CMSG_TYPE], seq, &r, &why))
      throw ShimError(-EIO, fmt::format("{}: bad reply from the card: {}", o_.name, why));
    return {r.err, r.result, std::move(r.payload)};
  }

  // ---- programs ----

  json prog_load(const json& req) {
    const std::string file = req.value("file", "prog.o");
    const std::string prog = req.value("prog", "");
    Bytes obj;
    try {
      obj = bpf::parse_hex(req.value("object", ""), file);
    } catch (const std::runtime_error& e) {
      throw ShimError(-EINVAL, e.what());
    }
    if (obj.empty()) throw ShimError(-EINVAL, file + ": the object did not arrive");
    if (prog_ && !req.value("force", false))
      throw ShimError(-EBUSY, fmt::format("{}: XDP program already attached; replace it with "
                                          "--force (or detach it first)",
                                          o_.name));
    auto next = std::make_unique<Loaded>();
    next->file = file;
    next->uid = uid_;
    next->loaded_at = int64_t(std::time(nullptr));
    // npucc reads objects from files.
    const std::string tmp = o_.run_dir + "/load.o";
    {
      std::ofstream out(tmp, std::ios::binary);
      out.write(reinterpret_cast<const char*>(obj.data()), std::streamsize(obj.size()));
    }
    // Messages name the user's file, not ours.
    auto user_error = [&](const std::exception& e) {
      std::string w = e.what();
      for (size_t at; (at = w.find(tmp)) != std::string::npos;) w.replace(at, tmp.size(), file);
      return ShimError(-EINVAL, w);
    };
    npucc::CompileResult cr;
    try {
      bpf::Object bo = bpf::load_object(tmp);
      std::filesystem::remove(tmp);
      cr = npucc::compile(bo);
    } catch (const std::exception& e) {
      std::filesystem::remove(tmp);
      throw user_error(e);
    }
    int index = -1;
    for (size_t i = 0; i < cr.image.programs.size(); ++i)
      if (prog.empty() || cr.image.programs[i].name == prog || cr.image.programs[i].section == prog)
        if (index < 0) index = int(i);
    if (index < 0) throw ShimError(-ENOENT, fmt::format("{}: no program '{}'", file, prog));
    const auto& p = cr.image.programs[size_t(index)];
    next->prog = p.name;
    next->prog_index = uint32_t(index);
    next->bpf_insns = p.bpf_insns;
    next->npu_insns = p.npu_insns;
    // The kernel verifies it too, and gives its id and tag.
    next->kernel_note = kernel_note_;
    if (kernel_note_.empty()) {
      try {
        ensure_bpffs_dir(o_.pin_dir, o_.group == gid_t(-1) ? 0 : o_.group);
        next->km = KernelMirror::load(obj, file, p.name, o_.pin_dir);
        // What bpftool shows for the same program.
        next->tag = next->km->prog().tag;
        next->gpl = next->km->prog().gpl;
        next->loaded_at = next->km->prog().loaded_at;
        next->uid = next->km->prog().uid;
      } catch (const KernelLoadError& e) {
        throw ShimError(e.err ? e.err : -EINVAL, e.what());
      } catch (const std::exception& e) {
        // A pin that could not be made: the pins go back to the old program's.
        roll_back(nullptr);
        throw ShimError(-EINVAL, e.what());
      }
    }
    try {
      load_on_card(*next, cr, file);
    } catch (...) {
      roll_back(next.get());
      throw;
    }
    std::vector<std::string> names;
    for (const CardMap& m : next->maps) names.push_back(m.name);
    prog_ = std::move(next);
    if (prog_->km) KernelMirror::prune(o_.pin_dir, names);
    refresh_mirrors();
    return prog_json();
  }

  // After a failed load: the card kept the old program (its loader checks
  // before it unloads) or has none. Pins go back to what the card runs.
  void roll_back(Loaded* next) {
    if (prog_unknown_) {
      // The card may be running either program: neither is shown, and the
      // card is told to unload once it answers (call()).
      if (next && next->km) next->km->unpin_all();
      if (prog_ && prog_->km) prog_->km->unpin_all();
      prog_.reset();
      return;
    }
    bool old_runs = false;
    try {
      Reply r = call(cmsg_dev_request(NPU_CMSG_DEV_INFO, 0), 10);
      npu_dev_info d{};
      if (!r.err && r.payload.size() >= sizeof d) {
        std::memcpy(&d, r.payload.data(), sizeof d);
        old_runs = prog_ && d.loaded;
      }
    } catch (const std::exception&) {
      old_runs = bool(prog_);  // unknown: assume nothing changed
    }
    if (old_runs) {
      std::vector<std::string> names;
      for (const CardMap& m : prog_->maps) {
        names.push_back(m.name);
        // A same-name map of another shape took the pin: give it back.
        if (m.mirror && m.mirror->fd >= 0 && !m.mirror->pin_path.empty()) {
          ::unlink(m.mirror->pin_path.c_str());
          bpf_obj_pin(m.mirror->fd, m.mirror->pin_path.c_str());
        }
      }
      if (prog_->km) KernelMirror::prune(o_.pin_dir, names);
      return;
    }
    if (next && next->km) next->km->unpin_all();
    if (prog_ && prog_->km) prog_->km->unpin_all();
    prog_.reset();
  }

  void load_on_card(Loaded& next, const npucc::CompileResult& cr, const std::string& file) {
    // Shared maps keep their contents on the card across the replacement.
    std::map<std::string, Entries> keep;
    if (prog_)
      for (const CardMap& m : prog_->maps)
        for (const auto& nm : cr.image.maps)
          if (nm.name == m.name && !nm.global_data && nm.type == m.d.type &&
              nm.key_size == m.d.key_size && nm.value_size == m.d.value_size &&
              nm.max_entries == m.d.max_entries && nm.flags == m.d.flags)
            try {
              keep[m.name] = dump_card(m);
            } catch (const ShimError& e) {
              std::fprintf(stderr, "%s: %s starts empty: %s\n", o_.name.c_str(), m.name.c_str(),
                           e.what());
            }
    // The card's loader.
    Bytes body(8, 0);
    uint32_t name_len = uint32_t(file.size());
    std::memcpy(body.data(), &next.prog_index, 4);
    std::memcpy(body.data() + 4, &name_len, 4);
    body.resize(body.size() + 8, 0);  // flags
    body.insert(body.end(), file.begin(), file.end());
    body.resize((body.size() + 7) & ~size_t(7), 0);
    Bytes img = image_bytes(cr.image);
    body.insert(body.end(), img.begin(), img.end());
    Reply r = call(cmsg_dev_request(NPU_CMSG_PROG_LOAD, 0, body));
    if (r.err) throw ShimError(r.err, r.text());
    for (uint32_t i = 0; i < r.result && (i + 1) * sizeof(npu_dev_map) <= r.payload.size(); ++i) {
      CardMap m;
      std::memcpy(&m.d, r.payload.data() + i * sizeof(npu_dev_map), sizeof m.d);
      m.name = std::string(m.d.name, strnlen(m.d.name, sizeof m.d.name));
      if (next.km) m.mirror = next.km->find(m.name);
      next.maps.push_back(std::move(m));
    }
    // The new program runs from here: a shared element that cannot be put
    // back is reported in the log, not as a failed load.
    for (CardMap& m : next.maps)
      if (auto it = keep.find(m.name); it != keep.end())
        for (const auto& [k, v] : it->second) try {
            card_update(m, k, v, BPF_ANY);
          } catch (const std::exception& e) {
            std::fprintf(stderr, "%s: keeping map %s: %s\n", o_.name.c_str(), m.name.c_str(),
                         e.what());
          }
    if (!next.km) next.card_id = ++card_prog_ids_;
    if (next.tag.empty()) next.tag = "0000000000000000";
  }

  void detach() {
    call(cmsg_dev_request(NPU_CMSG_PROG_UNLOAD, 0));
    if (prog_ && prog_->km) prog_->km->unpin_all();
    prog_.reset();
  }

  json prog_json() const {
    if (!prog_) return nullptr;
    json maps = json::array();
    for (const CardMap& m : prog_->maps) maps.push_back(map_id(m));
    const bool k = bool(prog_->km);
    return {{"id", k ? prog_->km->prog().id : prog_->card_id},
            {"kernel", k},
            {"kernel_note", prog_->kernel_note},
            {"name", prog_->prog},
            {"file", prog_->file},
            {"tag", prog_->tag},
            {"gpl", prog_->gpl},
            {"loaded_at", prog_->loaded_at},
            {"uid", prog_->uid},
            {"bytes_xlated", k ? prog_->km->prog().xlated : prog_->bpf_insns * 8},
            {"bytes_jited", prog_->npu_insns * NPU_INSN_BYTES},
            {"bpf_insns", prog_->bpf_insns},
            {"npu_insns", prog_->npu_insns},
            {"map_ids", maps}};
  }

  uint32_t map_id(const CardMap& m) const { return m.mirror ? m.mirror->id : m.d.id; }

  unsigned card_cpus(const CardMap& m) const {
    const size_t v = (m.d.value_size + 7) & ~7u;
    return is_percpu(m.d.type) && v ? unsigned(m.d.sys_value_size / v) : 1;
  }

  json info() {
    json maps = json::array();
    if (prog_)
      for (const CardMap& m : prog_->maps)
        maps.push_back({{"id", map_id(m)},
                        {"card_id", m.d.id},
                        {"name", m.name},
                        {"type", m.d.type},
                        {"key_size", m.d.key_size},
                        {"value_size", m.d.value_size},
                        {"max_entries", m.d.max_entries},
                        {"flags", m.d.flags},
                        {"ncpus", card_cpus(m)},
                        {"pinned", m.mirror ? m.mirror->pin_path : ""},
                        {"mirrored", m.mirror && m.mirror->synced && m.mirror_error.empty() &&
                                         !(m.d.flags & (BPF_F_RDONLY | BPF_F_WRONLY))},
                        {"mirror_error", m.mirror_error}});
    static const char* stat_names[] = {"wire_rx",      "wire_tx",    "to_host",   "from_host",
                                       "drop",         "nic_drop",   "ring_full", "redirect",
                                       "bad_frame",    "batches",    "sim_ps",    "pkt_cycles",
                                       "wire_overrun", "wire_tx_err"};
    static_assert(sizeof stat_names / sizeof *stat_names == NPU_STAT_WIRE_TX_ERR + 1,
                  "a name for every NPU_STAT_*");
    json stats;
    for (unsigned i = 0; i < sizeof stat_names / sizeof *stat_names; ++i)
      stats[stat_names[i]] = bar_.stat(i);
    stats["host_ring_full"] = host_ring_full_;
    // Host map operations: from the request in the BAR to the card's answer.
    std::vector<double> us = map_op_us_;
    std::sort(us.begin(), us.end());
    auto pct = [&](double q) { return us.empty() ? 0.0 : us[size_t(q * double(us.size() - 1))]; };
    stats["map_ops"] = {{"count", us.size()},
                        {"p50_us", pct(0.5)},
                        {"p99_us", pct(0.99)},
                        {"max_us", us.empty() ? 0.0 : us.back()}};
    stats["cycles"] = bar_.reg64(NPU_REG_CYCLE);
    return {{"name", o_.name},
            {"netdev", o_.netdev},
            {"ifindex", tap_.ifindex()},
            {"wire", o_.wire},
            {"dev_pid", o_.dev_pid},
            {"shim_pid", getpid()},
            {"mirror_ms", o_.mirror_ms},
            {"pin_dir", o_.pin_dir},
            {"kernel", kernel_note_.empty()},
            {"kernel_note", kernel_note_},
            {"prog", prog_json()},
            {"maps", maps},
            {"stats", stats}};
  }

  // ---- maps ----

  CardMap& find_map(const std::string& name) {
    if (prog_)
      for (CardMap& m : prog_->maps)
        if (m.name == name) return m;
    throw ShimError(-ENOENT, fmt::format("{}: no map '{}' on the card", o_.name, name));
  }

  Reply map_call(uint8_t type, const CardMap& m, const Bytes& key, uint64_t flags = 0) {
    return call(cmsg_map_op(type, 0, m.d.id, flags, key), 10);
  }

  // bpftool's message for a refused update.
  void card_update(const CardMap& m, const Bytes& k, const Bytes& v, uint64_t flags) {
    Reply r = call(cmsg_map_update(0, m.d.id, flags, k, v), 10);
    if (r.err) throw ShimError(r.err, "update failed: " + std::string(std::strerror(-r.err)));
  }

  // Every element, a control buffer's worth at a time.
  Entries dump_card(const CardMap& m) {
    Entries out;
    const size_t k8 = (m.d.key_size + 7) & ~7u, v8 = (m.d.sys_value_size + 7) & ~7u;
    for (;;) {
      Bytes body(16, 0);
      std::memcpy(body.data(), &m.d.id, 4);
      if (!out.empty()) {
        const uint64_t flags = NPU_DUMP_F_AFTER;
        std::memcpy(body.data() + 8, &flags, 8);
        body.insert(body.end(), out.back().first.begin(), out.back().first.end());
      }
      Reply r = call(cmsg_dev_request(NPU_CMSG_MAP_DUMP, 0, body), 60);
      if (r.err)
        throw ShimError(r.err, fmt::format("{}: map '{}': dump failed: {}", o_.name, m.name,
                                           r.text().empty() ? std::strerror(-r.err) : r.text()));
      const uint32_t n = r.result & ~NPU_DUMP_MORE;
      for (uint32_t i = 0; i < n && (i + 1) * (k8 + v8) <= r.payload.size(); ++i) {
        const uint8_t* p = r.payload.data() + i * (k8 + v8);
        out.emplace_back(Bytes(p, p + m.d.key_size), Bytes(p + k8, p + k8 + m.d.sys_value_size));
      }
      // No map holds more than max_entries: the bound guards against a walk
      // that restarts because its key was deleted meanwhile.
      if (!(r.result & NPU_DUMP_MORE) || n == 0 || out.size() > m.d.max_entries) break;
    }
    return out;
  }

  void check_size(const Bytes& b, size_t n, const char* what) {
    if (b.size() != n)
      throw ShimError(-EINVAL, fmt::format("{} expected {} bytes got {}", what, n, b.size()));
  }

  json map_op(const json& req) {
    CardMap& m = find_map(req.value("map", ""));
    const std::string op = req.value("op", "");
    auto jb = [](const Bytes& b) { return json(b); };
    if (op == "dump") {
      json e = json::array();
      for (const auto& [k, v] : dump_card(m)) e.push_back({{"key", jb(k)}, {"value", jb(v)}});
      return {{"entries", e}};
    }
    if (op == "getnext" && !req.contains("key")) {
      Reply r = map_call(NPU_CMSG_MAP_GETFIRST, m, {});
      if (r.err)
        throw ShimError(r.err, "can't get next key: " + std::string(std::strerror(-r.err)));
      return {{"next_key", jb(r.payload)}};
    }
    Bytes key = json_bytes(req.value("key", json::array()), "key");
    check_size(key, m.d.key_size, "key");
    if (op == "lookup") {
      Reply r = map_call(NPU_CMSG_MAP_LOOKUP, m, key);
      if (r.err) throw ShimError(r.err, "lookup failed: " + std::string(std::strerror(-r.err)));
      return {{"key", jb(key)}, {"value", jb(r.payload)}};
    }
    if (op == "getnext") {
      Reply r = map_call(NPU_CMSG_MAP_GETNEXT, m, key);
      if (r.err)
        throw ShimError(r.err, "can't get next key: " + std::string(std::strerror(-r.err)));
      return {{"key", jb(key)}, {"next_key", jb(r.payload)}};
    }
    // Writes made to the mirror before this one go to the card first, so
    // that they cannot come after it and undo it.
    if (op == "delete" || op == "update") mirror_now(m);
    if (op == "delete") {
      Reply r = map_call(NPU_CMSG_MAP_DELETE, m, key);
      if (r.err) throw ShimError(r.err, "delete failed: " + std::string(std::strerror(-r.err)));
      mirror_now(m);
      return {{"ok", true}};
    }
    if (op == "update") {
      Bytes value = json_bytes(req.value("value", json::array()), "value");
      check_size(value, m.d.sys_value_size, "value");
      card_update(m, key, value, req.value("flags", uint64_t(0)));
      mirror_now(m);
      return {{"ok", true}};
    }
    throw ShimError(-EINVAL, fmt::format("unknown map operation '{}'", op));
  }

  // ---- mirrors ----

  // The card's value in the kernel's layout: percpu copies folded onto the
  // kernel's CPUs (u64 words summed: counters keep their totals).
  Bytes to_kernel(const CardMap& m, const Bytes& v) const {
    if (!is_percpu(m.d.type)) return v;
    const size_t w = (m.d.value_size + 7) & ~7u;
    Bytes out(w * kcpus_, 0);
    const unsigned cc = card_cpus(m);
    for (unsigned c = 0; c < cc; ++c) {
      uint8_t* dst = out.data() + (c % kcpus_) * w;
      const uint8_t* src = v.data() + c * w;
      if (m.d.value_size % 8 == 0) {
        for (size_t i = 0; i < w; i += 8) {
          uint64_t a, b;
          std::memcpy(&a, dst + i, 8);
          std::memcpy(&b, src + i, 8);
          a += b;
          std::memcpy(dst + i, &a, 8);
        }
      } else if (c < kcpus_) {
        std::memcpy(dst, src, w);
      }
    }
    return out;
  }

  Bytes to_card(const CardMap& m, const Bytes& v) const {
    if (!is_percpu(m.d.type)) return v;
    const size_t w = (m.d.value_size + 7) & ~7u;
    Bytes out(m.d.sys_value_size, 0);
    for (unsigned c = 0; c < card_cpus(m) && c < kcpus_; ++c)
      std::memcpy(out.data() + c * w, v.data() + c * w, w);
    return out;
  }

  // Writes made to a mirror with bpftool since our last refresh go to the
  // card first; then the mirror gets the card's contents.
  void sync_map(CardMap& m, bool card_changed = true) {
    if (!m.mirror || !m.mirror->synced || !prog_ || !prog_->km) return;
    // Maps the syscall side may not read or write cannot be mirrored.
    if (m.d.flags & (BPF_F_RDONLY | BPF_F_WRONLY)) return;
    const Entries now = prog_->km->read(*m.mirror);
    if (m.have_pushed) {
      std::map<Bytes, Bytes> before(m.pushed.begin(), m.pushed.end());
      std::vector<std::pair<Bytes, Bytes>> changed;
      for (const auto& [k, v] : now) {
        auto it = before.find(k);
        if (it == before.end() || it->second != v) changed.emplace_back(k, v);
        if (it != before.end()) before.erase(it);
      }
      // Deletes first: a full map has room for what replaces them, and an
      // LPM prefix rewritten with other host bits is deleted, then added.
      // Array elements cannot be deleted, and a kernel LRU map evicts on
      // its own when nearly full: a key missing there is no delete.
      const bool no_deletes =
          m.d.type == BPF_MAP_TYPE_ARRAY || m.d.type == BPF_MAP_TYPE_PERCPU_ARRAY ||
          m.d.type == BPF_MAP_TYPE_LRU_HASH || m.d.type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
      if (!no_deletes)
        for (const auto& kv : before) {
          map_call(NPU_CMSG_MAP_DELETE, m, kv.first);
          card_changed = true;
        }
      for (const auto& [k, v] : changed) {
        // A refused write shows as the card's value after this refresh.
        call(cmsg_map_update(0, m.d.id, BPF_ANY, k, to_card(m, v)), 10);
        card_changed = true;
      }
    }
    if (!card_changed && m.have_pushed) return;
    Entries e = dump_card(m);
    for (auto& kv : e) kv.second = to_kernel(m, kv.second);
    // Elements written to the mirror since `now` was read are left alone:
    // they differ from `pushed` and reach the card next time.
    prog_->km->sync(*m.mirror, e, &now);
    m.pushed = std::move(e);
    m.have_pushed = true;
  }

  void mirror_now(CardMap& m) {
    try {
      sync_map(m);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: mirror of %s: %s\n", o_.name.c_str(), m.name.c_str(), e.what());
    }
  }

  // The card's maps change only when it runs frames or the host writes
  // them; an idle card costs the refresh no control messages.
  void refresh_mirrors() {
    if (!prog_) return;
    // Batches count when every frame has left: a dump after it sees all
    // that the batch's program runs wrote.
    const uint64_t batches = bar_.stat(NPU_STAT_BATCHES);
    const bool changed = batches != last_batches_;
    last_batches_ = batches;
    for (CardMap& m : prog_->maps) {
      if (!m.mirror_error.empty()) continue;
      try {
        sync_map(m, changed);
      } catch (const ShimError& e) {
        // An element larger than the control buffer: the mirror stays as it
        // is, and says so.
        if (e.err == -E2BIG) m.mirror_error = e.what();
        std::fprintf(stderr, "%s: mirror of %s: %s\n", o_.name.c_str(), m.name.c_str(), e.what());
      } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: mirror of %s: %s\n", o_.name.c_str(), m.name.c_str(), e.what());
      }
    }
  }

  void shutdown() {
    if (prog_) {
      try {
        detach();
      } catch (const std::exception&) {
        if (prog_->km) prog_->km->unpin_all();
      }
    }
    std::error_code ec;
    std::filesystem::remove_all(o_.pin_dir, ec);
    bar_.or_reg32(NPU_REG_STATUS, NPU_STATUS_STOPPING);
    kick_dev_.kick();
    for (int i = 0; i < 200 && process_alive(o_.dev_pid); ++i) usleep(20000);
    if (process_alive(o_.dev_pid)) kill(o_.dev_pid, SIGKILL);
    if (o_.own_wire) [[maybe_unused]]
      int rc = std::system(("ip link del " + o_.wire + " >/dev/null 2>&1").c_str());
    // `npu dev stop` waits for ctl.sock to go: it goes last.
    for (const auto& e : std::filesystem::directory_iterator(o_.run_dir, ec))
      if (e.path().filename() != "ctl.sock") std::filesystem::remove_all(e.path(), ec);
    std::filesystem::remove(o_.run_dir + "/ctl.sock", ec);
    std::filesystem::remove(o_.run_dir, ec);
  }

  ShimOptions o_;
  Bar bar_;
  Doorbell kick_dev_, kick_host_;
  Tap tap_;
  unsigned kcpus_;
  std::string kernel_note_;
  int listen_fd_ = -1;
  uint32_t seq_ = 0;
  uint32_t stuck_ = 0;         // a request that timed out, until the card answers it
  bool prog_unknown_ = false;  // ... a program load or unload: what runs is unknown
  uint32_t uid_ = 0;
  uint32_t card_prog_ids_ = 0;
  uint64_t host_ring_full_ = 0;
  std::vector<double> map_op_us_;  // round trips of host map operations
  std::vector<Client> clients_;
  uint64_t last_batches_ = ~0ull;  // batches the card had run at the last refresh
  bool stop_ = false;
  std::unique_ptr<Loaded> prog_;
};

}  // namespace

int run_shim(const ShimOptions& opt) {
  signal(SIGPIPE, SIG_IGN);
  try {
    Shim s(opt);
    return s.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    if (opt.ready_fd >= 0) {
      std::string line = std::string(e.what()) + "\n";
      [[maybe_unused]] ssize_t n = ::write(opt.ready_fd, line.data(), line.size());
    }
    return 1;
  }
}

}  // namespace npu::driver
