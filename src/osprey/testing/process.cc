#include "osprey/testing/process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

namespace osprey::testing {

pid_t SpawnTestbin(const std::string& testbin, const TestingClockFlags& clock,
                   const std::vector<std::string>& args, const std::string& log) {
  std::vector<std::string> all = {testbin, "--testing-clock", FormatIso(clock.start), "--testing-clock-speed",
                                  fmt::format("{}", clock.speed)};
  if (clock.origin_ms) {
    all.push_back("--testing-clock-origin");
    all.push_back(fmt::format("{}", *clock.origin_ms));
  }
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd < 0) _exit(126);
    dup2(fd, 1);
    dup2(fd, 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

int ExitCode(pid_t pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace osprey::testing
