// What the throughput benchmarks in bench/ measure besides their own
// figures: elapsed wall and CPU time, and this process's peak resident
// memory.
#pragma once

#include <sys/resource.h>

#include <chrono>

namespace osprey::bench {

// Seconds elapsed since `since`.
inline double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// CPU time (user + system) this process has used so far, in seconds.
inline double CpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto secs = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return secs(u.ru_utime) + secs(u.ru_stime);
}

// This process's peak resident set size so far, in KiB.
inline long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace osprey::bench
