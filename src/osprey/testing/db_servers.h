// Throw-away database servers for tests: a real PostgreSQL (initdb + pg_ctl)
// or MariaDB (mariadb-install-db + mariadbd) in a temporary directory,
// listening on a free loopback port, with a password-protected user
// "osprey". Run as root, the servers run as the postgres / mysql system user.
// The destructor stops the server and removes the directory; so does a
// keeper process (ServerKeeper) when the test process dies without running
// it (a SIGKILL, ctest's timeout). Test-only code; not thread-safe.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::testing {

// A process that runs a cleanup command once the test process that started
// it has exited, however it exited: it waits for the end of a pipe whose
// other end only the test holds (close-on-exec, so no child the test
// starts holds it too), in a session of its own (a signal to the test's
// process group spares it). Finish() runs the cleanup now and waits for it.
class ServerKeeper {
 public:
  ServerKeeper() = default;  // inactive
  ServerKeeper(ServerKeeper&& o) noexcept : fd_(std::exchange(o.fd_, -1)), pid_(std::exchange(o.pid_, -1)) {}
  ServerKeeper& operator=(ServerKeeper&& o) noexcept {
    std::swap(fd_, o.fd_);
    std::swap(pid_, o.pid_);
    return *this;
  }
  ServerKeeper(const ServerKeeper&) = delete;
  ServerKeeper& operator=(const ServerKeeper&) = delete;
  ~ServerKeeper() { Finish(); }

  // An inactive keeper when the process cannot be started.
  static ServerKeeper Start(const std::string& cleanup);
  // False when inactive (nothing ran).
  bool Finish();
  pid_t pid() const { return pid_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
};

inline constexpr const char* kTestUser = "osprey";
inline constexpr const char* kTestPassword = "s3cret-Pw";

class PostgresServer {
 public:
  // The binaries' directory, or empty when PostgreSQL is not installed.
  static std::string FindBinDir();
  // FailedPrecondition when the binaries are absent (tests skip then);
  // Internal when the server does not start (with its log's tail).
  static Result<std::unique_ptr<PostgresServer>> Start();
  ~PostgresServer();

  int port() const { return port_; }
  // A libpq DSN for database `db` ("osprey" exists), as kTestUser.
  std::string Dsn(const std::string& db = "osprey") const;
  std::string Url(const std::string& db = "osprey") const;
  // Runs SQL (several statements allowed) as the superuser.
  Status Execute(const std::string& sql, const std::string& db = "osprey") const;
  // COPY table FROM STDIN with `text` in COPY's text format.
  Status CopyIn(const std::string& table, const std::string& text) const;
  // Kills the server abruptly (SIGKILL to the postmaster).
  void Kill();
  const std::string& bin_dir() const { return bin_; }
  const std::string& dir() const { return dir_; }
  pid_t keeper_pid() const { return keeper_.pid(); }

 private:
  PostgresServer() = default;
  std::string bin_, dir_;
  int port_ = 0;
  bool running_ = false;
  ServerKeeper keeper_;
};

class MariadbServer {
 public:
  static bool Available();
  static Result<std::unique_ptr<MariadbServer>> Start();
  ~MariadbServer();

  int port() const { return port_; }
  // mysql://osprey:...@127.0.0.1:port/osprey
  std::string Url() const;
  Status Execute(const std::string& sql) const;  // as osprey, one statement
  void Kill();

 private:
  MariadbServer() = default;
  std::string dir_;
  int port_ = 0;
  int pid_ = -1;
  ServerKeeper keeper_;
};

// A free TCP port on 127.0.0.1.
int FreePort();

}  // namespace osprey::testing
