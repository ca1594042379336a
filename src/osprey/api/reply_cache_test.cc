#include "osprey/api/reply_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>

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

// A commit that leaves the database and WAL files' sizes and times as they
// were (WAL frames rewritten in place after a checkpoint, within one tick of
// the file system's clock) still changes the stamp: a status body read
// before it must not be served after it. Before the WAL-index header was in
// the stamp, such a commit went unseen and the API answered with the
// detector's state before its backfill ended until the next commit.
TEST(StoreStampTest, ChangesWithEveryCommitEvenWhenFileSizesAndTimesDoNot) {
  char tmpl[] = "/tmp/osprey_stamp_XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl, path = dir + "/state.db";
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  Exec(db, "pragma journal_mode=wal; create table t(x integer); insert into t values (0);");
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
  sqlite3_close(db);
  fs::remove_all(dir);
}

TEST(StoreStampTest, EmptyForAStoreWithoutFiles) {
  EXPECT_EQ(StoreStamp("postgres://osprey@db.internal/osprey"), "");
  EXPECT_EQ(StoreStamp("/nonexistent/osprey/state.db"), "");
}

}  // namespace
}  // namespace osprey::api::internal
