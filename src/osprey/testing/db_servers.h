// Throw-away database servers for tests: a real PostgreSQL (initdb + pg_ctl)
// or MariaDB (mariadb-install-db + mariadbd) in a temporary directory,
// listening on a free loopback port, with a password-protected user
// "osprey". Run as root, the servers run as the postgres / mysql system user.
// The destructor stops the server and removes the directory. Test-only code;
// not thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::testing {

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

 private:
  PostgresServer() = default;
  std::string bin_, dir_;
  int port_ = 0;
  bool running_ = false;
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
};

// A free TCP port on 127.0.0.1.
int FreePort();

}  // namespace osprey::testing
