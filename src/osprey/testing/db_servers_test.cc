#include "osprey/testing/db_servers.h"

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "osprey/testing/wait.h"

namespace osprey::testing {
namespace {

namespace fs = std::filesystem;

// A test process killed while its server runs (ctest's timeout, a SIGKILL)
// never reaches the destructor: the keeper stops the server and removes
// its directory all the same.
TEST(DbServersTest, AKilledTestLeavesNoServerRunning) {
  if (PostgresServer::FindBinDir().empty()) GTEST_SKIP() << "PostgreSQL is not installed";
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    auto server = PostgresServer::Start();
    std::string report = "-";
    if (server.ok()) {
      report = std::to_string((*server)->port()) + " " + std::to_string((*server)->keeper_pid()) + " " +
               (*server)->dir();
    }
    (void)!write(fds[1], report.data(), report.size());
    close(fds[1]);
    raise(SIGKILL);  // no destructor runs
    _exit(1);
  }
  close(fds[1]);
  std::string report;
  char buf[512];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) report.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  ASSERT_NE(report, "-") << "the server did not start in the child";
  int port = 0;
  pid_t keeper = 0;
  char dir[400] = {};
  ASSERT_EQ(sscanf(report.c_str(), "%d %d %399s", &port, &keeper, dir), 3) << report;
  ASSERT_GT(keeper, 0) << "no keeper process was started";
  WaitForExit(keeper);  // it noticed the test's end and cleaned up
  EXPECT_FALSE(fs::exists(dir)) << dir;
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres connect_timeout=10";
  EXPECT_EQ(PQping(dsn.c_str()), PQPING_NO_RESPONSE) << "a server still answers on port " << port;
}

// A server a test stops normally is gone once its object is: the keeper
// runs the cleanup then (the destructor waits for it).
TEST(DbServersTest, TheDestructorStopsTheServerThroughItsKeeper) {
  auto server = PostgresServer::Start();
  if (!server.ok() && server.status().code() == StatusCode::kFailedPrecondition) GTEST_SKIP();
  ASSERT_TRUE(server.ok()) << server.status().ToString();
  const int port = (*server)->port();
  const std::string dir = (*server)->dir();
  ASSERT_GT((*server)->keeper_pid(), 0);
  ASSERT_TRUE(fs::exists(dir));
  server->reset();
  EXPECT_FALSE(fs::exists(dir));
  const std::string dsn =
      "host=127.0.0.1 port=" + std::to_string(port) + " dbname=postgres connect_timeout=10";
  EXPECT_EQ(PQping(dsn.c_str()), PQPING_NO_RESPONSE);
}

}  // namespace
}  // namespace osprey::testing
