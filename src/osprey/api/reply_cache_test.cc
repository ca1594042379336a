#include "osprey/api/reply_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "osprey/testing/clock.h"

namespace osprey::api::internal {
namespace {

namespace fs = std::filesystem;

void Exec(sqlite3* db, const char* sql) {
  char* error = nullptr;
  ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &error), SQLITE_OK)
      << (error ? error : "") << " in " << sql;
}

// The size and modification time of a file, as StoreStamp reads them.
struct FileTime {
  off_t size = 0;
  timespec mtime{};
};
FileTime Stat(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return {st.st_size, st.st_mtim};
}

// A SQLite store in WAL mode in a temporary directory, with one table t(x)
// holding one row, open on `db`.
class StoreStampTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/osprey_stamp_XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/state.db";
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db_), SQLITE_OK);
    Exec(db_, "pragma journal_mode=wal; create table t(x integer); insert into t values (0);");
  }
  void TearDown() override {
    sqlite3_close(db_);
    fs::remove_all(dir_);
  }
  std::string dir_, path_;
  sqlite3* db_ = nullptr;
};

// A commit that leaves the database and WAL files' sizes and times as they
// were (WAL frames rewritten in place after a checkpoint, within one tick of
// the file system's clock) still changes the stamp: a status body read
// before it must not be served after it. Before the WAL-index header was in
// the stamp, such a commit went unseen and the API answered with the
// detector's state before its backfill ended until the next commit.
TEST_F(StoreStampTest, ChangesWithEveryCommitEvenWhenFileSizesAndTimesDoNot) {
  const std::string& path = path_;
  sqlite3* db = db_;
  Exec(db, "update t set x = 1");
  // The next writer starts the WAL again from its beginning.
  Exec(db, "pragma wal_checkpoint(RESTART)");
  const FileTime db_before = Stat(path), wal_before = Stat(path + "-wal");
  const std::string before = StoreStamp(path);
  Exec(db, "update t set x = 2");
  // As if the commit fell within the same clock tick: the WAL's time as it was.
  const timespec times[2] = {wal_before.mtime, wal_before.mtime};
  ASSERT_EQ(::utimensat(AT_FDCWD, (path + "-wal").c_str(), times, 0), 0);
  const FileTime db_after = Stat(path), wal_after = Stat(path + "-wal");
  // The files' sizes and times say nothing of the commit...
  ASSERT_EQ(db_after.size, db_before.size);
  ASSERT_EQ(db_after.mtime.tv_sec, db_before.mtime.tv_sec);
  ASSERT_EQ(db_after.mtime.tv_nsec, db_before.mtime.tv_nsec);
  ASSERT_EQ(wal_after.size, wal_before.size);
  ASSERT_EQ(wal_after.mtime.tv_nsec, wal_before.mtime.tv_nsec);
  // ...the stamp does.
  EXPECT_NE(StoreStamp(path), before);
}

// Whether another process holds a lock on SQLite's dead-man-switch byte of
// the WAL index `shm` (offset 128: every connection with the index mapped
// holds it shared), asked from a child process, as another process sees it.
bool WalIndexLockedByThisProcess(const std::string& shm) {
  const pid_t child = ::fork();
  if (child == 0) {
    const int fd = ::open(shm.c_str(), O_RDWR);
    struct flock fl {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 128;
    fl.l_len = 1;
    const bool locked = fd >= 0 && ::fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    ::_exit(locked ? 0 : 1);
  }
  int status = 0;
  EXPECT_EQ(::waitpid(child, &status, 0), child);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// Reading the stamp keeps this process's SQLite locks on the WAL index: it
// once opened the -shm file and closed it, which dropped them all, and a
// backtest opening the store from another process reinitialised the index
// under the server's mapping (SIGBUS in `osprey serve`).
TEST_F(StoreStampTest, KeepsSqlitesLocksOnTheWalIndex) {
  const std::string& path = path_;
  ASSERT_TRUE(WalIndexLockedByThisProcess(path + "-shm"));
  const std::string stamp = StoreStamp(path);
  EXPECT_FALSE(stamp.empty());
  EXPECT_TRUE(WalIndexLockedByThisProcess(path + "-shm"));
  Exec(db_, "insert into t values (1)");
  EXPECT_NE(StoreStamp(path), stamp);
  EXPECT_TRUE(WalIndexLockedByThisProcess(path + "-shm"));
}

TEST_F(StoreStampTest, EmptyForAStoreWithoutFiles) {
  EXPECT_EQ(StoreStamp("postgres://osprey@db.internal/osprey"), "");
  EXPECT_EQ(StoreStamp("/nonexistent/osprey/state.db"), "");
}

// A page cache that counts how often each page is computed.
class PageCacheTest : public ::testing::Test {
 protected:
  Result<std::string> Get(const std::string& key, const std::string& stamp) {
    return cache_.Get(key, stamp, [&]() -> Result<std::string> {
      if (fail_) return Unavailable("store busy");
      ++computed_[key];
      return key + "@" + stamp + "#" + std::to_string(computed_[key]);
    });
  }

  testing::FakeClock clock_{FromUnixSeconds(1'700'000'000)};
  PageCache cache_{clock_, std::chrono::seconds(3600)};
  std::map<std::string, int> computed_;
  bool fail_ = false;
};

TEST_F(PageCacheTest, KeptWhileTheStampAndTheTimeAllow) {
  EXPECT_EQ(*Get("a", "s1"), "a@s1#1");
  EXPECT_EQ(*Get("a", "s1"), "a@s1#1");
  EXPECT_EQ(*Get("b", "s1"), "b@s1#1");
  // A commit changed the store: read again, and kept under the new stamp.
  EXPECT_EQ(*Get("a", "s2"), "a@s2#2");
  EXPECT_EQ(*Get("a", "s2"), "a@s2#2");
  clock_.Advance(std::chrono::seconds(3599));
  EXPECT_EQ(*Get("a", "s2"), "a@s2#2");
  clock_.Advance(std::chrono::seconds(1));
  EXPECT_EQ(*Get("a", "s2"), "a@s2#3");
}

TEST_F(PageCacheTest, NothingKeptWithoutAStampOrAfterAnError) {
  // No stamp (a PostgreSQL store): every request reads the store.
  EXPECT_EQ(*Get("a", ""), "a@#1");
  EXPECT_EQ(*Get("a", ""), "a@#2");
  fail_ = true;
  EXPECT_FALSE(Get("a", "s1").ok());
  fail_ = false;
  EXPECT_EQ(*Get("a", "s1"), "a@s1#3");
}

TEST_F(PageCacheTest, AWriteDropsEveryPageAndAnyBeingComputed) {
  EXPECT_EQ(*Get("a", "s1"), "a@s1#1");
  EXPECT_EQ(*Get("b", "s1"), "b@s1#1");
  cache_.Invalidate();
  EXPECT_EQ(*Get("a", "s1"), "a@s1#2");
  EXPECT_EQ(*Get("b", "s1"), "b@s1#2");
  // A write that goes through while a page is computed: the page is
  // answered, not kept.
  auto during = cache_.Get("a", "s3", [&]() -> Result<std::string> {
    cache_.Invalidate();
    return std::string("read during a write");
  });
  EXPECT_EQ(*during, "read during a write");
  EXPECT_EQ(*Get("a", "s3"), "a@s3#3");
}

TEST_F(PageCacheTest, HoldsAtMostItsEntriesDroppingTheOldest) {
  for (size_t i = 0; i <= PageCache::kEntries; ++i) {
    ASSERT_TRUE(Get("page" + std::to_string(i), "s").ok());
    clock_.Advance(std::chrono::seconds(1));
  }
  // The first page went to make room for the last (and the second for the
  // first again); the others are kept.
  EXPECT_EQ(*Get("page0", "s"), "page0@s#2");
  EXPECT_EQ(*Get("page" + std::to_string(PageCache::kEntries), "s"),
            "page" + std::to_string(PageCache::kEntries) + "@s#1");
  EXPECT_EQ(*Get("page2", "s"), "page2@s#1");
}

}  // namespace
}  // namespace osprey::api::internal
