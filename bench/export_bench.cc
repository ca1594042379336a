// export_bench: how fast `osprey anomalies export --csv` streams from the
// SQLite state store. Builds a state in a temporary file through the Store API
// (one detector, region x channel leaves plus their roll-ups, hourly points
// with value, expected, band and severity; default 2.4 M scored points), then
// exports every scored point to /dev/null and prints rows/s (target >= 1 M)
// and this process's peak RSS (flat: the export streams). Not a timed test:
// it prints figures.
//
//   export_bench [--series N] [--hours N]
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <fmt/format.h>
#include <unistd.h>

#include "bench/measure.h"
#include "osprey/store/csv_export.h"
#include "osprey/store/store.h"

using namespace osprey;

namespace {

using bench::CpuSeconds;
using bench::PeakRssKb;
using bench::Seconds;

int Run(int series_count, int hours) {
  const std::string path =
      (std::filesystem::temp_directory_path() / fmt::format("osprey_export_bench_{}.db", ::getpid()))
          .string();
  auto cleanup = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix);
  };
  cleanup();
  auto opened = store::OpenSqliteStore(path);
  if (!opened.ok()) {
    std::fprintf(stderr, "export_bench: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  store::Store& st = **opened;
  const std::string config =
      "name: bench\nfrequency: PT1H\nsource: {path: x.db}\n"
      "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
      "dimensions: [region, channel]\nmeasures: [{name: orders}]\n";
  const int64_t d = *st.UpsertDetector("bench", config);
  std::vector<int64_t> ids;
  for (int i = 0; i < series_count; ++i) {
    // One in eight series is a roll-up over channel.
    const std::string dims = i % 8 == 0 ? fmt::format(R"({{"region":"r{}"}})", i)
                                        : fmt::format(R"({{"channel":"c{}","region":"r{}"}})", i % 5, i);
    auto id = st.EnsureSeries(d, "orders", dims, "orders" + dims);
    if (!id.ok()) return 1;
    ids.push_back(*id);
  }
  const int64_t t0 = 1577836800;  // 2020-01-01T00:00:00Z
  const int kChunk = 168;
  auto load_start = std::chrono::steady_clock::now();
  int64_t points = 0;
  for (int h0 = 0; h0 < hours; h0 += kChunk) {
    store::ChunkResult c;
    c.detector_id = d;
    c.first_ts = t0 + int64_t{h0} * 3600;
    const int h1 = std::min(hours, h0 + kChunk);
    c.next_watermark = t0 + int64_t{h1} * 3600;
    for (size_t s = 0; s < ids.size(); ++s) {
      for (int h = h0; h < h1; ++h) {
        const double expected = 100 + 40 * std::sin(h * 0.2618) + static_cast<double>(s);
        const double value = expected * (1 + 0.05 * std::sin(h * 7.1 + static_cast<double>(s)));
        c.points.push_back({ids[s], t0 + int64_t{h} * 3600, value, expected, expected * 0.9, expected * 1.1,
                            std::fmod(h * 13.37 + static_cast<double>(s), 100.0)});
      }
    }
    points += static_cast<int64_t>(c.points.size());
    if (Status s = st.CommitChunk(c); !s.ok()) {
      std::fprintf(stderr, "export_bench: %s\n", s.ToString().c_str());
      cleanup();
      return 1;
    }
  }
  std::printf("state: %lld scored points in %d series, loaded in %.1f s\n", static_cast<long long>(points),
              series_count, Seconds(load_start));
  // The store's stream alone (no CSV), then the export; wall and CPU time
  // (the CPU figure is what a loaded machine cannot inflate).
  store::ScoredPointQuery q;
  q.detector_id = d;
  int64_t streamed = 0;
  auto start = std::chrono::steady_clock::now();
  double cpu0 = CpuSeconds();
  Status streaming = st.ForEachScoredPoint(q, [&](const store::PointRecord&) {
    ++streamed;
    return Status::Ok();
  });
  const double stream_secs = Seconds(start), stream_cpu = CpuSeconds() - cpu0;
  if (!streaming.ok()) {
    std::fprintf(stderr, "export_bench: %s\n", streaming.ToString().c_str());
    return 1;
  }
  std::printf("store stream alone: %lld rows in %.2f s wall (%.2f M rows/s), %.2f s CPU (%.2f M rows/s)\n",
              static_cast<long long>(streamed), stream_secs,
              static_cast<double>(streamed) / stream_secs / 1e6, stream_cpu,
              static_cast<double>(streamed) / stream_cpu / 1e6);
  std::FILE* out = std::fopen("/dev/null", "wb");
  const long rss_before = PeakRssKb();
  start = std::chrono::steady_clock::now();
  cpu0 = CpuSeconds();
  auto rows = store::ExportScoredPointsCsv(st, {}, out);
  const double secs = Seconds(start), cpu = CpuSeconds() - cpu0;
  std::fclose(out);
  opened->reset();
  cleanup();
  if (!rows.ok()) {
    std::fprintf(stderr, "export_bench: %s\n", rows.status().ToString().c_str());
    return 1;
  }
  std::printf(
      "export to /dev/null: %lld rows in %.2f s wall = %.2f M rows/s; %.2f s CPU = %.2f M rows/s "
      "(target >= 1 M rows/s)\n",
      static_cast<long long>(*rows), secs, static_cast<double>(*rows) / secs / 1e6, cpu,
      static_cast<double>(*rows) / cpu / 1e6);
  std::printf("peak RSS: %ld MB before the export, %ld MB after\n", rss_before / 1024, PeakRssKb() / 1024);
  return *rows == points ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  int series = 240, hours = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--series") == 0) series = std::atoi(argv[i + 1]);
    else if (std::strcmp(argv[i], "--hours") == 0) hours = std::atoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: export_bench [--series N] [--hours N]\n");
      return 2;
    }
  }
  return Run(series, hours);
}
