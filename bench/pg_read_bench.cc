// pg_read_bench: how fast osprey reads from PostgreSQL, against the server's
// own export. Loads N rows (default 10 million) of the e-commerce tables
// (generated server-side with generate_series), then reads the example
// detector's join over the whole range twice, in the same run against the
// same server:
//   1. osprey: PostgresSource (single-row mode) + ingest::Aggregator;
//   2. psql -c "\copy (same query) to /dev/null".
// Prints rows/s of each, the ratio (target >= 0.8) and this process's peak
// RSS (target flat and < 100 MB). Then the same year with push-down
// aggregation (connectors/push_down.h): rows transferred and time against
// the row path, one query for the year and in the pipeline's weekly chunks,
// checking that both give the same aggregates. Not a timed test: it prints
// figures.
//
//   pg_read_bench [--rows N] [--rounds N]   start a throw-away server (as make pg-bench)
//   OSPREY_BENCH_DSN=... pg_read_bench --reuse   use a server loaded before
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include <fmt/format.h>

#include "bench/measure.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/postgres_source.h"
#include "osprey/connectors/push_down.h"
#include "osprey/ingest/aggregate.h"
#include "osprey/testing/db_servers.h"

using namespace osprey;

namespace {

using bench::PeakRssKb;
using bench::Seconds;

// Counts rows on the way to the aggregator, to report rows/s and RSS.
class Counting : public RowHandler {
 public:
  explicit Counting(RowHandler& next) : next_(next) {}
  Status OnColumns(const std::vector<std::string>& names) override { return next_.OnColumns(names); }
  Status OnRow(const std::vector<Cell>& cells) override {
    if ((++rows & 0xFFFFF) == 0) max_rss_mid = std::max(max_rss_mid, PeakRssKb());
    return next_.OnRow(cells);
  }
  int64_t rows = 0;
  long max_rss_mid = 0;

 private:
  RowHandler& next_;
};

int Fail(const Status& s) {
  std::fprintf(stderr, "pg_read_bench: %s\n", s.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  int64_t rows = 10'000'000;
  bool reuse = false;
  int rounds = 3;  // the machine may be shared: each reader's best of `rounds`
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) rows = std::atoll(argv[++i]);
    if (std::strcmp(argv[i], "--reuse") == 0) reuse = true;
    if (std::strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) rounds = std::max(1, std::atoi(argv[++i]));
  }
  std::unique_ptr<testing::PostgresServer> server;
  std::string dsn;
  std::string psql = "psql";
  if (reuse && std::getenv("OSPREY_BENCH_DSN")) {
    dsn = std::getenv("OSPREY_BENCH_DSN");
  } else {
    auto s = testing::PostgresServer::Start();
    if (!s.ok()) return Fail(s.status());
    server = std::move(s).value();
    dsn = server->Dsn();
    psql = server->bin_dir() + "/psql";
    std::printf("throw-away PostgreSQL on 127.0.0.1:%d; loading %lld rows...\n", server->port(),
                static_cast<long long>(rows));
    std::fflush(stdout);
    auto t0 = std::chrono::steady_clock::now();
    // One year of hourly data; rows spread evenly over the 21 series.
    const int64_t per_hour = (rows + 8759) / 8760;
    Status st = server->Execute(fmt::format(R"sql(
      create table platform(id integer primary key, name varchar(30));
      create table marketplace(id integer primary key, name varchar(30));
      insert into platform values (0, 'pc_web'), (1, 'mobile_web'), (2, 'mobile_app');
      insert into marketplace values (0, 'us'), (1, 'uk'), (2, 'de'), (3, 'fr'), (4, 'es'),
        (5, 'it'), (6, 'jp');
      create unlogged table ecommerce(id bigint, ts timestamp not null, platform int not null,
        marketplace int not null, views int, revenue double precision);
      insert into ecommerce
        select g::bigint, timestamp '2024-01-01' + (g / {}) * interval '1 hour', g % 3, g % 7,
               (g::bigint * 7919) % 1000, ((g::bigint * 104729) % 100000) / 100.0
        from generate_series(0::bigint, {}::bigint - 1) g;
      create index on ecommerce(ts);)sql",
                                            per_hour, rows));
    if (st.ok()) st = server->Execute("vacuum analyze ecommerce");
    if (!st.ok()) return Fail(st);
    std::printf("loaded in %.1f s\n", Seconds(t0));
  }

  auto loaded = config::LoadDetectorFile(std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce.yaml");
  if (!loaded.ok()) return Fail(loaded.status());
  config::Detector d = *loaded;
  const Instant from = *ParseInstant("2024-01-01", TimeZone::Utc());
  const Instant to = *ParseInstant("2025-01-01", TimeZone::Utc());
  const TimestampFormat format = *TimestampFormat::Parse(d.timestamp_format);

  // 1. osprey: connector + aggregation over the whole year, one query.
  const long rss_before = PeakRssKb();
  auto src =
      connectors::PostgresSource::Open({dsn, d.query, format, d.timezone, d.source.query_timeout_seconds});
  if (!src.ok()) return Fail(src.status());
  IntervalGrid grid = *IntervalGrid::Create(d.frequency, d.timezone);
  ingest::SeriesCatalog catalog(d);
  // The machine may be shared: alternate the two readers for `rounds`
  // rounds and keep each one's best time.
  double osprey_s = 1e300, connector_s = 1e300, psql_s = 1e300;
  int64_t rows_read = 0;
  size_t intervals = 0;
  long mid_rss = 0;
  for (int round = 0; round < rounds; ++round) {
    auto t1 = std::chrono::steady_clock::now();
    ingest::Aggregator agg(d, grid, catalog, from, to);
    Counting counting(agg);
    Status q = (*src)->Query({from, to}, counting);
    if (!q.ok()) return Fail(q);
    osprey_s = std::min(osprey_s, Seconds(t1));
    rows_read = counting.rows;
    intervals = agg.intervals().size();
    mid_rss = std::max(mid_rss, counting.max_rss_mid);

    // 1b. the connector alone (rows dropped), to split the cost.
    struct Drop : RowHandler {
      int64_t n = 0;
      Status OnColumns(const std::vector<std::string>&) override { return Status::Ok(); }
      Status OnRow(const std::vector<Cell>&) override {
        ++n;
        return Status::Ok();
      }
    } drop;
    auto t1b = std::chrono::steady_clock::now();
    Status qb = (*src)->Query({from, to}, drop);
    if (!qb.ok()) return Fail(qb);
    connector_s = std::min(connector_s, Seconds(t1b));

    // 2. psql's \copy of the same query, bounds written in.
    std::string sql = d.query;
    auto replace = [&](const std::string& what, const std::string& with) {
      for (size_t p = sql.find(what); p != std::string::npos; p = sql.find(what, p)) {
        sql.replace(p, what.size(), with);
      }
    };
    replace("{{interval_start}}", "'2024-01-01 00:00:00'");
    replace("{{interval_end}}", "'2025-01-01 00:00:00'");
    for (char& c : sql) {
      if (c == '\n') c = ' ';
    }
    const std::string cmd = fmt::format("{} \"{}\" -X -q -c \"\\copy ({}) to /dev/null\"", psql, dsn, sql);
    auto t2 = std::chrono::steady_clock::now();
    if (std::system(cmd.c_str()) != 0) return Fail(Internal("psql failed"));
    psql_s = std::min(psql_s, Seconds(t2));
  }
  const double osprey_rate = static_cast<double>(rows_read) / osprey_s;
  const double psql_rate = static_cast<double>(rows_read) / psql_s;

  std::printf("rows read:           %lld (%zu intervals aggregated); best of %d rounds\n",
              static_cast<long long>(rows_read), intervals, rounds);
  std::printf("osprey (libpq single-row + Aggregator): %8.2f s  %10.0f rows/s\n", osprey_s, osprey_rate);
  std::printf("osprey connector only (rows dropped):   %8.2f s  %10.0f rows/s\n", connector_s,
              static_cast<double>(rows_read) / connector_s);
  std::printf("psql \\copy (query) to /dev/null:        %8.2f s  %10.0f rows/s\n", psql_s, psql_rate);
  std::printf("ratio osprey/psql:   %.2f (target >= 0.80)\n", osprey_rate / psql_rate);
  std::printf(
      "peak RSS:            %.1f MB (before the read %.1f MB, mid-read %.1f MB; target "
      "< 100 MB)\n",
      static_cast<double>(PeakRssKb()) / 1024.0, static_cast<double>(rss_before) / 1024.0,
      static_cast<double>(mid_rss) / 1024.0);

  // 3. Push-down: the GROUP BY runs in PostgreSQL.
  config::Detector pd = d;
  pd.source.type = config::SourceType::kPostgres;
  auto open = [&](const config::Detector& det) -> Result<std::unique_ptr<connectors::Source>> {
    OSPREY_ASSIGN_OR_RETURN(auto pg, connectors::PostgresSource::Open({dsn, det.query, format, det.timezone,
                                                                       det.source.query_timeout_seconds}));
    return std::unique_ptr<connectors::Source>(std::move(pg));
  };
  auto pushed_src = connectors::OpenPushDownSource(pd, open);
  if (!pushed_src.ok()) return Fail(pushed_src.status());
  pd.source.push_down = false;
  auto raw_src = connectors::OpenPushDownSource(pd, open);
  if (!raw_src.ok()) return Fail(raw_src.status());
  pd.source.push_down = true;
  std::printf("\npush-down aggregation (%s):\n", connectors::PlanPushDown(pd).enabled ? "on" : "OFF");
  // Reads [from, to) in chunks of `chunk` intervals; returns rows delivered
  // and a checksum of every leaf aggregate.
  struct Pass {
    double seconds = 1e300;
    int64_t delivered = 0, rows_read = 0;
    double checksum = 0;
  };
  auto pass = [&](connectors::Source& source, int64_t chunk, Pass* best) -> Status {
    auto t = std::chrono::steady_clock::now();
    Pass p;
    ingest::SeriesCatalog cat(d);
    for (Instant a = from; a < to;) {
      Instant b = a;
      for (int64_t i = 0; i < chunk && b < to; ++i) b = grid.Next(b);
      ingest::Aggregator agg(d, grid, cat, a, b);
      Counting counting(agg);
      OSPREY_RETURN_IF_ERROR(source.Query({a, b}, counting));
      p.delivered += counting.rows;
      for (auto& [start, leaves] : agg.intervals()) {
        p.rows_read += leaves.quality.rows_read;
        for (uint32_t leaf : leaves.leaves.SortedOrder()) {  // the same order on both paths
          const ingest::Aggregate* aggs = leaves.leaves.Aggregates(leaf);
          for (size_t m = 0; m < d.measures.size(); ++m) {
            const ingest::Aggregate& x = aggs[m];
            p.checksum += x.sum + x.count + (x.count > 0 ? x.min + x.max : 0);
          }
        }
      }
      a = b;
    }
    p.seconds = Seconds(t);
    if (p.seconds < best->seconds) *best = p;
    return Status::Ok();
  };
  for (int64_t chunk : {int64_t{8784}, d.backfill_chunk}) {
    Pass raw, pushed;
    for (int round = 0; round < rounds; ++round) {
      if (Status s = pass(**raw_src, chunk, &raw); !s.ok()) return Fail(s);
      if (Status s = pass(**pushed_src, chunk, &pushed); !s.ok()) return Fail(s);
    }
    std::printf(
        "  chunks of %lld intervals: row path %8.2f s, %lld rows transferred; push-down %8.2f s, "
        "%lld rows transferred (%.0fx fewer; push-down time / row path time %.2f); same rows read: %s, "
        "aggregate checksum "
        "relative difference %.1e (float sums in another order)\n",
        static_cast<long long>(chunk), raw.seconds, static_cast<long long>(raw.delivered), pushed.seconds,
        static_cast<long long>(pushed.delivered),
        static_cast<double>(raw.delivered) / static_cast<double>(std::max<int64_t>(1, pushed.delivered)),
        pushed.seconds / raw.seconds, raw.rows_read == pushed.rows_read ? "yes" : "NO",
        std::abs(raw.checksum - pushed.checksum) / std::max(1.0, std::abs(raw.checksum)));
  }
  return 0;
}
