#include "osprey/testing/db_servers.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <libpq-fe.h>
#include <mysql.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "osprey/testing/files.h"
#include "osprey/testing/wait.h"

namespace osprey::testing {
namespace fs = std::filesystem;
namespace {

bool IsRoot() { return geteuid() == 0; }

void ChownTree(const std::string& dir, const char* user) {
  struct passwd* pw = getpwnam(user);
  if (pw == nullptr) return;
  std::error_code ec;
  (void)chown(dir.c_str(), pw->pw_uid, pw->pw_gid);
  for (auto& e : fs::recursive_directory_iterator(dir, ec)) {
    (void)lchown(e.path().c_str(), pw->pw_uid, pw->pw_gid);
  }
}

std::string Tail(const std::string& path) {
  const std::string t = ReadFile(path).value_or("");
  return t.size() > 2000 ? t.substr(t.size() - 2000) : t;
}

int Run(const std::string& cmd) { return std::system(cmd.c_str()); }

}  // namespace

ServerKeeper ServerKeeper::Start(const std::string& cleanup) {
  // Built before the fork: the child of a threaded process may only make
  // async-signal-safe calls until it execs.
  const std::string script = "cat > /dev/null; " + cleanup;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {};
  const pid_t pid = fork();
  if (pid == 0) {
    setsid();  // out of the test's process group: a signal to the group spares it
    dup2(fds[0], STDIN_FILENO);
    const int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
      dup2(null, STDOUT_FILENO);  // nor does it hold ctest's output pipes open
      dup2(null, STDERR_FILENO);
    }
    close_range(3, ~0U, 0);
    execl("/bin/sh", "sh", "-c", script.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[0]);
  if (pid < 0) {
    close(fds[1]);
    return {};
  }
  ServerKeeper k;
  k.fd_ = fds[1];
  k.pid_ = pid;
  return k;
}

bool ServerKeeper::Finish() {
  if (pid_ <= 0) return false;
  close(fd_);
  waitpid(pid_, nullptr, 0);
  fd_ = pid_ = -1;
  return true;
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  int port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string PostgresServer::FindBinDir() {
  std::string best;
  std::error_code ec;
  for (auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    fs::path bin = e.path() / "bin";
    if (fs::exists(bin / "initdb") && fs::exists(bin / "pg_ctl") && bin.string() > best) {
      best = bin.string();
    }
  }
  return best;
}

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start() {
  std::unique_ptr<PostgresServer> s(new PostgresServer());
  s->bin_ = FindBinDir();
  if (s->bin_.empty()) {
    return FailedPrecondition(
        "PostgreSQL server binaries not found under /usr/lib/postgresql "
        "(run scripts/install-deps.sh)");
  }
  s->dir_ = MakeTempDir("osprey-pg-");
  if (s->dir_.empty()) return Internal("cannot create a temporary directory");
  const std::string as = IsRoot() ? "runuser -u postgres -- " : "";
  s->keeper_ = ServerKeeper::Start(
      fmt::format("{}{}/pg_ctl -D {}/data -m immediate -w stop > /dev/null 2>&1; rm -rf {}", as, s->bin_,
                  s->dir_, s->dir_));
  const std::string data = s->dir_ + "/data";
  {
    std::ofstream pw(s->dir_ + "/pw");
    pw << kTestPassword << "\n";
  }
  if (IsRoot()) ChownTree(s->dir_, "postgres");
  std::string cmd = fmt::format(
      "{}{}/initdb -D {} -U {} --pwfile={}/pw -A scram-sha-256 --auth-local=trust -E UTF8 "
      "--no-sync > {}/initdb.log 2>&1",
      as, s->bin_, data, kTestUser, s->dir_, s->dir_);
  if (Run(cmd) != 0) {
    return Internal(fmt::format("initdb failed: {}", Tail(s->dir_ + "/initdb.log")));
  }
  for (int attempt = 0; attempt < 5; ++attempt) {
    s->port_ = FreePort();
    cmd = fmt::format(
        "{}{}/pg_ctl -D {} -l {}/server.log -w -t 600 -o \"-p {} -k {} -c listen_addresses=127.0.0.1 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off\" start > /dev/null 2>&1",
        as, s->bin_, data, s->dir_, s->port_, s->dir_);
    if (Run(cmd) == 0) {
      s->running_ = true;
      break;
    }
  }
  if (!s->running_) {
    return Internal(fmt::format("PostgreSQL did not start: {}", Tail(s->dir_ + "/server.log")));
  }
  OSPREY_RETURN_IF_ERROR(s->Execute("CREATE DATABASE osprey", "postgres"));
  return s;
}

PostgresServer::~PostgresServer() {
  if (keeper_.Finish()) return;  // it stopped the server and removed the directory
  if (running_) {
    const std::string as = IsRoot() ? "runuser -u postgres -- " : "";
    Run(fmt::format("{}{}/pg_ctl -D {}/data -m immediate -w stop > /dev/null 2>&1", as, bin_, dir_));
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
}

std::string PostgresServer::Dsn(const std::string& db) const {
  return fmt::format("host=127.0.0.1 port={} user={} password={} dbname={}", port_, kTestUser, kTestPassword,
                     db);
}

std::string PostgresServer::Url(const std::string& db) const {
  return fmt::format("postgresql://{}:{}@127.0.0.1:{}/{}", kTestUser, kTestPassword, port_, db);
}

Status PostgresServer::Execute(const std::string& sql, const std::string& db) const {
  PGconn* c = PQconnectdb(Dsn(db).c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    return Unavailable(m);
  }
  PGresult* r = PQexec(c, sql.c_str());
  Status st;
  if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
    st = InvalidArgument(PQresultErrorMessage(r));
  }
  PQclear(r);
  PQfinish(c);
  return st;
}

Status PostgresServer::CopyIn(const std::string& table, const std::string& text) const {
  PGconn* c = PQconnectdb(Dsn().c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string m = PQerrorMessage(c);
    PQfinish(c);
    return Unavailable(m);
  }
  Status st;
  PGresult* r = PQexec(c, fmt::format("COPY {} FROM STDIN", table).c_str());
  if (PQresultStatus(r) != PGRES_COPY_IN) st = InvalidArgument(PQresultErrorMessage(r));
  PQclear(r);
  if (st.ok()) {
    if (PQputCopyData(c, text.data(), static_cast<int>(text.size())) != 1 || PQputCopyEnd(c, nullptr) != 1) {
      st = Internal(PQerrorMessage(c));
    }
    while (PGresult* res = PQgetResult(c)) {
      if (PQresultStatus(res) != PGRES_COMMAND_OK && st.ok()) {
        st = InvalidArgument(PQresultErrorMessage(res));
      }
      PQclear(res);
    }
  }
  PQfinish(c);
  return st;
}

void PostgresServer::Kill() {
  std::ifstream pid_file(dir_ + "/data/postmaster.pid");
  int pid = 0;
  if (pid_file >> pid && pid > 0) {
    ::kill(pid, SIGKILL);
    // The backends notice the postmaster's death and exit on their own.
  }
  running_ = false;
  if (pid > 0) WaitForExit(pid);
  // The keeper's pg_ctl must not find the dead postmaster's pid, which
  // another process may have by then.
  std::error_code ec;
  fs::remove(dir_ + "/data/postmaster.pid", ec);
}

bool MariadbServer::Available() {
  return fs::exists("/usr/sbin/mariadbd") &&
         (fs::exists("/usr/bin/mariadb-install-db") || fs::exists("/usr/bin/mysql_install_db"));
}

Result<std::unique_ptr<MariadbServer>> MariadbServer::Start() {
  if (!Available()) {
    return FailedPrecondition(
        "MariaDB server binaries not found (/usr/sbin/mariadbd; run "
        "scripts/install-deps.sh)");
  }
  std::unique_ptr<MariadbServer> s(new MariadbServer());
  s->dir_ = MakeTempDir("osprey-mariadb-");
  if (s->dir_.empty()) return Internal("cannot create a temporary directory");
  // The server writes its pid into `pid`; the destructor removes the
  // directory before the keeper looks, so the keeper signals only a
  // server that a killed test left running.
  s->keeper_ = ServerKeeper::Start(
      fmt::format("kill -9 \"$(cat {0}/pid 2>/dev/null)\" 2>/dev/null; rm -rf {0}", s->dir_));
  const std::string data = s->dir_ + "/data";
  // A temporary directory of the server's own: bootstraps running side by
  // side (ctest -j) shared /tmp's "#sql-temptable-*" files, and one failed
  // with "Could not remove temporary table ... Unknown table
  // 'mysql.tmp_proxies_priv'".
  const std::string tmp = s->dir_ + "/tmp";
  std::error_code ec;
  fs::create_directories(tmp, ec);
  if (ec) return Internal(fmt::format("cannot create {}: {}", tmp, ec.message()));
  const std::string user = IsRoot() ? "--user=mysql" : "";
  if (IsRoot()) ChownTree(s->dir_, "mysql");
  std::string cmd = fmt::format(
      "/usr/bin/mariadb-install-db --no-defaults {} --datadir={} --tmpdir={} "
      "--auth-root-authentication-method=normal --skip-test-db > {}/install.log 2>&1",
      user, data, tmp, s->dir_);
  if (Run(cmd) != 0) {
    return Internal(fmt::format("mariadb-install-db failed: {}", Tail(s->dir_ + "/install.log")));
  }
  if (IsRoot()) ChownTree(s->dir_, "mysql");
  const std::string socket = s->dir_ + "/mysqld.sock";
  for (int attempt = 0; attempt < 3 && s->pid_ < 0; ++attempt) {
    s->port_ = FreePort();
    const std::string log = s->dir_ + "/server.log";
    std::vector<std::string> args = {"/usr/sbin/mariadbd",
                                     "--no-defaults",
                                     "--datadir=" + data,
                                     "--tmpdir=" + tmp,
                                     "--socket=" + socket,
                                     fmt::format("--port={}", s->port_),
                                     "--bind-address=127.0.0.1",
                                     "--pid-file=" + s->dir_ + "/pid",
                                     "--log-error=" + log,
                                     "--skip-log-bin",
                                     "--innodb-flush-log-at-trx-commit=0",
                                     "--innodb-buffer-pool-size=64M"};
    if (IsRoot()) args.push_back("--user=mysql");
    pid_t pid = fork();
    if (pid == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    // Wait until the root account answers on the socket or the server
    // exits: no deadline, however slow the machine (the test's timeout
    // bounds it).
    while (true) {
      MYSQL* m = mysql_init(nullptr);
      if (mysql_real_connect(m, nullptr, "root", "", nullptr, 0, socket.c_str(), 0) != nullptr) {
        const std::string setup[] = {
            fmt::format("CREATE USER '{}'@'%' IDENTIFIED BY '{}'", kTestUser, kTestPassword),
            fmt::format("CREATE USER '{}'@'localhost' IDENTIFIED BY '{}'", kTestUser, kTestPassword),
            "CREATE DATABASE osprey", fmt::format("GRANT ALL ON *.* TO '{}'@'%'", kTestUser),
            fmt::format("GRANT ALL ON *.* TO '{}'@'localhost'", kTestUser)};
        for (const auto& q : setup) {
          if (mysql_query(m, q.c_str()) != 0) {
            std::string e = mysql_error(m);
            mysql_close(m);
            return Internal(fmt::format("MariaDB setup failed: {}", e));
          }
        }
        mysql_close(m);
        s->pid_ = pid;
        break;
      }
      mysql_close(m);
      int status = 0;
      if (waitpid(pid, &status, WNOHANG) == pid) break;  // exited: port taken?
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (s->pid_ < 0) {
      ::kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
  }
  if (s->pid_ < 0) {
    return Internal(fmt::format("MariaDB did not start: {}", Tail(s->dir_ + "/server.log")));
  }
  return s;
}

MariadbServer::~MariadbServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  std::error_code ec;
  if (!dir_.empty()) fs::remove_all(dir_, ec);
  keeper_.Finish();
}

std::string MariadbServer::Url() const {
  return fmt::format("mysql://{}:{}@127.0.0.1:{}/osprey", kTestUser, kTestPassword, port_);
}

Status MariadbServer::Execute(const std::string& sql) const {
  MYSQL* m = mysql_init(nullptr);
  if (mysql_real_connect(m, "127.0.0.1", kTestUser, kTestPassword, "osprey", static_cast<unsigned>(port_),
                         nullptr, 0) == nullptr) {
    std::string e = mysql_error(m);
    mysql_close(m);
    return Unavailable(e);
  }
  Status st;
  if (mysql_query(m, sql.c_str()) != 0) st = InvalidArgument(mysql_error(m));
  mysql_close(m);
  return st;
}

void MariadbServer::Kill() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
  pid_ = -1;
}

}  // namespace osprey::testing
