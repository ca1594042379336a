// The example e-commerce detector run against real database servers — a
// throw-away PostgreSQL and MariaDB (src/osprey/testing/db_servers.h) — and a
// CSV directory, each loaded with the same generated tables: everything the
// run stores (points, anomalies, groups) must equal the SQLite run exactly.
// Also the failure modes: bad credentials, an unreachable server, a server
// killed mid-query, a query timeout; and that a failed chunk commits nothing.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <fmt/format.h>

#include "osprey/app/backtest.h"
#include "osprey/app/pipeline.h"
#include "osprey/connectors/collect_rows.h"
#include "osprey/connectors/source.h"
#include "osprey/store/store.h"
#include "osprey/testing/db_servers.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey {
namespace {
namespace fs = std::filesystem;
using app::DemoData;

using connectors::QueryRange;

constexpr const char* kEnv = "OSPREY_IT_CONNECTION";

std::string Stamp(int64_t ts) {
  static const TimestampFormat f = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  return f.Format(FromUnixSeconds(ts), TimeZone::Utc());
}

// Shared by every test: the data, the SQLite reference run, the servers.
class World {
 public:
  static World& Get() {
    static World w;
    return w;
  }
  testing::TempDir dir{"osprey_it_sources_"};
  DemoData data;
  config::Detector detector;
  std::vector<std::string> reference;
  std::unique_ptr<testing::PostgresServer> pg;
  std::string pg_skip;
  std::unique_ptr<testing::MariadbServer> maria;
  std::string maria_skip;

  // `state`: a SQLite file name in dir, or a PostgreSQL URL (store::OpenStore).
  Result<std::vector<std::string>> Run(const config::Detector& d, const std::string& state) {
    OSPREY_ASSIGN_OR_RETURN(auto store,
                            store::OpenStore(store::IsPostgresState(state) ? state : dir.File(state)));
    OSPREY_RETURN_IF_ERROR(testing::Backtest(d, *store, data.start, data.end).status());
    return Snapshot(*store, d.name);
  }

  static std::vector<std::string> Snapshot(store::Store& store, const std::string& name) {
    std::vector<std::string> out;
    auto groups =
        *store.ListGroups({std::nullopt, std::nullopt, 0, std::nullopt, std::nullopt, 1 << 30, 0, false});
    for (const auto& g : groups) {
      out.push_back(fmt::format("G {} {} {} {} {} {} {} {}", g.measure, g.ts, g.end_ts, g.severity,
                                g.anomaly_count, g.contributions, g.root_causes, g.related));
      for (const auto& a : *store.ListAnomalies(g.id)) {
        out.push_back(fmt::format("A {} {} {} {} {} {} {} {} {}", a.label, a.ts, a.value, a.expected, a.lower,
                                  a.upper, a.severity, a.direction, a.explanation));
      }
    }
    auto detector = *store.GetDetector(name);
    for (const auto& s : *store.ListSeries(detector.id)) {
      for (const auto& p : *store.ListPoints(s.id, 0, 1LL << 40)) {
        out.push_back(fmt::format("P {} {} {} {} {} {} {}", s.label, p.ts, p.value.value_or(-1),
                                  p.expected.value_or(-1), p.lower.value_or(-1), p.upper.value_or(-1),
                                  p.severity.value_or(-1)));
      }
    }
    return out;
  }

 private:
  World() {
    app::DemoOptions o;
    o.days = 42;
    o.clean_days = 21;
    auto w = testing::MakeDemoWarehouse(o, dir.File("warehouse.db"));
    if (!w.ok()) {
      ADD_FAILURE() << w.status().ToString();
      return;
    }
    data = std::move(w->data);
    detector = std::move(w->detector);
    // These tests are about each connector reading the detector's query as
    // written (rows, columns, errors, read-only sessions); push-down's
    // equality with this row path is tests/integration/push_down_test.cc's.
    detector.source.push_down = false;
  }
  ~World() {
    pg.reset();
    maria.reset();
  }

  friend class SourcesIntegrationTest;
  bool pg_tried = false, maria_tried = false, reference_done = false;

 public:
  // Each test is its own process (gtest_discover_tests): start only what it uses.
  const std::vector<std::string>& Reference() {
    if (!reference_done) {
      reference_done = true;
      auto ref = Run(detector, "sqlite-state.db");
      if (!ref.ok()) ADD_FAILURE() << ref.status().ToString();
      if (ref.ok()) reference = *ref;
    }
    return reference;
  }
  testing::PostgresServer* Pg() {
    if (!pg_tried) {
      pg_tried = true;
      StartPostgres();
    }
    return pg.get();
  }
  testing::MariadbServer* Maria() {
    if (!maria_tried) {
      maria_tried = true;
      StartMariadb();
    }
    return maria.get();
  }

 private:
  void StartPostgres() {
    auto s = testing::PostgresServer::Start();
    if (!s.ok()) {
      if (s.status().code() == StatusCode::kFailedPrecondition) {
        pg_skip = s.status().message();
      } else {
        ADD_FAILURE() << s.status().ToString();
        pg_skip = "PostgreSQL did not start";
      }
      return;
    }
    pg = std::move(s).value();
    Status st = pg->Execute(R"sql(
      create table platform(id integer primary key, name varchar(30));
      create table marketplace(id integer primary key, name varchar(30));
      create table ecommerce(id serial primary key, ts timestamp not null,
        platform int not null references platform(id),
        marketplace int not null references marketplace(id),
        views int, revenue double precision);)sql");
    std::string p, m, e;
    for (size_t i = 0; i < data.platforms.size(); ++i) p += fmt::format("{}\t{}\n", i, data.platforms[i]);
    for (size_t i = 0; i < data.marketplaces.size(); ++i) {
      m += fmt::format("{}\t{}\n", i, data.marketplaces[i]);
    }
    for (const auto& r : data.rows) {
      e += fmt::format("{}\t{}\t{}\t{}\t{}\n", Stamp(r.ts), r.platform, r.marketplace, r.views, r.revenue);
    }
    if (st.ok()) st = pg->CopyIn("platform", p);
    if (st.ok()) st = pg->CopyIn("marketplace", m);
    if (st.ok()) st = pg->CopyIn("ecommerce(ts, platform, marketplace, views, revenue)", e);
    if (st.ok()) st = pg->Execute("create index on ecommerce(ts); analyze");
    if (!st.ok()) ADD_FAILURE() << "loading PostgreSQL: " << st.ToString();
  }

  void StartMariadb() {
    auto s = testing::MariadbServer::Start();
    if (!s.ok()) {
      if (s.status().code() == StatusCode::kFailedPrecondition) {
        maria_skip = s.status().message();
      } else {
        ADD_FAILURE() << s.status().ToString();
        maria_skip = "MariaDB did not start";
      }
      return;
    }
    maria = std::move(s).value();
    Status st = maria->Execute("create table platform(id integer primary key, name varchar(30))");
    if (st.ok()) st = maria->Execute("create table marketplace(id integer primary key, name varchar(30))");
    if (st.ok()) {
      st = maria->Execute(
          "create table ecommerce(id integer auto_increment primary key, ts datetime not null, "
          "platform int not null, marketplace int not null, views int, revenue double, "
          "index(ts))");
    }
    std::string p = "insert into platform values ", m = "insert into marketplace values ";
    for (size_t i = 0; i < data.platforms.size(); ++i) {
      p += fmt::format("{}({}, '{}')", i ? "," : "", i, data.platforms[i]);
    }
    for (size_t i = 0; i < data.marketplaces.size(); ++i) {
      m += fmt::format("{}({}, '{}')", i ? "," : "", i, data.marketplaces[i]);
    }
    if (st.ok()) st = maria->Execute(p);
    if (st.ok()) st = maria->Execute(m);
    for (size_t start = 0; st.ok() && start < data.rows.size(); start += 5000) {
      std::string e = "insert into ecommerce(ts, platform, marketplace, views, revenue) values ";
      for (size_t i = start; i < std::min(data.rows.size(), start + 5000); ++i) {
        const auto& r = data.rows[i];
        e += fmt::format("{}('{}',{},{},{},{})", i > start ? "," : "", Stamp(r.ts), r.platform, r.marketplace,
                         r.views, r.revenue);
      }
      st = maria->Execute(e);
    }
    if (!st.ok()) ADD_FAILURE() << "loading MariaDB: " << st.ToString();
  }
};

class SourcesIntegrationTest : public ::testing::Test {
 protected:
  World& w = World::Get();
  void TearDown() override { ::unsetenv(kEnv); }
  config::Detector WithSource(config::SourceType type, const std::string& connection) {
    config::Detector d = w.detector;
    d.source.type = type;
    d.source.path.clear();
    d.source.connection_env = kEnv;
    ::setenv(kEnv, connection.c_str(), 1);
    return d;
  }
  QueryRange FirstDay() { return {w.data.start, w.data.start + std::chrono::hours(24)}; }
};

#define REQUIRE_PG()                      \
  if (!w.Pg()) GTEST_SKIP() << w.pg_skip; \
  static_assert(true)
#define REQUIRE_MARIADB()                       \
  if (!w.Maria()) GTEST_SKIP() << w.maria_skip; \
  static_assert(true)

TEST_F(SourcesIntegrationTest, ReferenceRunFoundAnomalies) {
  ASSERT_FALSE(w.Reference().empty());
  EXPECT_EQ(w.Reference()[0].rfind("G ", 0), 0u) << "the reference run stored no group";
}

TEST_F(SourcesIntegrationTest, PostgresRunEqualsSqliteRun) {
  REQUIRE_PG();
  auto got = w.Run(WithSource(config::SourceType::kPostgres, w.pg->Dsn()), "pg-state.db");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, w.Reference());
}

// The state store on PostgreSQL: the same backtest (SQLite warehouse) stores
// exactly what it stores in SQLite, and running it again replaces, not adds.
TEST_F(SourcesIntegrationTest, PostgresStateStoreEqualsSqliteStateStore) {
  REQUIRE_PG();
  ASSERT_TRUE(w.pg->Execute("create database state_store").ok());
  const std::string url = w.pg->Url("state_store");
  for (int run = 0; run < 2; ++run) {
    auto got = w.Run(w.detector, url);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(*got, w.Reference()) << "run " << run;
  }
}

TEST_F(SourcesIntegrationTest, PostgresJsonSecretFileAndUrl) {
  REQUIRE_PG();
  const fs::path secret = w.dir.path() / "secret.json";
  std::ofstream(secret) << fmt::format(
      R"({{"username":"{}","password":"{}","engine":"postgres","host":"127.0.0.1","port":{},"db":"osprey"}})",
      testing::kTestUser, testing::kTestPassword, w.pg->port());
  config::Detector d = w.detector;
  d.source.type = config::SourceType::kPostgres;
  d.source.connection_env.clear();
  d.source.connection_file = secret.string();
  auto src = connectors::OpenSource(d);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  connectors::CollectedRows rows;
  ASSERT_TRUE((*src)->Query(FirstDay(), rows).ok());
  EXPECT_EQ(rows.rows.size(), 24u * 21u);
  EXPECT_EQ(rows.columns,
            (std::vector<std::string>{"timestamp", "views", "revenue", "platform", "marketplace"}));
  EXPECT_EQ(rows.rows[0][0].size(), 19u) << rows.rows[0][0];
  EXPECT_EQ(rows.rows[0][1].rfind("i:", 0), 0u);
  EXPECT_EQ(rows.rows[0][2].rfind("r:", 0), 0u);
  auto url =
      connectors::OpenSource(WithSource(config::SourceType::kPostgres, w.pg->Url() + "?sslmode=disable"));
  ASSERT_TRUE(url.ok()) << url.status().ToString();
}

TEST_F(SourcesIntegrationTest, PostgresTimestamptzAndTextColumnsWork) {
  REQUIRE_PG();
  config::Detector d = WithSource(config::SourceType::kPostgres, w.pg->Dsn());
  d.query =
      "select (e.ts at time zone 'UTC') as timestamp, e.views, e.revenue::numeric(12,2) as revenue, "
      "'x'::text as platform, 'y' as marketplace from ecommerce e "
      "where (e.ts at time zone 'UTC') >= {{interval_start}} and (e.ts at time zone 'UTC') < "
      "{{interval_end}}";
  auto src = connectors::OpenSource(d);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  connectors::CollectedRows rows;
  Status s = (*src)->Query(FirstDay(), rows);
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_EQ(rows.rows.size(), 24u * 21u);
  EXPECT_EQ(rows.rows[0][0], Stamp(ToUnixSeconds(w.data.start)));
}

TEST_F(SourcesIntegrationTest, PostgresBadCredentialsAreInvalidAndNotEchoed) {
  REQUIRE_PG();
  auto src = connectors::OpenSource(WithSource(
      config::SourceType::kPostgres,
      fmt::format("host=127.0.0.1 port={} user=osprey password=WrongPass99 dbname=osprey", w.pg->port())));
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kInvalidArgument) << src.status().ToString();
  EXPECT_NE(src.status().message().find("ecommerce"), std::string::npos);
  EXPECT_NE(src.status().message().find("password authentication failed"), std::string::npos)
      << src.status().message();
  EXPECT_EQ(src.status().message().find("WrongPass99"), std::string::npos);
}

TEST_F(SourcesIntegrationTest, PostgresUnreachableIsUnavailable) {
  auto src = connectors::OpenSource(
      WithSource(config::SourceType::kPostgres,
                 fmt::format("postgresql://osprey:Pw12345@127.0.0.1:{}/osprey", testing::FreePort())));
  ASSERT_FALSE(src.ok());
  EXPECT_EQ(src.status().code(), StatusCode::kUnavailable) << src.status().ToString();
  EXPECT_EQ(src.status().message().find("Pw12345"), std::string::npos);
}

TEST_F(SourcesIntegrationTest, PostgresQueryErrorsAndTimeouts) {
  REQUIRE_PG();
  config::Detector d = WithSource(config::SourceType::kPostgres, w.pg->Dsn());
  d.query = "select * from nope where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto bad = connectors::OpenSource(d);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("\"nope\" does not exist"), std::string::npos)
      << bad.status().message();

  // Type mismatch: the bound text cannot become an integer.
  d.query = "select 1 as x where 5 >= {{interval_start}}::int and 1 < {{interval_end}}::int";
  auto mismatch = connectors::OpenSource(d);
  ASSERT_TRUE(mismatch.ok()) << mismatch.status().ToString();
  connectors::CollectedRows rows;
  Status m = (*mismatch)->Query(FirstDay(), rows);
  EXPECT_EQ(m.code(), StatusCode::kInvalidArgument) << m.ToString();
  EXPECT_NE(m.message().find("[2024-12-30T00:00:00Z"), std::string::npos) << m.message();

  d.query =
      "select pg_sleep(5), ts from ecommerce where ts >= {{interval_start}} and ts < "
      "{{interval_end}} limit 1";
  d.source.query_timeout_seconds = 1;
  auto slow = connectors::OpenSource(d);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  Status t = (*slow)->Query(FirstDay(), rows);
  EXPECT_EQ(t.code(), StatusCode::kDeadlineExceeded) << t.ToString();
  EXPECT_NE(t.message().find("timeout of 1 s"), std::string::npos) << t.message();
  // The connection is still usable afterwards.
  d.query = "select ts from ecommerce where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto ok = connectors::OpenSource(d);
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE((*ok)->Query(FirstDay(), rows).ok());
}

// Kills the server when the first row arrives.
class KillOnFirstRow : public connectors::CollectedRows {
 public:
  explicit KillOnFirstRow(std::function<void()> kill) : kill_(std::move(kill)) {}
  Status OnRow(const std::vector<Cell>& cells) override {
    if (!killed_) {
      killed_ = true;
      kill_();
    }
    ++rows_;
    (void)cells;
    return Status::Ok();
  }
  int64_t rows_ = 0;

 private:
  std::function<void()> kill_;
  bool killed_ = false;
};

TEST_F(SourcesIntegrationTest, MariadbRunEqualsSqliteRun) {
  REQUIRE_MARIADB();
  auto got = w.Run(WithSource(config::SourceType::kMysql, w.maria->Url()), "maria-state.db");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, w.Reference());
}

TEST_F(SourcesIntegrationTest, MariadbErrors) {
  REQUIRE_MARIADB();
  auto denied = connectors::OpenSource(
      WithSource(config::SourceType::kMysql,
                 fmt::format("mysql://osprey:WrongPass99@127.0.0.1:{}/osprey", w.maria->port())));
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.status().code(), StatusCode::kInvalidArgument) << denied.status().ToString();
  EXPECT_NE(denied.status().message().find("Access denied"), std::string::npos);
  EXPECT_EQ(denied.status().message().find("WrongPass99"), std::string::npos);

  auto gone = connectors::OpenSource(
      WithSource(config::SourceType::kMysql,
                 fmt::format(R"({{"username":"osprey","password":"x","host":"127.0.0.1","port":{}}})",
                             testing::FreePort())));
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kUnavailable) << gone.status().ToString();

  config::Detector d = WithSource(config::SourceType::kMysql, w.maria->Url());
  d.query = "select * from nope where ts >= {{interval_start}} and ts < {{interval_end}}";
  auto bad = connectors::OpenSource(d);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("doesn't exist"), std::string::npos) << bad.status().message();

  d.query =
      "select sleep(5) as s, ts from ecommerce where ts >= {{interval_start}} and ts < "
      "{{interval_end}} and id = (select max(id) from ecommerce where sleep(5) = 0)";
  d.source.query_timeout_seconds = 1;
  auto slow = connectors::OpenSource(d);
  ASSERT_TRUE(slow.ok()) << slow.status().ToString();
  connectors::CollectedRows rows;
  Status t = (*slow)->Query(FirstDay(), rows);
  EXPECT_EQ(t.code(), StatusCode::kDeadlineExceeded) << t.ToString();
}

// Sources are read only by construction. Each write statement a detector's
// query could hide (DELETE ... RETURNING, INSERT ... RETURNING, a CTE that
// deletes) fails with an error that names the detector and says why, and
// the table keeps every row. Before, PostgreSQL ran the DELETE.
class ReadOnlyCheck {
 public:
  explicit ReadOnlyCheck(config::Detector base) : base_(std::move(base)) {}

  // Rows in ecommerce, through the source itself.
  int64_t Rows() {
    config::Detector d = base_;
    d.query =
        "select count(*) as n from ecommerce where ts >= {{interval_start}} or ts < "
        "{{interval_end}}";
    auto src = connectors::OpenSource(d);
    if (!src.ok()) {
      ADD_FAILURE() << src.status().ToString();
      return -1;
    }
    connectors::CollectedRows rows;
    Status s = (*src)->Query({FromUnixSeconds(0), FromUnixSeconds(1)}, rows);
    if (!s.ok() || rows.rows.size() != 1) {
      ADD_FAILURE() << s.ToString();
      return -1;
    }
    const std::string& n = rows.rows[0][0];  // "i:123"
    return n.rfind("i:", 0) == 0 ? std::stoll(n.substr(2)) : -1;
  }

  // Runs the detector with `query` over the whole range (as `osprey
  // backtest` would) and checks it fails naming the detector and the cause.
  void ExpectRefused(World& w, const std::string& query, const std::string& state) {
    config::Detector d = base_;
    d.name = "writer";
    d.query = query;
    const int64_t before = Rows();
    ASSERT_GT(before, 0);
    auto run = w.Run(d, state);
    ASSERT_FALSE(run.ok()) << query;
    const std::string& m = run.status().message();
    EXPECT_EQ(run.status().code(), StatusCode::kInvalidArgument) << m;
    EXPECT_NE(m.find("detector 'writer'"), std::string::npos) << m;
    EXPECT_NE(m.find("read-only"), std::string::npos) << m;
    EXPECT_EQ(Rows(), before) << query;
  }

 private:
  config::Detector base_;
};

constexpr const char* kJoinNames =
    " join platform p on g.platform = p.id join marketplace m on g.marketplace = m.id";
constexpr const char* kColumns =
    "g.ts as timestamp, g.views, g.revenue, p.name as platform, m.name as marketplace";
constexpr const char* kRange = "ts >= {{interval_start}} and ts < {{interval_end}}";

TEST_F(SourcesIntegrationTest, PostgresQueriesThatWriteFailAndChangeNothing) {
  REQUIRE_PG();
  ReadOnlyCheck check(WithSource(config::SourceType::kPostgres, w.pg->Dsn()));
  check.ExpectRefused(w,
                      fmt::format("delete from ecommerce g using platform p, marketplace m where "
                                  "g.platform = p.id and g.marketplace = m.id and g.{} returning {}",
                                  kRange, kColumns),
                      "pg-delete.db");
  check.ExpectRefused(w,
                      fmt::format("insert into ecommerce(ts, platform, marketplace, views, revenue) "
                                  "select ts, platform, marketplace, views, revenue from ecommerce "
                                  "where {} returning ts as timestamp, views, revenue, "
                                  "platform::text as platform, marketplace::text as marketplace",
                                  kRange),
                      "pg-insert.db");
  check.ExpectRefused(w,
                      fmt::format("with g as (delete from ecommerce where {} returning *) select {} "
                                  "from g{}",
                                  kRange, kColumns, kJoinNames),
                      "pg-cte.db");
}

TEST_F(SourcesIntegrationTest, MariadbQueriesThatWriteFailAndChangeNothing) {
  REQUIRE_MARIADB();
  ReadOnlyCheck check(WithSource(config::SourceType::kMysql, w.maria->Url()));
  // MariaDB's DELETE ... RETURNING takes one table.
  check.ExpectRefused(w,
                      fmt::format("delete from ecommerce where {} returning ts as timestamp, views, "
                                  "revenue, platform, marketplace",
                                  kRange),
                      "maria-delete.db");
  check.ExpectRefused(w,
                      fmt::format("insert into ecommerce(ts, platform, marketplace, views, revenue) "
                                  "select ts, platform, marketplace, views, revenue from ecommerce "
                                  "where {} returning ts as timestamp, views, revenue, platform, "
                                  "marketplace",
                                  kRange),
                      "maria-insert.db");
}

TEST_F(SourcesIntegrationTest, SqliteQueriesThatWriteFailAndChangeNothing) {
  ReadOnlyCheck check(WithSource(config::SourceType::kSqlite, w.dir.File("warehouse.db")));
  check.ExpectRefused(w,
                      fmt::format("delete from ecommerce where {} returning ts as timestamp, views, "
                                  "revenue, platform, marketplace",
                                  kRange),
                      "sqlite-delete.db");
  check.ExpectRefused(w,
                      fmt::format("with g as (select * from ecommerce where {}) insert into "
                                  "ecommerce(ts, platform, marketplace, views, revenue) select ts, "
                                  "platform, marketplace, views, revenue from g returning ts as "
                                  "timestamp, views, revenue, platform, marketplace",
                                  kRange),
                      "sqlite-insert.db");
}

TEST_F(SourcesIntegrationTest, CsvDirectoryRunEqualsSqliteRun) {
  const fs::path root = w.dir.path() / "csv";
  fs::remove_all(root);
  static const TimestampFormat dirs = *TimestampFormat::Parse("yyyyMMdd/HHmm");
  std::map<int64_t, std::string> files;
  for (const auto& r : w.data.rows) {
    std::string& f = files[r.ts];
    if (f.empty()) f = "timestamp,views,revenue,platform,marketplace\n";
    f += fmt::format("{},{},{},{},{}\n", Stamp(r.ts), r.views, r.revenue,
                     w.data.platforms[static_cast<size_t>(r.platform)],
                     w.data.marketplaces[static_cast<size_t>(r.marketplace)]);
  }
  for (const auto& [ts, text] : files) {
    fs::path d = root / dirs.Format(FromUnixSeconds(ts), TimeZone::Utc());
    fs::create_directories(d);
    std::ofstream(d / "part-0.csv") << text;
  }
  config::Detector d = w.detector;
  d.source.type = config::SourceType::kCsv;
  d.source.path = root.string();
  d.source.csv.layout = "yyyyMMdd/HHmm";
  d.query.clear();
  auto got = w.Run(d, "csv-state.db");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, w.Reference());
}

// Forwards to a real source and kills the server on the first row of the
// third query.
class KillingSource : public connectors::Source {
 public:
  KillingSource(connectors::Source& inner, std::function<void()> kill)
      : inner_(inner), kill_(std::move(kill)) {}
  Status Query(const QueryRange& range, RowHandler& handler) override {
    if (++queries_ != 3) return inner_.Query(range, handler);
    struct Killer : RowHandler {
      RowHandler& next;
      std::function<void()>& kill;
      bool done = false;
      Killer(RowHandler& n, std::function<void()>& k) : next(n), kill(k) {}
      Status OnColumns(const std::vector<std::string>& names) override { return next.OnColumns(names); }
      Status OnRow(const std::vector<Cell>& cells) override {
        if (!done) {
          done = true;
          kill();
        }
        return next.OnRow(cells);
      }
    } killer(handler, kill_);
    return inner_.Query(range, killer);
  }

 private:
  connectors::Source& inner_;
  std::function<void()> kill_;
  int queries_ = 0;
};

// Last (Zz): these kill the servers.
TEST_F(SourcesIntegrationTest, ZzPostgresKilledMidQueryIsUnavailableAndCommitsNothing) {
  REQUIRE_PG();
  config::Detector d = WithSource(config::SourceType::kPostgres, w.pg->Dsn());
  // Many rows per interval, so the server dies while the result streams.
  d.query =
      "select e.ts as timestamp, e.views, e.revenue, p.name as platform, m.name as "
      "marketplace from ecommerce e join platform p on e.platform = p.id join marketplace "
      "m on e.marketplace = m.id, generate_series(1, 50) g "
      "where e.ts >= {{interval_start}} and e.ts < {{interval_end}}";
  auto src = connectors::OpenSource(d);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  KillingSource killing(**src, [&] { w.pg->Kill(); });
  auto store = *store::OpenSqliteStore((w.dir.path() / "killed-state.db").string());
  auto runner = app::DetectorRunner::Create(d, "test", *store, killing);
  ASSERT_TRUE(runner.ok()) << runner.status().ToString();
  app::RunOptions options;
  options.chunk_intervals = 24;
  const Instant third = w.data.start + std::chrono::hours(48);
  Status s = (*runner)->Run(w.data.start, w.data.end, options, nullptr);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
  // The chunks before the failed one are committed; nothing of it is. (The
  // third query may still complete from what the socket had buffered; then
  // the fourth fails.)
  auto watermark = (*runner)->Watermark();
  ASSERT_TRUE(watermark.ok() && watermark->has_value());
  EXPECT_GE(**watermark, third);
  EXPECT_LT(**watermark, w.data.end);
  EXPECT_NE(s.message().find("intervals [" + FormatIso(**watermark)), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ecommerce"), std::string::npos) << s.message();
  const Instant failed = **watermark;
  auto detector = *store->GetDetector(d.name);
  for (const auto& series : *store->ListSeries(detector.id)) {
    EXPECT_TRUE(store->ListPoints(series.id, ToUnixSeconds(failed), 1LL << 40)->empty()) << series.label;
    EXPECT_FALSE(store->ListPoints(series.id, 0, ToUnixSeconds(failed))->empty()) << series.label;
  }
  // A new query now fails as Unavailable too (the scheduler retries it).
  connectors::CollectedRows rows;
  EXPECT_EQ((*src)->Query(FirstDay(), rows).code(), StatusCode::kUnavailable);
}

TEST_F(SourcesIntegrationTest, ZzMariadbKilledMidQueryIsUnavailable) {
  REQUIRE_MARIADB();
  config::Detector d = WithSource(config::SourceType::kMysql, w.maria->Url());
  d.query =
      "select e.ts as timestamp, e.views from ecommerce e, ecommerce f "
      "where e.ts >= {{interval_start}} and e.ts < {{interval_end}}";
  auto src = connectors::OpenSource(d);
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  KillOnFirstRow killer([&] { w.maria->Kill(); });
  Status s = (*src)->Query(FirstDay(), killer);
  EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
}

}  // namespace
}  // namespace osprey
