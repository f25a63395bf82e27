// SystemC allows one elaboration and simulation per process, so each NIC run
// in a test happens in a child process: run_in_child forks, runs fn there and
// returns the text fn returned (JSON, by convention). An exception in the
// child comes back as std::runtime_error with its message; a crash as one
// naming the signal.
#pragma once

#include <cerrno>
#include <csignal>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <unistd.h>

namespace npu::test {

inline std::string run_in_child(const std::function<std::string()>& fn) {
  int fd[2];
  if (pipe(fd) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    close(fd[0]);
    std::string out;
    int code = 0;
    try {
      out = fn();
    } catch (const std::exception& e) {
      out = e.what();
      code = 3;
    }
    for (size_t done = 0; done < out.size();) {
      ssize_t n = write(fd[1], out.data() + done, out.size() - done);
      if (n <= 0) _exit(4);
      done += size_t(n);
    }
    _exit(code);
  }
  close(fd[1]);
  std::string text;
  char buf[65536];
  for (ssize_t n; (n = read(fd[0], buf, sizeof buf)) > 0;) text.append(buf, size_t(n));
  close(fd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (WIFSIGNALED(status))
    throw std::runtime_error(std::string("child died: ") + strsignal(WTERMSIG(status)));
  if (WEXITSTATUS(status) != 0) throw std::runtime_error(text);
  return text;
}

}  // namespace npu::test
