// Response bodies that are costly to compute and asked for often (GET
// /api/v1/status counts the store's tables and reads each detector's recent
// health; a list page reads and writes some 50 KB), kept for a short time.
// Internal to src/osprey/api/; includes JSON.
//
// A kept body is reused while it is younger than `ttl` on the server's
// injected clock, its key (the registry's detector set) is the one it was
// computed for, and the store's files are as they were (StoreStamp: a SQLite
// store's database and WAL files change on every commit, by any process). A
// write request through this server drops it at once (Invalidate). So with
// SQLite every change shows on the next request; with PostgreSQL, which has
// no files here, what the scheduler or another process writes shows within
// `ttl`. A body computed while a write ran is not kept. Thread-safe; one
// computation at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "osprey/base/clock.h"
#include "osprey/base/status.h"

namespace osprey::api::internal {

// A read-only descriptor of a SQLite WAL index (the -shm file), opened once
// and never closed: closing any descriptor of a file drops every POSIX lock
// the process holds on that file, SQLite's own on the WAL index included.
// Another process opening the store then took it for unused, reinitialised
// the index under this process's mapping, and `osprey serve` died of SIGBUS
// in SQLite (bench/api_load.sh, its backtests beside the server: one run in
// two; `StoreStampTest.KeepsSqlitesLocksOnTheWalIndex`). A file replaced
// since (a new inode at the path) gets a descriptor of its own; the old one
// stays open, for the same reason. -1 when the file cannot be opened.
inline int WalIndexDescriptor(const std::string& shm) {
  static std::mutex mu;
  static auto* open_files = new std::map<std::string, int>();  // never freed: never closed
  struct stat st {};
  if (::stat(shm.c_str(), &st) != 0) return -1;
  std::lock_guard<std::mutex> lock(mu);
  const auto it = open_files->find(shm);
  if (it != open_files->end()) {
    struct stat open_st {};
    if (::fstat(it->second, &open_st) == 0 && open_st.st_ino == st.st_ino && open_st.st_dev == st.st_dev) {
      return it->second;
    }
  }
  const int fd = ::open(shm.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) (*open_files)[shm] = fd;
  return fd;
}

// What a commit to the store at `path` changes: the size and modification
// time of a SQLite store's database and WAL files (two stat calls), and the
// header of its WAL index (the -shm file), which every commit rewrites: a
// commit can leave both files' size and time as they were (WAL frames
// rewritten in place after a checkpoint, within the file system's clock
// tick), and a body read before it must not pass for one read after it.
// Empty for a PostgreSQL URL or DSN, or a path that does not exist.
inline std::string StoreStamp(const std::string& path) {
  std::string stamp;
  for (const std::string& file : {path, path + "-wal"}) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0) continue;
    stamp += std::to_string(st.st_size) + ':' + std::to_string(st.st_mtim.tv_sec) + '.' +
             std::to_string(st.st_mtim.tv_nsec) + ';';
  }
  // The WAL-index header: 48 bytes, change counter and last frame included
  // (https://sqlite.org/walformat.html).
  const int fd = WalIndexDescriptor(path + "-shm");
  if (fd >= 0) {
    char header[48];
    const ssize_t n = ::pread(fd, header, sizeof header, 0);
    if (n > 0) stamp.append(header, static_cast<size_t>(n));
  }
  return stamp;
}

class ReplyCache {
 public:
  ReplyCache(const Clock& clock, std::chrono::seconds ttl) : clock_(clock), ttl_(ttl) {}

  // The kept body for `key` if fresh, else compute()'s (an error is returned,
  // not kept).
  Result<nlohmann::json> Get(const std::shared_ptr<const void>& key, const std::string& stamp,
                             const std::function<Result<nlohmann::json>()>& compute) {
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Fresh(key, stamp)) return *value_;
    }
    std::lock_guard<std::mutex> one(compute_mu_);
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (Fresh(key, stamp)) return *value_;  // computed while this request waited
      generation = generation_;
    }
    const Instant at = clock_.Now();
    OSPREY_ASSIGN_OR_RETURN(nlohmann::json value, compute());
    std::lock_guard<std::mutex> lock(mu_);
    if (generation == generation_) {
      value_ = value;
      key_ = key;
      stamp_ = stamp;
      at_ = at;
    }
    return value;
  }

  // Drops the kept body, and any being computed now.
  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    value_.reset();
  }

 private:
  bool Fresh(const std::shared_ptr<const void>& key, const std::string& stamp) const {  // mu_ held
    return value_ && key_ == key && stamp_ == stamp && clock_.Now() - at_ < ttl_;
  }

  const Clock& clock_;
  const std::chrono::seconds ttl_;
  std::mutex compute_mu_;  // held while computing
  std::mutex mu_;
  std::optional<nlohmann::json> value_;  // guarded by mu_
  std::shared_ptr<const void> key_;      // guarded by mu_; kept alive so its address is not reused
  std::string stamp_;                    // guarded by mu_
  Instant at_;                           // guarded by mu_
  uint64_t generation_ = 0;              // guarded by mu_
};

// List pages (GET /api/v1/anomaly-groups, which dashboards and the UI poll)
// by request target (path and query string): a page is reused while the
// store's stamp is the one it was read under, for at most `ttl`, and a write
// request through this server drops them all (Invalidate). Without a stamp
// (a PostgreSQL store, whose changes by other processes this server cannot
// see) nothing is kept. At most kEntries pages; the oldest goes first.
// Thread-safe; pages are computed outside the lock (two requests for one
// page may both compute it).
class PageCache {
 public:
  static constexpr size_t kEntries = 64;

  PageCache(const Clock& clock, std::chrono::seconds ttl) : clock_(clock), ttl_(ttl) {}

  // The kept page for `key` read under `stamp` if fresh, else compute()'s
  // (kept unless it failed or a write went through meanwhile).
  Result<std::string> Get(const std::string& key, const std::string& stamp,
                          const std::function<Result<std::string>()>& compute) {
    if (stamp.empty()) return compute();
    uint64_t generation = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = pages_.find(key);
      if (it != pages_.end() && it->second.stamp == stamp && clock_.Now() - it->second.at < ttl_) {
        return it->second.body;
      }
      generation = generation_;
    }
    const Instant at = clock_.Now();
    OSPREY_ASSIGN_OR_RETURN(std::string body, compute());
    std::lock_guard<std::mutex> lock(mu_);
    if (generation != generation_) return body;
    if (pages_.size() >= kEntries && pages_.find(key) == pages_.end()) {
      auto oldest = pages_.begin();
      for (auto it = pages_.begin(); it != pages_.end(); ++it) {
        if (it->second.at < oldest->second.at) oldest = it;
      }
      pages_.erase(oldest);
    }
    pages_[key] = Page{body, stamp, at};
    return body;
  }

  // Drops every kept page, and any being computed now.
  void Invalidate() {
    std::lock_guard<std::mutex> lock(mu_);
    ++generation_;
    pages_.clear();
  }

 private:
  struct Page {
    std::string body;
    std::string stamp;
    Instant at;
  };
  const Clock& clock_;
  const std::chrono::seconds ttl_;
  std::mutex mu_;
  std::map<std::string, Page> pages_;  // guarded by mu_
  uint64_t generation_ = 0;            // guarded by mu_
};

}  // namespace osprey::api::internal
