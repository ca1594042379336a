#include "osprey/testing/wait.h"

#include <poll.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>

namespace osprey::testing {
namespace {

constexpr int kRecheckMs = 50;

[[noreturn]] void Die(const char* what) {
  std::fprintf(stderr, "WaitForWrites: %s: %s\n", what, std::strerror(errno));
  std::abort();
}

}  // namespace

bool WaitForWrites(pid_t pid, const std::string& dir, const std::string& prefix,
                   const std::function<bool()>& done) {
  const int notify = inotify_init1(IN_CLOEXEC);
  if (notify < 0) Die("inotify_init1");
  if (inotify_add_watch(notify, dir.c_str(), IN_MODIFY | IN_CREATE | IN_MOVED_TO) < 0) Die(dir.c_str());
  const int process = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (process < 0) Die("pidfd_open");
  bool reached = false;
  bool check = true;  // the first check, then after each matching write
  while (true) {
    if (check && done()) {
      reached = true;
      break;
    }
    // A SQLite commit ends with a write to its WAL index through shared
    // memory, which inotify does not report: a check woken by the commit's
    // last file write can run just before the commit shows. So a failed
    // check is repeated a little later, as well as after the next write.
    pollfd fds[2] = {{notify, POLLIN, 0}, {process, POLLIN, 0}};
    const int ready = poll(fds, 2, kRecheckMs);
    if (ready < 0) {
      if (errno == EINTR) continue;
      Die("poll");
    }
    if (ready == 0) {
      check = true;
      continue;
    }
    if (fds[1].revents != 0) break;
    alignas(inotify_event) char buf[8192];
    const ssize_t n = read(notify, buf, sizeof buf);
    if (n < 0) Die("read");
    check = false;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buf + at);
      if (e->len > 0 && std::strncmp(e->name, prefix.c_str(), prefix.size()) == 0) check = true;
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  close(notify);
  close(process);
  return reached;
}

void WaitForExit(pid_t pid) {
  const int process = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (process < 0) {
    if (errno == ESRCH) return;
    Die("pidfd_open");
  }
  pollfd fd{process, POLLIN, 0};
  while (poll(&fd, 1, -1) < 0) {
    if (errno != EINTR) Die("poll");
  }
  close(process);
}

bool PollWhileProgressing(const std::function<bool()>& done, const std::function<int64_t()>& progress,
                          std::chrono::milliseconds every, std::chrono::seconds stall) {
  int64_t last = progress();
  auto moved = std::chrono::steady_clock::now();
  while (!done()) {
    const int64_t now = progress();
    if (now != last) {
      last = now;
      moved = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - moved > stall) {
      return false;
    }
    std::this_thread::sleep_for(every);
  }
  return true;
}

}  // namespace osprey::testing
