#include "osprey/testing/wait.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace osprey::testing {
namespace {

// The order of a SQLite commit: the last file write, then the change that
// makes it visible, in shared memory (no file write inotify reports). The
// check woken by the file write sees nothing yet; the wait must still end.
// Before WaitForWrites re-checked shortly after a failed check, this waited
// until the next unrelated write (serve_api_test waited 211 s for the next
// interval, or hit its 300 s timeout).
TEST(WaitForWritesTest, SeesAChangeThatFollowsTheLastWriteThroughSharedMemory) {
  char tmpl[] = "/tmp/osprey_wait_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, wal = dir + "/state.db-wal";
  std::ofstream(wal).put('x');  // exists before the wait: the child's write is one event
  // [0]: the parent's checks so far; [1]: the change made visible.
  auto* shared = static_cast<std::atomic<int>*>(::mmap(
      nullptr, 2 * sizeof(std::atomic<int>), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(shared, MAP_FAILED);
  new (&shared[0]) std::atomic<int>(0);
  new (&shared[1]) std::atomic<int>(0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Wait for the parent's first check (the wait has started), write the
    // file, wait until that write's check has failed, then make the change
    // visible and write nothing more. Exit after a minute at the latest, so
    // a wait that misses the change ends (false) instead of hanging.
    for (int i = 0; i < 60000 && shared[0].load() < 1; ++i) ::usleep(1000);
    const int fd = ::open(wal.c_str(), O_WRONLY | O_APPEND);
    if (fd < 0 || ::write(fd, "frames", 6) != 6) ::_exit(1);
    ::close(fd);
    for (int i = 0; i < 60000 && shared[0].load() < 2; ++i) ::usleep(1000);
    shared[1].store(1);
    for (int i = 0; i < 60000; ++i) ::usleep(1000);
    ::_exit(0);
  }
  const bool reached = WaitForWrites(child, dir, "state.db", [&] {
    const bool visible = shared[1].load() == 1;
    shared[0].fetch_add(1);
    return visible;
  });
  EXPECT_TRUE(reached);
  EXPECT_GE(shared[0].load(), 3);  // the first check, the one after the write, a later one
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::munmap(shared, 2 * sizeof(std::atomic<int>));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace osprey::testing
