// The Store contract, run against each backend: this file builds into
// store_test (SQLite) and store_postgres_integration_test (PostgreSQL, with
// OSPREY_STORE_TEST_POSTGRES). The PostgreSQL binary starts one throw-away
// server per process (src/osprey/testing/db_servers.h) and gives each test a
// fresh database; it skips when the server binaries are not installed.
#include "osprey/store/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "osprey/base/csv.h"
#include "osprey/store/csv_export.h"
#include "osprey/store/migrations.h"
#include "osprey/store/point_block.h"
#include "osprey/store/sql_db.h"
#include "osprey/testing/db_servers.h"

namespace osprey::store {
namespace {

// The PostgreSQL server shared by the tests of this process.
class PostgresEnvironment : public ::testing::Environment {
 public:
  static testing::PostgresServer* server() { return server_.get(); }
  static const std::string& skip() { return skip_; }

  void SetUp() override {
    auto s = testing::PostgresServer::Start();
    if (s.ok()) {
      server_ = std::move(s).value();
    } else if (s.status().code() == StatusCode::kFailedPrecondition) {
      skip_ = "PostgreSQL server binaries not installed (" + s.status().message() +
              "); run the install script to test the PostgreSQL store";
    } else {
      skip_ = "PostgreSQL did not start: " + s.status().ToString();
      ADD_FAILURE() << skip_;
    }
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<testing::PostgresServer> server_;
  static inline std::string skip_;
};

#if OSPREY_STORE_TEST_POSTGRES
[[maybe_unused]] ::testing::Environment* const kPostgresEnvironment =
    ::testing::AddGlobalTestEnvironment(new PostgresEnvironment);
#endif

// The parameter names the backend: "sqlite" or "postgres".
class StoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    if (GetParam() == "postgres") {
      testing::PostgresServer* pg = PostgresEnvironment::server();
      if (pg == nullptr) GTEST_SKIP() << PostgresEnvironment::skip();
      db_ = "store_" + test.substr(0, test.find('/'));
      std::transform(db_.begin(), db_.end(), db_.begin(), [](unsigned char c) {
        return std::isalnum(c) ? static_cast<char>(std::tolower(c)) : '_';
      });
      ASSERT_TRUE(Recreate().ok());
      target_ = pg->Url(db_);
    } else {
      path_ = (std::filesystem::temp_directory_path() /
               ("osprey_store_" + std::to_string(::getpid()) + "_" + test.substr(0, test.find('/')) + ".db"))
                  .string();
      Cleanup();
      target_ = path_;
    }
    auto opened = OpenStore(target_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store_ = std::move(opened).value();
  }
  void TearDown() override {
    store_.reset();
    if (!path_.empty()) Cleanup();
  }
  void Cleanup() {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path_ + suffix);
  }
  // An empty database in place of the store's (which must be closed).
  Status Recreate() {
    if (GetParam() != "postgres") {
      Cleanup();
      return Status::Ok();
    }
    Status s = PostgresEnvironment::server()->Execute("drop database if exists " + db_);
    if (s.ok()) s = PostgresEnvironment::server()->Execute("create database " + db_);
    return s;
  }
  // Runs a script of SQL statements on the store's database behind its back.
  Status RawScript(const std::string& sql) {
    if (GetParam() == "postgres") return PostgresEnvironment::server()->Execute(sql, db_);
    sqlite3* db = nullptr;
    char* err = nullptr;
    int rc = sqlite3_open(path_.c_str(), &db);
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    Status s = rc == SQLITE_OK ? Status::Ok() : Internal(err ? err : sqlite3_errmsg(db));
    sqlite3_free(err);
    sqlite3_close(db);
    return s;
  }
  // The delta rows of the store's model states (SQLite only; -1 for
  // PostgreSQL, where the tests read the states back instead).
  int64_t DeltaRows() { return CountRows("model_state_delta"); }
  // The rows of `table` (SQLite only; -1 for PostgreSQL).
  int64_t CountRows(const std::string& table) {
    if (GetParam() == "postgres") return -1;
    sqlite3* db = nullptr;
    int64_t n = -2;
    const std::string sql = "select count(*) from " + table;
    if (sqlite3_open(path_.c_str(), &db) == SQLITE_OK) {
      sqlite3_stmt* st = nullptr;
      if (sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
          sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
      }
      sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return n;
  }
  // Runs SQL on the store's database behind its back. Skips the test when
  // that is impossible (no sqlite3 shell).
  Status RawExec(const std::string& sql) {
    if (GetParam() == "postgres") return PostgresEnvironment::server()->Execute(sql, db_);
    std::string cmd = "sqlite3 '" + path_ + "' '" + sql + "'";
    if (std::system(cmd.c_str()) != 0) return FailedPrecondition("sqlite3 shell not available");
    return Status::Ok();
  }

  ChunkResult Chunk(int64_t detector, int64_t series, int64_t ts, double value) {
    ChunkResult c;
    c.detector_id = detector;
    c.first_ts = ts;
    c.next_watermark = ts + 3600;
    c.points.push_back({series, ts, value, 10.0, 5.0, 15.0, 90.0});
    c.groups.push_back({0, detector, "", "views", ts, ts + 3600, 90, 1, "{}", "[]", "[]"});
    AnomalyRecord a;
    a.series_id = series;
    a.ts = ts;
    a.value = value;
    a.expected = 10;
    a.lower = 5;
    a.upper = 15;
    a.severity = 90;
    a.direction = "up";
    a.explanation = "spike";
    a.group_index = 0;
    c.anomalies.push_back(a);
    c.model_states[series] = std::string("state\0with nul", 14);
    c.quality.push_back({ts, 21, 1, 0, 21, 0, "{}"});
    return c;
  }

  // A trigger of alert "oncall" about the "views" group at 7200.
  static OutboxRecord Trigger() {
    OutboxRecord o;
    o.alert = "oncall";
    o.kind = "trigger";
    o.measure = "views";
    o.group_ts = 7200;
    o.incident_ts = 7200;
    o.severity = 90;
    o.created_at = 10800;
    return o;
  }

  std::string path_;    // SQLite
  std::string db_;      // PostgreSQL
  std::string target_;  // what OpenStore opens
  std::unique_ptr<Store> store_;
};

TEST_P(StoreTest, DetectorsAndSeriesAreIdempotent) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  EXPECT_EQ(*store_->UpsertDetector("ecommerce", "a: 2"), d);
  EXPECT_EQ(store_->GetDetector("ecommerce")->config, "a: 2");
  EXPECT_EQ(store_->GetDetector("nope").status().code(), StatusCode::kNotFound);
  // Origin: empty for a new detector, kept by later upserts.
  EXPECT_EQ(store_->GetDetector("ecommerce")->origin, "");
  ASSERT_TRUE(store_->SetDetectorOrigin("ecommerce", "file:/etc/osprey/ecommerce.yaml").ok());
  EXPECT_EQ(*store_->UpsertDetector("ecommerce", "a: 3"), d);
  EXPECT_EQ(store_->ListDetectors()->at(0).origin, "file:/etc/osprey/ecommerce.yaml");
  EXPECT_EQ(store_->SetDetectorOrigin("nope", "api").code(), StatusCode::kNotFound);
  int64_t s1 = *store_->EnsureSeries(d, "views", "{\"platform\":\"web\"}", "views{platform=web}");
  EXPECT_EQ(*store_->EnsureSeries(d, "views", "{\"platform\":\"web\"}", "views{platform=web}"), s1);
  EXPECT_NE(*store_->EnsureSeries(d, "revenue", "{\"platform\":\"web\"}", "x"), s1);
  EXPECT_EQ(store_->ListSeries(d)->size(), 2u);
}

TEST_P(StoreTest, ManySeriesAreCreatedAtOnceInOrder) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  auto dims = [](int i) { return fmt::format(R"({{"p":"{}"}})", i); };
  // Two of them exist already; 150 series make two full statements of
  // SQLite's and a rest inserted one at a time.
  const int64_t s10 = *store_->EnsureSeries(d, "views", dims(10), "old label");
  const int64_t s140 = *store_->EnsureSeries(d, "views", dims(140), "views{p=140}");
  std::vector<SeriesRecord> many;
  for (int i = 0; i < 150; ++i) many.push_back({-1, "views", dims(i), fmt::format("views{{p={}}}", i)});
  ASSERT_TRUE(store_->EnsureSeriesMany(d, many).ok());
  EXPECT_EQ(many[10].id, s10);
  EXPECT_EQ(many[140].id, s140);
  std::set<int64_t> distinct;
  int64_t last_new = 0;
  for (int i = 0; i < 150; ++i) {
    const SeriesRecord& r = many[static_cast<size_t>(i)];
    distinct.insert(r.id);
    // Each is the series EnsureSeries finds, and new ones come in order.
    EXPECT_EQ(*store_->EnsureSeries(d, "views", dims(i), r.label), r.id) << i;
    if (i != 10 && i != 140) {
      EXPECT_GT(r.id, last_new) << i;
      last_new = r.id;
    }
  }
  EXPECT_EQ(distinct.size(), 150u);
  auto listed = *store_->ListSeries(d);
  ASSERT_EQ(listed.size(), 150u);
  for (const SeriesRecord& r : listed) {
    if (r.id == s10) {
      EXPECT_EQ(r.label, "views{p=10}");  // the label is updated
    }
  }
  // Again: the same ids, nothing new.
  std::vector<SeriesRecord> again = many;
  for (SeriesRecord& r : again) r.id = -1;
  ASSERT_TRUE(store_->EnsureSeriesMany(d, again).ok());
  for (size_t i = 0; i < many.size(); ++i) EXPECT_EQ(again[i].id, many[i].id) << i;
  EXPECT_EQ(store_->ListSeries(d)->size(), 150u);
  // They are durable once the next write commits.
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, many[0].id, 1601510400, 40)).ok());
  store_.reset();
  store_ = std::move(OpenStore(target_)).value();
  EXPECT_EQ(store_->ListSeries(d)->size(), 150u);
}

TEST_P(StoreTest, RerunningAnIntervalReplacesInsteadOfDuplicating) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  const int64_t ts = 1601510400;
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, ts, 40)).ok());
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, ts, 41)).ok());
  GroupQuery q;
  auto groups = *store_->ListGroups(q);
  ASSERT_EQ(groups.size(), 1u);
  auto anomalies = *store_->ListAnomalies(groups[0].id);
  ASSERT_EQ(anomalies.size(), 1u);
  EXPECT_EQ(anomalies[0].value, 41);
  EXPECT_EQ(anomalies[0].label, "views");
  auto points = *store_->ListPoints(s, ts, ts + 3600);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].value, 41);
  EXPECT_EQ(store_->ListQuality(d, ts, ts + 3600)->size(), 1u);
  EXPECT_EQ(**store_->GetWatermark(d), ts + 3600);
  auto states = *store_->LoadModelStates(d);
  EXPECT_EQ(states[s], std::string("state\0with nul", 14));
}

TEST_P(StoreTest, FailedChunkLeavesNothingBehind) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ChunkResult bad = Chunk(d, s, 1601510400, 40);
  bad.anomalies[0].group_index = 7;  // refers to no group: the commit must fail whole
  EXPECT_FALSE(store_->CommitChunk(bad).ok());
  EXPECT_TRUE(store_->ListGroups({})->empty());
  EXPECT_TRUE(store_->ListPoints(s, 0, 1LL << 40)->empty());
  EXPECT_FALSE(store_->GetWatermark(d)->has_value());
}

TEST_P(StoreTest, ResetFromForgetsLaterResults) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 1000 * 3600, 40)).ok());
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 1001 * 3600, 40)).ok());
  ASSERT_TRUE(store_->ResetFrom(d, 1001 * 3600).ok());
  EXPECT_EQ(store_->ListGroups({})->size(), 1u);
  EXPECT_EQ(store_->ListPoints(s, 0, 1LL << 40)->size(), 1u);
  EXPECT_FALSE(store_->GetWatermark(d)->has_value());
  EXPECT_TRUE(store_->LoadModelStates(d)->empty());
}

TEST_P(StoreTest, ReopeningKeepsDataAndRefusesNewerSchema) {
  int64_t d = *store_->UpsertDetector("ecommerce", "x");
  store_.reset();
  store_ = std::move(OpenStore(target_)).value();
  EXPECT_EQ(store_->GetDetector("ecommerce")->id, d);
  store_.reset();
  // Pretend a newer osprey wrote the store.
  Status s = RawExec("insert into schema_migrations values (999)");
  if (s.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << s.message();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto newer = OpenStore(target_);
  ASSERT_FALSE(newer.ok());
  EXPECT_EQ(newer.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(newer.status().message().find("999"), std::string::npos);
  EXPECT_EQ(newer.status().message().find(testing::kTestPassword), std::string::npos);
}

// Model states a chunk produces while it is written (write_model_states)
// are stored with it, read back one at a time in series id order, and a
// failure while producing them leaves the chunk uncommitted.
TEST_P(StoreTest, ModelStatesStreamInAndOut) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t a = *store_->EnsureSeries(d, "views", R"({"p":"a"})", "views{p=a}");
  int64_t b = *store_->EnsureSeries(d, "views", R"({"p":"b"})", "views{p=b}");
  int64_t other = *store_->EnsureSeries(*store_->UpsertDetector("other", ""), "views", "{}", "views");
  ChunkResult c = Chunk(d, a, 3600, 40);
  c.model_states[a] = "from the map";
  c.write_model_states = [&](const std::function<Status(int64_t, std::string_view)>& write) {
    OSPREY_RETURN_IF_ERROR(write(b, std::string("b\0", 2)));
    return write(other, "another detector's");
  };
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  std::vector<std::pair<int64_t, std::string>> seen;
  ASSERT_TRUE(store_
                  ->ForEachModelState(d,
                                      [&](int64_t id, std::string_view state) {
                                        seen.emplace_back(id, state);
                                        return Status::Ok();
                                      })
                  .ok());
  const std::vector<std::pair<int64_t, std::string>> want = {{a, "from the map"}, {b, std::string("b\0", 2)}};
  EXPECT_EQ(seen, want);
  EXPECT_EQ(store_->LoadModelStates(*store_->UpsertDetector("other", ""))->at(other), "another detector's");

  ChunkResult failing = Chunk(d, a, 7200, 40);
  failing.write_model_states = [&](const std::function<Status(int64_t, std::string_view)>& write) {
    OSPREY_RETURN_IF_ERROR(write(a, "half"));
    return Internal("a model could not be saved");
  };
  EXPECT_FALSE(store_->CommitChunk(failing).ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), "from the map");
  EXPECT_EQ(*store_->GetWatermark(d), 7200);
}

// A resume point writes every series' state (SQLite: many to a statement):
// new states, then whole states over stored ones and their deltas, and a
// failure halfway leaves every state as it was.
TEST_P(StoreTest, ManyModelStatesAreWrittenWholeOverTheirDeltas) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> ids;
  for (int i = 0; i < 150; ++i) {
    ids.push_back(*store_->EnsureSeries(d, "views", fmt::format(R"({{"p":"{}"}})", i), "v"));
  }
  auto state = [](int i, char fill) {
    return std::string(static_cast<size_t>(200 + i % 7), fill) + std::to_string(i);
  };
  auto save = [&](int64_t ts, char fill, bool fail = false) {
    ChunkResult c = Chunk(d, ids[0], ts, 40);
    c.write_model_states = [&](const std::function<Status(int64_t, std::string_view)>& write) {
      for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
        if (fail && i == 100) return Internal("a model could not be saved");
        OSPREY_RETURN_IF_ERROR(write(ids[static_cast<size_t>(i)], state(i, fill)));
      }
      return Status::Ok();
    };
    return store_->CommitChunk(c);
  };
  auto expect = [&](const std::function<std::string(int)>& want) {
    auto states = *store_->LoadModelStates(d);
    ASSERT_EQ(states.size(), ids.size());
    for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
      EXPECT_EQ(states[ids[static_cast<size_t>(i)]], want(i)) << i;
    }
  };
  ASSERT_TRUE(save(3600, 'a').ok());
  expect([&](int i) { return state(i, 'a'); });
  // A paged chunk stores one changed byte of each as a delta.
  ChunkResult paged = Chunk(d, ids[0], 7200, 40);
  paged.model_states.clear();
  ASSERT_TRUE(store_
                  ->CommitScoredChunk(paged,
                                      [&](Store::ModelStateAccess& io) -> Status {
                                        std::map<int64_t, std::string> read;
                                        OSPREY_RETURN_IF_ERROR(io.Read(ids.front(), ids.back(),
                                                                       [&](int64_t id, std::string_view st) {
                                                                         read.emplace(id, st);
                                                                         return Status::Ok();
                                                                       }));
                                        for (auto& [id, st] : read) {
                                          st[0] = 'p';
                                          OSPREY_RETURN_IF_ERROR(io.Write(id, st));
                                        }
                                        return Status::Ok();
                                      })
                  .ok());
  auto paged_state = [&](int i) {
    std::string s = state(i, 'a');
    s[0] = 'p';
    return s;
  };
  expect(paged_state);
  EXPECT_EQ(DeltaRows(), GetParam() == "postgres" ? -1 : 150);
  // Failing halfway: nothing changes.
  EXPECT_FALSE(save(10800, 'b', true).ok());
  expect(paged_state);
  // Whole states over them: the deltas are gone.
  ASSERT_TRUE(save(10800, 'b').ok());
  expect([&](int i) { return state(i, 'b'); });
  EXPECT_EQ(DeltaRows(), GetParam() == "postgres" ? -1 : 0);
}

// A paged runner's chunk (CommitScoredChunk) reads states in its
// transaction and writes each back as its changes from the stored one
// while they are small; reads merge them, a whole state replaces both, and
// a failure leaves the stored states as they were.
TEST_P(StoreTest, ScoredChunksStoreStatesAsChangesFromTheStoredOnes) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t a = *store_->EnsureSeries(d, "views", R"({"p":"a"})", "views{p=a}");
  int64_t b = *store_->EnsureSeries(d, "views", R"({"p":"b"})", "views{p=b}");
  std::string base(1000, 'x');
  ChunkResult first = Chunk(d, a, 3600, 40);
  first.model_states = {{a, base}, {b, "b"}};
  ASSERT_TRUE(store_->CommitChunk(first).ok());
  auto score = [&](int64_t ts, const std::function<std::string(std::string)>& change, bool fail = false) {
    ChunkResult c = Chunk(d, a, ts, 40);
    c.model_states.clear();  // the states are the scoring's
    return store_->CommitScoredChunk(c, [&](Store::ModelStateAccess& io) -> Status {
      std::map<int64_t, std::string> read;
      OSPREY_RETURN_IF_ERROR(io.Read(a, b, [&](int64_t id, std::string_view state) {
        read.emplace(id, state);
        return Status::Ok();
      }));
      if (read.size() != 2) return Internal("not every state was read");
      for (const auto& [id, state] : read) OSPREY_RETURN_IF_ERROR(io.Write(id, change(state)));
      return fail ? Internal("scoring failed") : Status::Ok();
    });
  };
  // Few changes: stored as such (the base row is left as it was).
  auto one_byte = [](std::string s) {
    s[s.size() / 2] = static_cast<char>(s[s.size() / 2] + 1);
    return s;
  };
  ASSERT_TRUE(score(7200, one_byte).ok());
  std::string want = one_byte(base);
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), want);
  EXPECT_EQ(store_->LoadModelStates(d)->at(b), one_byte("b"));
  const int64_t none = GetParam() == "postgres" ? -1 : 0;
  EXPECT_EQ(DeltaRows(), GetParam() == "postgres" ? -1 : 1);  // b's is too long a delta
  // Changes accumulate on the same stored state.
  ASSERT_TRUE(score(10800, [](std::string s) {
                s[0] = 'y';
                return s;
              }).ok());
  want[0] = 'y';
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), want);
  // A failed chunk leaves them as they were.
  EXPECT_FALSE(score(
                   14400, [](std::string s) { return s + "longer"; }, true)
                   .ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), want);
  // Many changes, or another size: stored whole, the delta gone.
  ASSERT_TRUE(score(14400, [](std::string s) { return std::string(s.size(), 'z'); }).ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), std::string(1000, 'z'));
  EXPECT_EQ(DeltaRows(), none);
  ASSERT_TRUE(score(18000, one_byte).ok());
  ChunkResult whole = Chunk(d, a, 21600, 40);
  whole.model_states[a] = std::string(1000, 'w');
  ASSERT_TRUE(store_->CommitChunk(whole).ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(a), std::string(1000, 'w'));
  EXPECT_EQ(DeltaRows(), none);
  ASSERT_TRUE(score(25200, one_byte).ok());
  EXPECT_EQ(DeltaRows(), GetParam() == "postgres" ? -1 : 1);
  ASSERT_TRUE(store_->ResetFrom(d, 0).ok());
  EXPECT_TRUE(store_->LoadModelStates(d)->empty());
  EXPECT_EQ(DeltaRows(), none);
}

// The states a chunk's Read gives stay valid until the next Read (a paged
// runner keeps a block's views, not copies): short and long ones, whole
// ones and ones with a delta, and as many as make the store's buffers grow;
// a delta that was stored is updated, and reads give the newest.
TEST_P(StoreTest, ScoredChunkStatesStayValidUntilTheNextRead) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::map<int64_t, std::string> want;
  ChunkResult first = Chunk(d, *store_->EnsureSeries(d, "views", "{}", "views"), 3600, 40);
  first.model_states.clear();
  for (int i = 0; i < 60; ++i) {
    const int64_t id = *store_->EnsureSeries(d, "views", fmt::format(R"({{"p":"{}"}})", i), "v");
    // Every third state is short (kept inside its string), the others long.
    want[id] = i % 3 == 0 ? std::string(1 + i % 5, static_cast<char>('a' + i % 26))
                          : std::string(400 + static_cast<size_t>(i), static_cast<char>('a' + i % 26));
    first.model_states[id] = want[id];
  }
  ASSERT_TRUE(store_->CommitChunk(first).ok());
  auto bump = [](std::string s) {
    s[s.size() / 2] = static_cast<char>(s[s.size() / 2] + 1);
    return s;
  };
  // The second and fourth chunks prepare their writes on two threads at
  // once (Prepare), then write them (WritePrepared); the others Write.
  for (int64_t ts : {7200, 10800, 14400, 18000}) {
    const bool prepare = ts == 10800 || ts == 18000;
    ChunkResult c = Chunk(d, want.begin()->first, ts, 40);
    c.model_states.clear();
    ASSERT_TRUE(
        store_
            ->CommitScoredChunk(c,
                                [&](Store::ModelStateAccess& io) -> Status {
                                  std::vector<std::pair<int64_t, std::string_view>> views;
                                  OSPREY_RETURN_IF_ERROR(io.Read(want.begin()->first, want.rbegin()->first,
                                                                 [&](int64_t id, std::string_view state) {
                                                                   views.emplace_back(id, state);
                                                                   return Status::Ok();
                                                                 }));
                                  EXPECT_EQ(views.size(), want.size());
                                  for (const auto& [id, state] : views) {
                                    EXPECT_EQ(state, want[id]) << id << " at " << ts;
                                    want[id] = bump(want[id]);
                                    if (!prepare) OSPREY_RETURN_IF_ERROR(io.Write(id, want[id]));
                                  }
                                  if (!prepare) return Status::Ok();
                                  std::vector<Store::ModelStateAccess::Prepared> ready(views.size());
                                  auto half = [&](size_t from, size_t to) {
                                    for (size_t k = from; k < to; ++k) {
                                      io.Prepare(views[k].first, want[views[k].first], &ready[k]);
                                    }
                                  };
                                  std::thread other(half, views.size() / 2, views.size());
                                  half(0, views.size() / 2);
                                  other.join();
                                  for (size_t k = 0; k < views.size(); ++k) {
                                    OSPREY_RETURN_IF_ERROR(
                                        io.WritePrepared(views[k].first, want[views[k].first], ready[k]));
                                  }
                                  return Status::Ok();
                                })
            .ok());
  }
  auto stored = *store_->LoadModelStates(d);
  for (const auto& [id, state] : want) EXPECT_EQ(stored.at(id), state) << id;
}

// A SQLite store reads a chunk's states with a connection of its own, so
// that one thread reads a block while another writes the block before: the
// reads see the states as committed, whatever the chunk's transaction has
// written of other series meanwhile, and the chunk then commits what was
// written. PostgreSQL reads on the store's connection.
TEST_P(StoreTest, ScoredChunksReadStatesBesideTheirWrites) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> ids;
  ChunkResult first = Chunk(d, *store_->EnsureSeries(d, "views", "{}", "views"), 3600, 40);
  first.model_states.clear();
  for (int i = 0; i < 40; ++i) {
    ids.push_back(*store_->EnsureSeries(d, "views", fmt::format(R"({{"p":"{}"}})", i), "v"));
    first.model_states[ids.back()] = std::string(300, static_cast<char>('a' + i % 26));
  }
  ASSERT_TRUE(store_->CommitChunk(first).ok());
  const std::map<int64_t, std::string> committed = *store_->LoadModelStates(d);
  std::map<int64_t, std::string> written;
  ChunkResult c = Chunk(d, ids.front(), 7200, 40);
  c.model_states.clear();
  ASSERT_TRUE(store_
                  ->CommitScoredChunk(c,
                                      [&](Store::ModelStateAccess& io) -> Status {
                                        EXPECT_EQ(io.ReadsBeside(), GetParam() == "sqlite");
                                        // Blocks of four series: each read on a thread of its
                                        // own while this one writes the block before.
                                        Status read_status;
                                        std::map<int64_t, std::string> read;
                                        for (size_t from = 0; from < ids.size(); from += 4) {
                                          const int64_t lo = ids[from], hi = ids[from + 3];
                                          auto read_block = [&] {
                                            read_status =
                                                io.Read(lo, hi, [&](int64_t id, std::string_view v) {
                                                  read[id] = std::string(v);
                                                  return Status::Ok();
                                                });
                                          };
                                          std::thread reader;
                                          if (io.ReadsBeside()) reader = std::thread(read_block);
                                          else read_block();
                                          if (from > 0) {
                                            for (size_t k = from - 4; k < from; ++k) {
                                              written[ids[k]] = std::string(300, 'z') + std::to_string(k);
                                              OSPREY_RETURN_IF_ERROR(io.Write(ids[k], written[ids[k]]));
                                            }
                                          }
                                          if (reader.joinable()) reader.join();
                                          OSPREY_RETURN_IF_ERROR(read_status);
                                        }
                                        for (size_t k = ids.size() - 4; k < ids.size(); ++k) {
                                          written[ids[k]] = std::string(300, 'z') + std::to_string(k);
                                          OSPREY_RETURN_IF_ERROR(io.Write(ids[k], written[ids[k]]));
                                        }
                                        EXPECT_EQ(read.size(), ids.size());
                                        for (int64_t id : ids) EXPECT_EQ(read[id], committed.at(id)) << id;
                                        return Status::Ok();
                                      })
                  .ok());
  auto stored = *store_->LoadModelStates(d);
  for (int64_t id : ids) EXPECT_EQ(stored.at(id), written.at(id)) << id;
  // Series come one at a time, in id order, as ListSeries lists them.
  std::vector<SeriesRecord> each;
  ASSERT_TRUE(store_
                  ->ForEachSeries(d,
                                  [&](const SeriesRecord& r) {
                                    each.push_back(r);
                                    return Status::Ok();
                                  })
                  .ok());
  const std::vector<SeriesRecord> listed = *store_->ListSeries(d);
  ASSERT_EQ(each.size(), listed.size());
  EXPECT_EQ(*store_->CountSeries(d), static_cast<int64_t>(listed.size()));
  for (size_t k = 0; k < each.size(); ++k) {
    EXPECT_EQ(each[k].id, listed[k].id);
    EXPECT_EQ(each[k].measure, listed[k].measure);
    EXPECT_EQ(each[k].dims, listed[k].dims);
    EXPECT_EQ(each[k].label, listed[k].label);
  }
}

// A live chunk of many series writes a head row per series, a chunk of a
// day a block per series (SQLite: many rows per statement, then the rest
// one at a time): each reads back with its own fields, missing ones and
// rewritten ones included.
TEST_P(StoreTest, ChunksOfManySeriesWriteEveryHeadRowAndBlock) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> ids;
  for (int i = 0; i < 150; ++i) {
    ids.push_back(*store_->EnsureSeries(d, "views", fmt::format(R"({{"p":"{}"}})", i), "v"));
  }
  auto point = [](int64_t id, int64_t ts, int i) {
    PointRecord p{id, ts, 0.5 + i, std::nullopt, std::nullopt, std::nullopt, std::nullopt};
    if (i % 4 == 0) p.value.reset();  // missing
    if (i % 3 != 0) {
      p.expected = 10.25 * i;
      p.lower = p.expected.value() - 1;
      p.upper = p.expected.value() + 1.5;
      p.severity = i % 100;
    }
    return p;
  };
  for (int64_t ts : {3600, 7200}) {
    ChunkResult c;
    c.detector_id = d;
    c.first_ts = ts;
    c.next_watermark = ts + 3600;
    for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
      c.points.push_back(point(ids[static_cast<size_t>(i)], ts, i + static_cast<int>(ts / 3600)));
    }
    ASSERT_TRUE(store_->CommitChunk(c).ok());
  }
  // The first interval once more, other values: its rows are replaced.
  ChunkResult again;
  again.detector_id = d;
  again.first_ts = 3600;
  again.next_watermark = 7200;
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    again.points.push_back(point(ids[static_cast<size_t>(i)], 3600, i + 7));
  }
  ASSERT_TRUE(store_->CommitChunk(again).ok());
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    auto got = *store_->ListPoints(ids[static_cast<size_t>(i)], 0, 1 << 20);
    ASSERT_EQ(got.size(), 2u) << i;
    for (const auto& [p, want] : {std::pair(got[0], point(ids[static_cast<size_t>(i)], 3600, i + 7)),
                                  std::pair(got[1], point(ids[static_cast<size_t>(i)], 7200, i + 2))}) {
      EXPECT_EQ(p.ts, want.ts) << i;
      EXPECT_EQ(p.value, want.value) << i;
      EXPECT_EQ(p.expected, want.expected) << i;
      EXPECT_EQ(p.lower, want.lower) << i;
      EXPECT_EQ(p.upper, want.upper) << i;
      EXPECT_EQ(p.severity, want.severity) << i;
    }
  }
  // A chunk of a whole day writes a block per series (as many in a
  // statement): each series' values come back exactly, in order.
  ChunkResult day;
  day.detector_id = d;
  day.first_ts = 86400;
  day.next_watermark = 2 * 86400;
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    for (int h = 0; h < 24; ++h)
      day.points.push_back(point(ids[static_cast<size_t>(i)], 86400 + h * 3600, i + h));
  }
  // The rest of the first day closes it: each series' head rows and the
  // chunk's point are sealed as its block, and the head rows are deleted
  // (those of consecutive series with one statement).
  ChunkResult close;
  close.detector_id = d;
  close.first_ts = 10800;
  close.next_watermark = 86400;
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    close.points.push_back(point(ids[static_cast<size_t>(i)], 10800, i + 3));
  }
  ASSERT_TRUE(store_->CommitChunk(close).ok());
  if (GetParam() == "sqlite") {
    EXPECT_EQ(CountRows("points"), 0);
  }
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    auto got = *store_->ListPoints(ids[static_cast<size_t>(i)], 0, 86400);
    ASSERT_EQ(got.size(), 3u) << i;
    EXPECT_EQ(got[0].value, point(ids[static_cast<size_t>(i)], 3600, i + 7).value) << i;
    EXPECT_EQ(got[1].value, point(ids[static_cast<size_t>(i)], 7200, i + 2).value) << i;
    EXPECT_EQ(got[2].value, point(ids[static_cast<size_t>(i)], 10800, i + 3).value) << i;
  }
  ASSERT_TRUE(store_->CommitChunk(day).ok());
  for (int i = 0; i < static_cast<int>(ids.size()); ++i) {
    auto got = *store_->ListPoints(ids[static_cast<size_t>(i)], 86400, 2 * 86400);
    ASSERT_EQ(got.size(), 24u) << i;
    for (int h = 0; h < 24; ++h) {
      const PointRecord want = point(ids[static_cast<size_t>(i)], 86400 + h * 3600, i + h);
      EXPECT_EQ(got[static_cast<size_t>(h)].ts, want.ts) << i;
      EXPECT_EQ(got[static_cast<size_t>(h)].value, want.value) << i << " " << h;
      EXPECT_EQ(got[static_cast<size_t>(h)].expected.has_value(), want.expected.has_value()) << i << " " << h;
    }
  }
}

TEST_P(StoreTest, ModelStateKeepsEveryByte) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  ChunkResult c = Chunk(d, s, 3600, 40);
  c.model_states[s] = bytes;
  c.points[0].expected.reset();
  c.points[0].value = 0.1 + 0.2;  // not exactly representable in short decimal
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(s), bytes);
  auto points = *store_->ListPoints(s, 0, 1LL << 40);
  ASSERT_EQ(points.size(), 1u);
  EXPECT_EQ(points[0].value, 0.1 + 0.2);
  EXPECT_FALSE(points[0].expected.has_value());
}

// A detector file with the given dimensions, as the export reads them.
std::string DetectorYaml(const std::string& name, const std::string& dims) {
  return "name: " + name +
         "\nfrequency: PT1H\nsource: {path: x.db}\n"
         "query: select * from t where d >= {{interval_start}} and d < {{interval_end}}\n"
         "dimensions: [" +
         dims + "]\nmeasures: [{name: orders}, {name: revenue}]\n";
}

// Runs the CSV export into a temporary file and reads it back with the CSV
// reader: the header, then the rows.
std::vector<std::vector<std::string>> ExportRows(Store& store, const CsvExportOptions& o) {
  std::FILE* f = std::tmpfile();
  EXPECT_NE(f, nullptr);
  auto rows = ExportScoredPointsCsv(store, o, f);
  EXPECT_TRUE(rows.ok()) << rows.status().ToString();
  std::string text;
  std::rewind(f);
  char buf[4096];
  for (size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  std::fclose(f);
  std::istringstream in(text);
  CsvReader reader(in, "export.csv");
  std::vector<std::vector<std::string>> out;
  std::vector<std::string> fields;
  while (true) {
    auto more = reader.Next(fields);
    EXPECT_TRUE(more.ok()) << more.status().ToString();
    if (!more.ok() || !*more) break;
    out.push_back(fields);
  }
  EXPECT_EQ(static_cast<int64_t>(out.size()), rows.ok() ? *rows + 1 : -1);  // + header
  return out;
}

// Points of one series over `n` hours: every 7th missing, the first 5 warming
// up (no severity), values that short decimals cannot hold exactly.
std::vector<PointRecord> SeriesPoints(int64_t series, int64_t t0, int n, double scale) {
  std::vector<PointRecord> out;
  for (int i = 0; i < n; ++i) {
    PointRecord p;
    p.series_id = series;
    p.ts = t0 + i * 3600;
    if (i % 7 == 3) {  // missing: no value, never scored
      out.push_back(p);
      continue;
    }
    p.value = scale * (i + 1.0 / 3.0);
    if (i >= 5) {
      p.expected = scale * i;
      p.lower = scale * (i - 0.7);
      p.upper = scale * (i + 0.7);
      p.severity = (i * 37 % 101) + 0.25;
    }
    out.push_back(p);
  }
  return out;
}

TEST_P(StoreTest, ExportRoundTripsEveryScoredPointOnce) {
  const int64_t t0 = 1601510400;  // 2020-10-01T00:00:00Z
  int64_t shop = *store_->UpsertDetector("shop", DetectorYaml("shop", "region, channel"));
  // A leaf whose values need quoting, a roll-up over channel, the total.
  int64_t leaf = *store_->EnsureSeries(shop, "orders", R"({"channel":"web","region":"West, \"Coast\""})",
                                       "orders{region=West, channel=web}");
  int64_t rollup = *store_->EnsureSeries(shop, "orders", R"({"region":"East"})", "orders{region=East}");
  int64_t total = *store_->EnsureSeries(shop, "revenue", "{}", "revenue");
  ChunkResult c;
  c.detector_id = shop;
  c.first_ts = t0;
  c.next_watermark = t0 + 60 * 3600;
  std::map<int64_t, std::vector<std::string>> dims_of = {{leaf, {"West, \"Coast\"", "web", "orders"}},
                                                         {rollup, {"East", "", "orders"}},
                                                         {total, {"", "", "revenue"}}};
  double scale = 1.1;
  for (int64_t s : {leaf, rollup, total}) {
    for (const PointRecord& p : SeriesPoints(s, t0, 60, scale)) c.points.push_back(p);
    scale *= 3.7;
  }
  ASSERT_TRUE(store_->CommitChunk(c).ok());

  // What the store holds, read back point by point: the expected rows.
  auto expect_rows = [&](double min_severity, int64_t since, int64_t until, bool leaves_only) {
    std::map<std::pair<int64_t, int64_t>, PointRecord> out;
    for (int64_t s : {leaf, rollup, total}) {
      if (leaves_only && s != leaf) continue;
      for (const PointRecord& p : *store_->ListPoints(s, since, until)) {
        if (p.value && p.severity && *p.severity >= min_severity) out[{s, p.ts}] = p;
      }
    }
    return out;
  };
  auto check = [&](const CsvExportOptions& o) -> size_t {
    SCOPED_TRACE(::testing::Message()
                 << "min_severity " << o.min_severity << " leaves_only " << o.leaves_only);
    auto rows = ExportRows(*store_, o);
    if (rows.empty()) {
      ADD_FAILURE() << "no header";
      return 0;
    }
    EXPECT_EQ(rows[0], (std::vector<std::string>{"timestamp", "region", "channel", "measure", "value",
                                                 "expected", "lower", "upper", "severity"}));
    auto want = expect_rows(o.min_severity, o.since.value_or(0), o.until.value_or(1LL << 40), o.leaves_only);
    std::map<std::pair<int64_t, int64_t>, int> seen;
    for (size_t i = 1; i < rows.size(); ++i) {
      const auto& r = rows[i];
      auto ts = ParseInstant(r[0], TimeZone::Utc());
      if (r.size() != 9u || !ts.ok()) {
        ADD_FAILURE() << "bad row " << i;
        continue;
      }
      EXPECT_EQ(r[0].back(), 'Z');
      int64_t series = -1;
      for (const auto& [id, cells] : dims_of) {
        if (std::vector<std::string>(r.begin() + 1, r.begin() + 4) == cells) series = id;
      }
      if (series == -1) {
        ADD_FAILURE() << "unknown series " << r[1] << "|" << r[2] << "|" << r[3];
        continue;
      }
      auto key = std::make_pair(series, ToUnixSeconds(*ts));
      ++seen[key];
      auto it = want.find(key);
      if (it == want.end()) {
        ADD_FAILURE() << "exported a point the store does not select: " << r[0];
        continue;
      }
      EXPECT_EQ(std::strtod(r[4].c_str(), nullptr), *it->second.value);
      EXPECT_EQ(std::strtod(r[5].c_str(), nullptr), *it->second.expected);
      EXPECT_EQ(std::strtod(r[6].c_str(), nullptr), *it->second.lower);
      EXPECT_EQ(std::strtod(r[7].c_str(), nullptr), *it->second.upper);
      EXPECT_EQ(std::strtod(r[8].c_str(), nullptr), *it->second.severity);
    }
    EXPECT_EQ(seen.size(), want.size());
    for (const auto& [key, n] : seen) EXPECT_EQ(n, 1) << "series " << key.first << " ts " << key.second;
    return want.size();
  };

  CsvExportOptions all;  // min_severity 0: every scored point
  const size_t every = check(all);
  // 60 hours per series, 8 or 9 missing (i % 7 == 3), 5 warming up (one of them missing).
  EXPECT_EQ(every, 3u * (60 - 9 - 4));
  CsvExportOptions severe;
  severe.min_severity = 50.25;
  const size_t n_severe = check(severe);
  EXPECT_GT(n_severe, 0u);
  EXPECT_LT(n_severe, every);
  CsvExportOptions window;
  window.since = t0 + 10 * 3600;
  window.until = t0 + 20 * 3600;
  EXPECT_EQ(check(window), 3u * (10 - 2));  // hours 10..19; 10 and 17 are missing
  CsvExportOptions leaves;
  leaves.leaves_only = true;
  leaves.detector = "shop";
  EXPECT_EQ(check(leaves), every / 3);

  // A second detector: a detector column first, dimension columns the union
  // in first-seen order, detectors by name ("ops" before "shop").
  int64_t ops = *store_->UpsertDetector("ops", DetectorYaml("ops", "service"));
  int64_t svc = *store_->EnsureSeries(ops, "orders", R"({"service":"api"})", "orders{service=api}");
  ChunkResult c2;
  c2.detector_id = ops;
  c2.first_ts = t0;
  c2.next_watermark = t0 + 10 * 3600;
  c2.points = SeriesPoints(svc, t0, 10, 2.0);
  ASSERT_TRUE(store_->CommitChunk(c2).ok());
  auto both = ExportRows(*store_, {});
  ASSERT_FALSE(both.empty());
  EXPECT_EQ(both[0],
            (std::vector<std::string>{"detector", "timestamp", "service", "region", "channel", "measure",
                                      "value", "expected", "lower", "upper", "severity"}));
  int ops_rows = 0;
  for (size_t i = 1; i < both.size(); ++i) {
    if (both[i][0] != "ops") {
      EXPECT_EQ(both[i][0], "shop");
      EXPECT_EQ(both[i][2], "");  // shop has no service dimension
      continue;
    }
    EXPECT_EQ(ops_rows++, static_cast<int>(i) - 1);  // ops' rows come first
    EXPECT_EQ(both[i][2], "api");
    EXPECT_EQ(both[i][3], "");
    EXPECT_EQ(both[i][4], "");
  }
  EXPECT_EQ(ops_rows, 10 - 1 - 4);  // hour 3 missing, hours 0-4 (but 3) warming up
  EXPECT_EQ(both.size(), 1 + every + static_cast<size_t>(ops_rows));
  CsvExportOptions unknown;
  unknown.detector = "nope";
  EXPECT_EQ(ExportScoredPointsCsv(*store_, unknown, stdout).status().code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, ScoredPointStreamStopsAtTheCallersError) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  ChunkResult c;
  c.detector_id = d;
  c.first_ts = 0;
  c.next_watermark = 10000 * 3600;
  c.points = SeriesPoints(s, 0, 10000, 1.0);  // 8,567 scored: two PostgreSQL fetch batches
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  int calls = 0;
  int64_t last_ts = -1;
  ScoredPointQuery q;
  q.detector_id = d;
  Status st = store_->ForEachScoredPoint(q, [&](const PointRecord& p) -> Status {
    EXPECT_GT(p.ts, last_ts);  // time order
    last_ts = p.ts;
    return ++calls == 8300 ? Internal("enough") : Status::Ok();
  });
  EXPECT_EQ(st.message(), "enough");
  EXPECT_EQ(calls, 8300);
  // The store is usable afterwards, and a full pass sees every scored point.
  calls = 0;
  ASSERT_TRUE(store_
                  ->ForEachScoredPoint(q,
                                       [&](const PointRecord&) {
                                         ++calls;
                                         return Status::Ok();
                                       })
                  .ok());
  int want = 0;
  for (const PointRecord& p : c.points) want += p.value && p.severity ? 1 : 0;
  EXPECT_EQ(want, 8567);
  EXPECT_EQ(calls, want);
  EXPECT_EQ(store_->ListSeries(d)->size(), 1u);
}

TEST_P(StoreTest, StreamWithUnscoredVisitsEveryPointWithAValue) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  ChunkResult c;
  c.detector_id = d;
  c.first_ts = 0;
  c.next_watermark = 4 * 3600;
  c.points.push_back({s, 0, 1.0, {}, {}, {}, {}});              // warming up
  c.points.push_back({s, 3600, std::nullopt, {}, {}, {}, {}});  // missing
  c.points.push_back({s, 7200, 3.0, 3.0, 2.0, 4.0, 10.0});      // scored, low
  c.points.push_back({s, 10800, 4.0, 3.0, 2.0, 4.0, 90.0});     // scored, high
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  ScoredPointQuery q;
  q.detector_id = d;
  q.min_severity = 50;
  std::vector<int64_t> seen;
  auto collect = [&](const PointRecord& p) {
    seen.push_back(p.ts);
    return Status::Ok();
  };
  ASSERT_TRUE(store_->ForEachScoredPoint(q, collect).ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{10800}));
  seen.clear();
  q.with_unscored = true;
  q.until = 10800;
  ASSERT_TRUE(store_->ForEachScoredPoint(q, collect).ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{0, 7200}));
}

TEST_P(StoreTest, NewSeriesAreDurableBeforeAnythingElseIsWritten) {
  int64_t d = *store_->UpsertDetector("shop", "");
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back(*store_->EnsureSeries(d, "orders", fmt::format("{{\"item\":\"i{}\"}}", i),
                                        fmt::format("orders{{item=i{}}}", i)));
  }
  EXPECT_EQ(store_->ListSeries(d)->size(), 3u);  // this store sees them at once
  // The next write commits them before its own: another connection sees
  // them, and a chunk referring to them commits.
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, ids[2], 1601510400, 40)).ok());
  {
    auto other = OpenStore(target_);
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    EXPECT_EQ((*other)->ListSeries(d)->size(), 3u);
  }
  // A series created last, with no write after it, survives closing.
  const int64_t last = *store_->EnsureSeries(d, "orders", "{}", "orders");
  store_.reset();
  store_ = std::move(OpenStore(target_)).value();
  auto series = *store_->ListSeries(d);
  ASSERT_EQ(series.size(), 4u);
  EXPECT_EQ(series.back().id, last);
  EXPECT_EQ(*store_->EnsureSeries(d, "orders", "{}", "orders"), last);
}

TEST_P(StoreTest, OutboxRowsCommitWithTheirGroupAndTrackDelivery) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ChunkResult c = Chunk(d, s, 7200, 40);
  OutboxRecord o = Trigger();
  c.outbox.push_back(o);
  c.alert_states.push_back({"oncall", "views", "{\"open\":true}"});
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  auto rows = *store_->ListOutbox({});
  ASSERT_EQ(rows.size(), 1u);
  const int64_t group_id = store_->ListGroups({})->at(0).id;
  EXPECT_EQ(rows[0].group_id, group_id);
  EXPECT_EQ(rows[0].idempotency_key, std::to_string(group_id) + ".oncall");
  EXPECT_EQ(rows[0].status, "pending");
  EXPECT_EQ(rows[0].detector, "ecommerce");
  EXPECT_EQ(rows[0].group_ts, 7200);
  auto states = *store_->LoadAlertStates(d);
  ASSERT_EQ(states.size(), 1u);
  EXPECT_EQ(states[0].state, "{\"open\":true}");

  rows[0].status = "delivered";
  rows[0].attempts = 2;
  rows[0].delivered_at = 11000;
  ASSERT_TRUE(store_->UpdateOutbox(rows[0]).ok());
  auto delivered =
      *store_->ListOutbox({std::nullopt, std::string("delivered"), 10, false, 0, std::nullopt, std::nullopt});
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].attempts, 2);
  EXPECT_EQ(delivered[0].delivered_at, 11000);
  EXPECT_TRUE(
      store_->ListOutbox({std::nullopt, std::string("pending"), 10, false, 0, std::nullopt, std::nullopt})
          ->empty());
  EXPECT_EQ(*store_->CountOutbox(
                {std::nullopt, std::string("delivered"), 10, false, 0, std::nullopt, std::nullopt}),
            1);
  EXPECT_EQ(
      *store_->CountOutbox({std::string("other"), std::nullopt, 10, false, 0, std::nullopt, std::nullopt}),
      0);
  EXPECT_TRUE(store_->ListOutbox({std::nullopt, std::nullopt, 10, false, 1, std::nullopt, std::nullopt})
                  ->empty());  // offset
  StoreTotals t = *store_->Totals();
  EXPECT_EQ(t.alerts_delivered, 1);
  EXPECT_EQ(t.alerts_pending, 0);
  EXPECT_EQ(t.delivery_attempts, 2);

  // A row naming a group that does not exist fails the whole chunk.
  ChunkResult bad = Chunk(d, s, 10800, 40);
  o.group_ts = 99;
  bad.outbox.push_back(o);
  EXPECT_FALSE(store_->CommitChunk(bad).ok());
  EXPECT_EQ(*store_->GetWatermark(d), 10800);
}

TEST_P(StoreTest, NoDataMessagesNeedNoGroupAndAreQueuedOnce) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ChunkResult c;
  c.detector_id = d;
  c.first_ts = 7200;
  c.next_watermark = 7200 + 3 * 3600;
  for (int64_t ts = 7200; ts < c.next_watermark; ts += 3600) {
    c.points.push_back({s, ts, std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    c.quality.push_back({ts, 0, 0, 0, 0, 1, R"({"no_data":true})"});
  }
  OutboxRecord o;
  o.alert = "feed";
  o.kind = "no_data";
  o.group_ts = 7200 + 2 * 3600;
  o.incident_ts = 7200;
  o.created_at = 7200 + 3 * 3600;
  c.outbox.push_back(o);
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  ASSERT_TRUE(store_->CommitChunk(c).ok());  // a re-run queues nothing twice
  auto points = *store_->ListPoints(s, 0, 1 << 30);
  ASSERT_EQ(points.size(), 3u);
  for (const auto& p : points) EXPECT_FALSE(p.value.has_value()) << "a missing value is stored as NULL";
  ChunkResult back;
  back.detector_id = d;
  back.first_ts = c.next_watermark;
  back.next_watermark = back.first_ts + 3600;
  o.kind = "no_data_resolve";
  o.group_ts = back.first_ts;
  o.created_at = back.next_watermark;
  back.outbox.push_back(o);
  ASSERT_TRUE(store_->CommitChunk(back).ok());
  auto rows = *store_->ListOutbox({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].kind, "no_data");
  EXPECT_EQ(rows[0].group_id, 0);
  EXPECT_EQ(rows[0].incident_ts, 7200);
  EXPECT_EQ(rows[0].idempotency_key, fmt::format("nodata.{}.feed.7200", d));
  EXPECT_EQ(rows[1].kind, "no_data_resolve");
  EXPECT_EQ(rows[1].idempotency_key, fmt::format("nodata.{}.feed.7200.resolved", d));
  EXPECT_EQ(*store_->CountOutbox({}), 2);
  rows[0].status = "delivered";
  ASSERT_TRUE(store_->UpdateOutbox(rows[0]).ok());
  EXPECT_EQ(store_->Totals()->alerts_delivered, 1);
}

TEST_P(StoreTest, RerunKeepsGroupIdsSoNoAlertIsQueuedTwice) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  OutboxRecord o;
  o.alert = "oncall";
  o.kind = "trigger";
  o.measure = "views";
  o.group_ts = 7200;
  o.incident_ts = 7200;
  o.severity = 90;
  o.created_at = 10800;
  ChunkResult c = Chunk(d, s, 7200, 40);
  c.outbox.push_back(o);
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  const int64_t group_id = store_->ListGroups({})->at(0).id;
  // The same interval again, restated with another value and severity.
  ChunkResult again = Chunk(d, s, 7200, 80);
  again.groups[0].severity = 99;
  o.kind = "update";
  again.outbox.push_back(o);
  ASSERT_TRUE(store_->CommitChunk(again).ok());
  auto groups = *store_->ListGroups({});
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(groups[0].id, group_id);
  EXPECT_EQ(groups[0].severity, 99);
  EXPECT_EQ(store_->ListAnomalies(group_id)->at(0).value, 80);
  auto rows = *store_->ListOutbox({});
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].kind, "trigger");
  // A re-run without the group deletes it and its pending message.
  ChunkResult gone = Chunk(d, s, 7200, 12);
  gone.groups.clear();
  gone.anomalies.clear();
  ASSERT_TRUE(store_->CommitChunk(gone).ok());
  EXPECT_TRUE(store_->ListGroups({})->empty());
  EXPECT_TRUE(store_->ListOutbox({})->empty());
}

TEST_P(StoreTest, SnapshotsAndStatusRoundTrip) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  for (int64_t ts : {0, 3600, 7200}) {
    ChunkResult c = Chunk(d, s, ts, 40);
    c.snapshots.push_back(
        {ts, {{s, std::string("m\0", 2) + std::to_string(ts)}}, {{"oncall", "views", "{}"}}});
    c.prune_snapshots_before = ts - 3600;
    ASSERT_TRUE(store_->CommitChunk(c).ok());
  }
  EXPECT_EQ(*store_->ListSnapshotTimes(d), (std::vector<int64_t>{3600, 7200}));
  auto snap = *store_->LoadSnapshot(d, 3600);
  EXPECT_EQ(snap.model_states.at(s), std::string("m\0", 2) + "3600");
  ASSERT_EQ(snap.alert_states.size(), 1u);
  EXPECT_EQ(store_->LoadSnapshot(d, 0).status().code(), StatusCode::kNotFound);

  DetectorStatusRecord r;
  r.detector_id = d;
  r.state = "failing";
  r.last_error = "warehouse: connection refused";
  r.retries = 3;
  r.next_run_at = 1000;
  r.live_from = 7200;
  ASSERT_TRUE(store_->PutDetectorStatus(r).ok());
  auto rows = *store_->ListDetectorStatus();
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].detector, "ecommerce");
  EXPECT_EQ(rows[0].state, "failing");
  EXPECT_EQ(rows[0].retries, 3);
  EXPECT_EQ(rows[0].next_run_at, 1000);
  EXPECT_FALSE(rows[0].last_run_at.has_value());
  EXPECT_EQ(rows[0].live_from, 7200);
}

TEST_P(StoreTest, FeedbackIsStoredAndSurvivesReplacedGroups) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 7200, 40)).ok());
  FeedbackRecord f;
  f.detector_id = d;
  f.group_id = store_->ListGroups({})->at(0).id;
  f.series_id = s;
  f.ts = 7200;
  f.relevant = false;
  f.direction = "up";
  f.value = 40;
  f.expected = 10;
  f.created_at = 20000;
  ASSERT_TRUE(store_->AddFeedback(f).ok());
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 7200, 41)).ok());  // replaces the group
  auto all = *store_->ListFeedback(d);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_FALSE(all[0].relevant);
  EXPECT_EQ(all[0].value, 40);
  EXPECT_EQ(all[0].label, "views");
}

TEST_P(StoreTest, DetectorsCanBeDeactivatedAndDeleted) {
  int64_t d = *store_->UpsertDetector("ecommerce", "x");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 1000 * 3600, 40)).ok());
  EXPECT_TRUE(store_->GetDetector("ecommerce")->active);
  ASSERT_TRUE(store_->SetDetectorActive("ecommerce", false).ok());
  EXPECT_FALSE(store_->GetDetector("ecommerce")->active);
  EXPECT_EQ(store_->SetDetectorActive("nope", true).code(), StatusCode::kNotFound);
  ASSERT_TRUE(store_->DeleteDetector("ecommerce").ok());
  EXPECT_EQ(store_->GetDetector("ecommerce").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ListGroups({})->empty());
  EXPECT_EQ(store_->DeleteDetector("ecommerce").code(), StatusCode::kNotFound);
}

TEST_P(StoreTest, CountsAndSortsGroups) {
  int64_t d = *store_->UpsertDetector("ecommerce", "x");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  for (int i = 0; i < 5; ++i) {
    auto c = Chunk(d, s, (1000 + i) * 3600, 40);
    c.groups[0].severity = 60 + (i * 7) % 5 * 5;
    ASSERT_TRUE(store_->CommitChunk(c).ok());
  }
  GroupQuery q;
  q.limit = 2;
  EXPECT_EQ(*store_->CountGroups(q), 5);
  q.min_severity = 70;
  EXPECT_EQ(*store_->CountGroups(q), 3);
  q.by_severity = true;
  q.min_severity = 0;
  auto groups = *store_->ListGroups(q);
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_GE(groups[0].severity, groups[1].severity);
  auto totals = *store_->Totals();
  EXPECT_EQ(totals.detectors, 1);
  EXPECT_EQ(totals.groups, 5);
}

TEST_P(StoreTest, IncidentFiguresFollowRerunsAndResets) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  const int64_t t0 = 1000 * 3600;
  auto commit = [&](int k, double severity) {
    ChunkResult c = Chunk(d, s, t0 + k * 3600, 40);
    c.groups[0].severity = severity;
    c.groups[0].incident_ts = t0;  // one incident from t0 on
    ASSERT_TRUE(store_->CommitChunk(c).ok());
  };
  commit(0, 60);
  commit(1, 90);
  commit(2, 70);
  GroupQuery incidents;
  incidents.incidents_only = true;
  auto top = *store_->ListGroups(incidents);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].ts, t0 + 3600);  // the most severe group
  EXPECT_EQ(top[0].incident_ts, t0);
  EXPECT_EQ(top[0].incident_end_ts, t0 + 3 * 3600);
  EXPECT_EQ(top[0].incident_intervals, 3);
  EXPECT_EQ(top[0].incident_severity, 90);
  EXPECT_EQ(*store_->CountGroups(incidents), 1);
  EXPECT_EQ(*store_->CountGroups({}), 3);
  for (const GroupRecord& g : *store_->ListGroups({})) EXPECT_EQ(g.incident_intervals, 3);
  EXPECT_EQ(store_->GetGroup(top[0].id)->incident_severity, 90);
  // Re-scored lower: the last group is the incident's most severe now.
  commit(1, 50);
  top = *store_->ListGroups(incidents);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].ts, t0 + 2 * 3600);
  EXPECT_EQ(top[0].incident_severity, 70);
  // Filters apply to that group: its severity, and its time (the incident
  // list's time order and range follow the top group's time).
  incidents.min_severity = 80;
  EXPECT_TRUE(store_->ListGroups(incidents)->empty());
  incidents.min_severity = 0;
  for (bool newest_first : {true, false}) {
    GroupQuery range = incidents;
    range.newest_first = newest_first;
    range.since = t0 + 2 * 3600;
    EXPECT_EQ(store_->ListGroups(range)->size(), 1u);
    EXPECT_EQ(*store_->CountGroups(range), 1);
    range.since = t0 + 3600;
    range.until = t0 + 2 * 3600;
    EXPECT_TRUE(store_->ListGroups(range)->empty());
    EXPECT_EQ(*store_->CountGroups(range), 0);
    // The keyset after the top group: nothing more.
    range.since.reset();
    range.until.reset();
    range.after = GroupKey{top[0].ts, top[0].severity, top[0].id};
    EXPECT_TRUE(store_->ListGroups(range)->empty());
  }
  // A reset shortens the incident; a reset before it removes it.
  ASSERT_TRUE(store_->ResetFrom(d, t0 + 2 * 3600).ok());
  top = *store_->ListGroups(incidents);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].ts, t0);
  EXPECT_EQ(top[0].incident_end_ts, t0 + 2 * 3600);
  EXPECT_EQ(top[0].incident_intervals, 2);
  EXPECT_EQ(top[0].incident_severity, 60);
  ASSERT_TRUE(store_->ResetFrom(d, t0).ok());
  EXPECT_TRUE(store_->ListGroups(incidents)->empty());
  EXPECT_EQ(*store_->CountGroups(incidents), 0);
}

// Groups of three measures, two per interval with the same severity (ties on
// ts and severity), committed one interval per chunk from interval `from`.
void CommitTiedGroups(Store& store, int64_t detector, const std::vector<int64_t>& series, int from, int to) {
  const int64_t t0 = 2000 * 3600;
  const char* measures[] = {"views", "orders", "revenue"};
  for (int k = from; k < to; ++k) {
    ChunkResult c;
    c.detector_id = detector;
    c.first_ts = t0 + k * 3600;
    c.next_watermark = c.first_ts + 3600;
    for (int m = 0; m < 3; ++m) {
      // views and orders tie; severity repeats every third interval.
      const double severity = 50 + (k % 3) * 10 + (m == 2 ? 5 : 0);
      c.groups.push_back(
          {0, detector, "", measures[m], c.first_ts, c.first_ts + 3600, severity, 1, "{}", "[]", "[]"});
      AnomalyRecord a;
      a.series_id = series[static_cast<size_t>(m)];
      a.ts = c.first_ts;
      a.value = 1;
      a.severity = severity;
      a.direction = "up";
      a.explanation = "spike";
      a.group_index = m;
      c.anomalies.push_back(a);
    }
    ASSERT_TRUE(store.CommitChunk(c).ok());
  }
}

// Reads q page by page (limit `page`), each page after the last group of
// the one before; `between` runs after each page.
std::vector<int64_t> ReadByKeyset(
    Store& store, GroupQuery q, int64_t page, const std::function<void()>& between = [] {}) {
  std::vector<int64_t> ids;
  q.limit = page;
  for (int pages = 0; pages < 1000; ++pages) {
    auto groups = store.ListGroups(q);
    EXPECT_TRUE(groups.ok()) << groups.status().ToString();
    if (!groups.ok() || groups->empty()) break;
    for (const auto& g : *groups) ids.push_back(g.id);
    q.after = GroupKey{groups->back().ts, groups->back().severity, groups->back().id};
    between();
  }
  return ids;
}

std::vector<int64_t> Ids(const std::vector<GroupRecord>& groups) {
  std::vector<int64_t> ids;
  for (const auto& g : groups) ids.push_back(g.id);
  return ids;
}

TEST_P(StoreTest, KeysetPagesReadEveryGroupOnceInOrderWithTiesAndFilters) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  int64_t other = *store_->UpsertDetector("other", "");
  std::vector<int64_t> series;
  for (const char* m : {"views", "orders", "revenue"}) series.push_back(*store_->EnsureSeries(d, m, "{}", m));
  std::vector<int64_t> other_series;
  for (const char* m : {"views", "orders", "revenue"}) {
    other_series.push_back(*store_->EnsureSeries(other, m, "{}", m));
  }
  CommitTiedGroups(*store_, d, series, 0, 12);
  CommitTiedGroups(*store_, other, other_series, 3, 7);
  struct Case {
    const char* name;
    GroupQuery q;
  };
  std::vector<Case> cases;
  for (int order = 0; order < 3; ++order) {
    GroupQuery q;
    q.newest_first = order != 1;
    q.by_severity = order == 2;
    cases.push_back({"all", q});
    GroupQuery f = q;
    f.detector = "ecommerce";
    f.min_severity = 60;
    cases.push_back({"detector and min_severity", f});
    GroupQuery m = q;
    m.measure = "views";
    m.since = 2002 * 3600;
    m.until = 2010 * 3600;
    cases.push_back({"measure and range", m});
    GroupQuery i = q;
    i.incidents_only = true;
    cases.push_back({"incidents", i});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(::testing::Message() << c.name << (c.q.by_severity ? " by severity" : "")
                                      << (c.q.newest_first ? " newest first" : " oldest first"));
    GroupQuery all = c.q;
    all.limit = -1;
    const std::vector<int64_t> expected = Ids(*store_->ListGroups(all));
    ASSERT_FALSE(expected.empty());
    for (int64_t page : {1, 2, 5}) EXPECT_EQ(ReadByKeyset(*store_, c.q, page), expected) << "page " << page;
    // The same order the offset pages give.
    GroupQuery second = all;
    second.limit = 4;
    second.offset = 4;
    EXPECT_EQ(Ids(*store_->ListGroups(second)),
              std::vector<int64_t>(expected.begin() + std::min<size_t>(4, expected.size()),
                                   expected.begin() + std::min<size_t>(8, expected.size())));
    GroupQuery capped = c.q;
    capped.count_at_most = 3;
    EXPECT_EQ(*store_->CountGroups(capped), std::min<int64_t>(3, static_cast<int64_t>(expected.size())));
    capped.count_at_most.reset();
    EXPECT_EQ(*store_->CountGroups(capped), static_cast<int64_t>(expected.size()));
  }
}

TEST_P(StoreTest, KeysetPagesSkipAndRepeatNothingWhileGroupsArrive) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> series;
  for (const char* m : {"views", "orders", "revenue"}) series.push_back(*store_->EnsureSeries(d, m, "{}", m));
  CommitTiedGroups(*store_, d, series, 0, 10);
  GroupQuery q;
  q.limit = -1;
  const std::vector<int64_t> before = Ids(*store_->ListGroups(q));
  // Newest first: later intervals arrive between pages; they come before
  // the cursor, so the pages read exactly the groups there were.
  int next = 10;
  auto arrive = [&] {
    CommitTiedGroups(*store_, d, series, next, next + 1);
    ++next;
  };
  EXPECT_EQ(ReadByKeyset(*store_, q, 4, arrive), before);
  // Oldest first: what arrives comes after, once, at the end.
  GroupQuery asc;
  asc.newest_first = false;
  std::vector<int64_t> read = ReadByKeyset(*store_, asc, 4, [&] {
    if (next < 20) arrive();
  });
  asc.limit = -1;
  EXPECT_EQ(read, Ids(*store_->ListGroups(asc)));
  EXPECT_EQ(std::set<int64_t>(read.begin(), read.end()).size(), read.size());
}

TEST_P(StoreTest, AStoreFromBeforeTheListIndexesMigratesAndKeepsItsGroups) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> series;
  for (const char* m : {"views", "orders", "revenue"}) series.push_back(*store_->EnsureSeries(d, m, "{}", m));
  CommitTiedGroups(*store_, d, series, 0, 4);
  GroupQuery q;
  q.by_severity = true;
  const std::vector<int64_t> expected = Ids(*store_->ListGroups(q));
  ChunkResult states;  // a model state stored before the migrations
  states.detector_id = d;
  states.model_states[series[0]] = std::string(100, 's');
  ASSERT_TRUE(store_->CommitChunk(states).ok());
  store_.reset();
  // Back to the schema before the list indexes (SQLite 9, PostgreSQL 10).
  const int before = GetParam() == "postgres" ? 10 : 9;
  Status s = RawExec(
      "drop table if exists model_state_delta; "  // SQLite 13, PostgreSQL 15
      "drop table if exists shard_watermarks; drop table if exists shard_scores; "    // PostgreSQL's 13
      "drop index incidents_by_top_time; alter table incidents drop column top_ts; "  // SQLite 12, PostgreSQL
                                                                                      // 14
      "drop table point_blocks; drop index anomaly_groups_by_detector_time; drop index "
      "anomaly_groups_by_severity; "
      "drop index incidents_by_start; drop index incidents_by_detector_start; drop index "
      "incidents_by_severity; "
      "drop index incidents_by_span; drop index alert_outbox_by_detector; "
      "create index anomaly_groups_by_severity on anomaly_groups(severity); "
      "delete from schema_migrations where version > " +
      std::to_string(before));
  if (s.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << s.message();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto reopened = OpenStore(target_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(reopened).value();
  EXPECT_EQ(Ids(*store_->ListGroups(q)), expected);
  EXPECT_EQ(ReadByKeyset(*store_, q, 5), expected);
  EXPECT_EQ(*store_->GetLongestMeasureIncident(), 3600);
  // The state loads as it was, and a paged chunk stores its changes.
  EXPECT_EQ(store_->LoadModelStates(d)->at(series[0]), std::string(100, 's'));
  ChunkResult next;
  next.detector_id = d;
  ASSERT_TRUE(store_
                  ->CommitScoredChunk(next,
                                      [&](Store::ModelStateAccess& io) {
                                        OSPREY_RETURN_IF_ERROR(
                                            io.Read(series[0], series[0],
                                                    [](int64_t, std::string_view) { return Status::Ok(); }));
                                        return io.Write(series[0], std::string(99, 's') + "t");
                                      })
                  .ok());
  EXPECT_EQ(store_->LoadModelStates(d)->at(series[0]), std::string(99, 's') + "t");
  EXPECT_EQ(DeltaRows(), GetParam() == "postgres" ? -1 : 1);
}

// Hourly points of `series` from t0: value(h) (nullopt: missing), a model
// view from hour 3 on (warm-up before), severities with two decimals and more.
template <typename F>
std::vector<PointRecord> Hourly(int64_t series, int64_t t0, int hours, F value) {
  std::vector<PointRecord> out;
  for (int h = 0; h < hours; ++h) {
    PointRecord p;
    p.series_id = series;
    p.ts = t0 + h * 3600;
    p.value = value(h);
    if (h >= 3) {
      const double e = 500 + 200 * std::sin(h / 24.0 * 6.2831853);
      p.expected = e;
      p.lower = e - 40.123;
      p.upper = e + 41.987654;
      p.severity = std::fabs(std::cos(h * 0.7)) * 4.321;
    }
    out.push_back(p);
  }
  return out;
}

// `got` is `want`: same points, values bit for bit, nulls kept, the
// model's view within its documented precision (point_block.h).
void ExpectStoredPoints(const std::vector<PointRecord>& want, const std::vector<PointRecord>& got) {
  ASSERT_EQ(got.size(), want.size());
  std::map<int64_t, double> max_abs;  // per day
  for (const PointRecord& p : want) {
    for (auto f : {&PointRecord::expected, &PointRecord::lower, &PointRecord::upper}) {
      if (p.*f) max_abs[PointBlockStart(p.ts)] = std::max(max_abs[PointBlockStart(p.ts)], std::fabs(*(p.*f)));
    }
  }
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(::testing::Message() << "series " << want[i].series_id << " ts " << want[i].ts);
    EXPECT_EQ(got[i].series_id, want[i].series_id);
    EXPECT_EQ(got[i].ts, want[i].ts);
    ASSERT_EQ(got[i].value.has_value(), want[i].value.has_value());
    if (want[i].value) {
      EXPECT_EQ(std::bit_cast<uint64_t>(*got[i].value), std::bit_cast<uint64_t>(*want[i].value))
          << *want[i].value << " came back as " << *got[i].value;
    }
    const double bound = max_abs[PointBlockStart(want[i].ts)] * std::ldexp(1.0, -(kBandPrecisionBits + 1));
    for (auto f : {&PointRecord::expected, &PointRecord::lower, &PointRecord::upper}) {
      ASSERT_EQ((got[i].*f).has_value(), (want[i].*f).has_value());
      if (want[i].*f) {
        EXPECT_LE(std::fabs(*(got[i].*f) - *(want[i].*f)), bound);
      }
    }
    ASSERT_EQ(got[i].severity.has_value(), want[i].severity.has_value());
    if (want[i].severity) {
      EXPECT_LE(std::fabs(*got[i].severity - *want[i].severity), kSeverityQuantum / 2 + 1e-12);
    }
  }
}

ChunkResult PointChunk(int64_t detector, int64_t first_ts, int64_t next_watermark,
                       const std::vector<PointRecord>& points) {
  ChunkResult c;
  c.detector_id = detector;
  c.first_ts = first_ts;
  c.next_watermark = next_watermark;
  c.points = points;
  return c;
}

constexpr int64_t kDay0 = 1601510400;  // 2020-10-01T00:00:00Z, a UTC day
constexpr int64_t kH = 3600;

TEST_P(StoreTest, PointsOfClosedDaysComeBackFromBlocksExactly) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t counts = *store_->EnsureSeries(d, "orders", "{}", "orders");
  int64_t cents = *store_->EnsureSeries(d, "revenue", "{}", "revenue");
  int64_t doubles = *store_->EnsureSeries(d, "ratio", "{}", "ratio");
  // Three closed days and two hours of a fourth in one chunk (a backtest).
  const int hours = 74;
  std::map<int64_t, std::vector<PointRecord>> want;
  want[counts] =
      Hourly(counts, kDay0, hours, [](int h) { return std::optional<double>(1000 + h * 37 % 101); });
  want[cents] = Hourly(cents, kDay0, hours, [](int h) {
    return h % 11 == 5 ? std::nullopt : std::optional<double>(12.34 + h * 0.07);
  });
  want[doubles] =
      Hourly(doubles, kDay0, hours, [](int h) { return std::optional<double>(std::sqrt(h + 0.5) / 3); });
  std::vector<PointRecord> all;
  for (const auto& [s, points] : want) all.insert(all.end(), points.begin(), points.end());
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0, kDay0 + hours * kH, all)).ok());
  for (const auto& [s, points] : want) {
    ExpectStoredPoints(points, *store_->ListPoints(s, 0, 1LL << 40));
    // A range inside: only its points.
    std::vector<PointRecord> part(points.begin() + 30, points.begin() + 73);
    ExpectStoredPoints(part, *store_->ListPoints(s, kDay0 + 30 * kH, kDay0 + 73 * kH));
  }
  // The export: series by series, each in time order, blocks and head rows alike.
  std::vector<PointRecord> seen;
  ScoredPointQuery q;
  q.detector_id = d;
  q.with_unscored = true;
  ASSERT_TRUE(store_
                  ->ForEachScoredPoint(q,
                                       [&](const PointRecord& p) {
                                         seen.push_back(p);
                                         return Status::Ok();
                                       })
                  .ok());
  std::vector<PointRecord> with_value;
  for (const PointRecord& p : all) {
    if (p.value) with_value.push_back(p);
  }
  ExpectStoredPoints(with_value, seen);
  // A corrupt block is an error naming it, not a crash; the open day's rows
  // are not in blocks and still read.
  Status s = RawExec("update point_blocks set data = substr(data, 1, 3)");
  if (s.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << s.message();
  ASSERT_TRUE(s.ok()) << s.ToString();
  auto broken = store_->ListPoints(counts, kDay0, kDay0 + kH);
  ASSERT_EQ(broken.status().code(), StatusCode::kDataLoss) << broken.status().ToString();
  EXPECT_NE(broken.status().message().find(fmt::format("series {} starting 2020-10-01T00:00:00Z", counts)),
            std::string::npos)
      << broken.status().message();
  EXPECT_EQ(store_->ForEachScoredPoint(q, [](const PointRecord&) { return Status::Ok(); }).code(),
            StatusCode::kDataLoss);
  ExpectStoredPoints(std::vector<PointRecord>(want[counts].begin() + 72, want[counts].end()),
                     *store_->ListPoints(counts, kDay0 + 72 * kH, kDay0 + 80 * kH));
}

TEST_P(StoreTest, LiveIntervalsSealTheirDayWhenItCloses) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  // A series whose rows stop early in the day: the chunk that closes the
  // day has none of its points, and its day is sealed all the same.
  int64_t early = *store_->EnsureSeries(d, "refunds", "{}", "refunds");
  auto want = Hourly(s, kDay0, 30, [](int h) { return std::optional<double>(h * 3); });
  auto want_early = Hourly(early, kDay0, 6, [](int h) { return std::optional<double>(h + 0.25); });
  for (const PointRecord& p : want) {
    std::vector<PointRecord> points = {p};
    if (p.ts < kDay0 + 6 * kH) points.push_back(want_early[static_cast<size_t>((p.ts - kDay0) / kH)]);
    ASSERT_TRUE(store_->CommitChunk(PointChunk(d, p.ts, p.ts + kH, points)).ok());
  }
  ExpectStoredPoints(want, *store_->ListPoints(s, kDay0, kDay0 + 30 * kH));
  ExpectStoredPoints(want_early, *store_->ListPoints(early, kDay0, kDay0 + 30 * kH));
  Status st = RawExec("update point_blocks set data = substr(data, 1, 3)");
  if (st.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << st.message();
  ASSERT_TRUE(st.ok()) << st.ToString();
  // The first day is a block; the second is still rows.
  EXPECT_EQ(store_->ListPoints(s, kDay0, kDay0 + kH).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store_->ListPoints(early, kDay0, kDay0 + kH).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store_->ListPoints(s, kDay0 + 24 * kH, kDay0 + 30 * kH)->size(), 6u);
}

TEST_P(StoreTest, ABacktestChunkWritesTheOpenDayAsABlockTheNextChunkExtends) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  auto want = Hourly(s, kDay0, 32, [](int h) { return std::optional<double>(h * 2); });
  auto part = [&](int from, int to) {
    return std::vector<PointRecord>(want.begin() + from, want.begin() + to);
  };
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0, kDay0 + 10 * kH, part(0, 10))).ok());
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + 10 * kH, kDay0 + 30 * kH, part(10, 30))).ok());
  // Two intervals (fewer than four points of the open day): head rows.
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + 30 * kH, kDay0 + 32 * kH, part(30, 32))).ok());
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  Status st = RawExec("update point_blocks set data = substr(data, 1, 3)");
  if (st.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << st.message();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store_->ListPoints(s, kDay0, kDay0 + kH).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store_->ListPoints(s, kDay0 + 24 * kH, kDay0 + 25 * kH).status().code(), StatusCode::kDataLoss);
  ExpectStoredPoints(part(30, 32), *store_->ListPoints(s, kDay0 + 30 * kH, kDay0 + 32 * kH));
}

TEST_P(StoreTest, HowARangeIsCutIntoChunksDoesNotChangeWhatIsStored) {
  // A growing series: each chunk raises the day's largest magnitude, so a
  // day quantized before it closed would be rounded twice.
  auto points = [](int64_t series) {
    auto v = Hourly(series, kDay0, 50, [](int h) { return std::optional<double>(h); });
    for (size_t h = 3; h < v.size(); ++h) {
      const double e = 10 * std::pow(1.23, static_cast<double>(h)) + 0.123456789;
      v[h].expected = e;
      v[h].lower = e * 0.9;
      v[h].upper = e * 1.1 + 0.3;
    }
    return v;
  };
  std::vector<std::vector<PointRecord>> read;
  for (int cut : {50, 5, 1, 7}) {
    int64_t d = *store_->UpsertDetector(fmt::format("cut{}", cut), "");
    int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
    auto want = points(s);
    for (int h = 0; h < 50; h += cut) {
      const int end = std::min(50, h + cut);
      std::vector<PointRecord> part(want.begin() + h, want.begin() + end);
      ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + h * kH, kDay0 + end * kH, part)).ok());
    }
    read.push_back(*store_->ListPoints(s, 0, 1LL << 40));
    ExpectStoredPoints(want, read.back());
  }
  for (size_t k = 1; k < read.size(); ++k) {
    ASSERT_EQ(read[k].size(), read[0].size());
    for (size_t i = 0; i < read[0].size(); ++i) {
      SCOPED_TRACE(::testing::Message() << "chunking " << k << ", hour " << i);
      EXPECT_EQ(read[k][i].expected, read[0][i].expected);
      EXPECT_EQ(read[k][i].lower, read[0][i].lower);
      EXPECT_EQ(read[k][i].upper, read[0][i].upper);
      EXPECT_EQ(read[k][i].severity, read[0][i].severity);
    }
  }
}

TEST_P(StoreTest, RerunsOverSealedDaysReplaceTheirPoints) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  auto want = Hourly(s, kDay0, 48, [](int h) { return std::optional<double>(h); });
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0, kDay0 + 48 * kH, want)).ok());
  // Hours 10-12 again: the day is not closed by this chunk, and three
  // points are too few for a block, so they are rows over the sealed block,
  // and reads prefer them.
  auto again = Hourly(s, kDay0, 13, [](int h) { return std::optional<double>(1000 + h); });
  again.erase(again.begin(), again.begin() + 10);
  again[1].value.reset();  // a point missing this time stays missing
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + 10 * kH, kDay0 + 13 * kH, again)).ok());
  for (const PointRecord& p : again) want[static_cast<size_t>((p.ts - kDay0) / kH)] = p;
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  // The rest of the day: block, rows and chunk merge into one block.
  auto rest = Hourly(s, kDay0, 24, [](int h) { return std::optional<double>(2000 + h); });
  rest.erase(rest.begin(), rest.begin() + 13);
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + 13 * kH, kDay0 + 24 * kH, rest)).ok());
  for (const PointRecord& p : rest) want[static_cast<size_t>((p.ts - kDay0) / kH)] = p;
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  // Re-running both days whole in one chunk.
  auto whole = Hourly(s, kDay0, 48, [](int h) { return std::optional<double>(-h); });
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0, kDay0 + 48 * kH, whole)).ok());
  ExpectStoredPoints(whole, *store_->ListPoints(s, 0, 1LL << 40));
}

TEST_P(StoreTest, ResetFromInsideASealedDayKeepsItsEarlierPoints) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  auto want = Hourly(s, kDay0, 48, [](int h) { return std::optional<double>(h); });
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0, kDay0 + 48 * kH, want)).ok());
  ASSERT_TRUE(store_->ResetFrom(d, kDay0 + 12 * kH + 1).ok());
  want.resize(13);
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  ASSERT_TRUE(store_->ResetFrom(d, kDay0 + 12 * kH).ok());
  want.resize(12);
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  // The replay: its points join the shortened day.
  auto replay = Hourly(s, kDay0, 48, [](int h) { return std::optional<double>(100 + h); });
  replay.erase(replay.begin(), replay.begin() + 12);
  ASSERT_TRUE(store_->CommitChunk(PointChunk(d, kDay0 + 12 * kH, kDay0 + 48 * kH, replay)).ok());
  want.insert(want.end(), replay.begin(), replay.end());
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  // A reset at the very start of a day drops its block whole.
  ASSERT_TRUE(store_->ResetFrom(d, kDay0).ok());
  EXPECT_TRUE(store_->ListPoints(s, 0, 1LL << 40)->empty());
}

TEST_P(StoreTest, AStoreFromBeforePointBlocksSealsItsRowsAndReadsThemBack) {
  int64_t d = *store_->UpsertDetector("shop", "");
  int64_t s = *store_->EnsureSeries(d, "orders", "{}", "orders");
  // 23 live hours: rows only (the day is not closed).
  auto want = Hourly(s, kDay0, 26, [](int h) { return std::optional<double>(h * 1.5); });
  for (int h = 0; h < 23; ++h) {
    const PointRecord& p = want[static_cast<size_t>(h)];
    ASSERT_TRUE(store_->CommitChunk(PointChunk(d, p.ts, p.ts + kH, {p})).ok());
  }
  store_.reset();
  // Back to the schema before point blocks (SQLite 10, PostgreSQL 11), with
  // three more rows the old schema wrote and its watermark after them.
  const int before = GetParam() == "postgres" ? 11 : 10;
  std::string rows;
  for (int h = 23; h < 26; ++h) {
    const PointRecord& p = want[static_cast<size_t>(h)];
    rows += fmt::format("{}({}, {}, {}, {}, {}, {}, {})", rows.empty() ? "" : ", ", s, p.ts, *p.value,
                        *p.expected, *p.lower, *p.upper, *p.severity);
  }
  Status st = RawExec(fmt::format(
      "drop table if exists model_state_delta; "  // SQLite 13, PostgreSQL 15
      "drop table if exists shard_watermarks; drop table if exists shard_scores; "    // PostgreSQL's 13
      "drop index incidents_by_top_time; alter table incidents drop column top_ts; "  // SQLite 12, PostgreSQL
                                                                                      // 14
      "drop table point_blocks; delete from schema_migrations where version > {}; "
      "insert into points(series_id, ts, value, expected, lower, upper, severity) values {}; "
      "update watermarks set next_ts = {}",
      before, rows, kDay0 + 26 * kH));
  if (st.code() == StatusCode::kFailedPrecondition) GTEST_SKIP() << st.message();
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto reopened = OpenStore(target_);
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  store_ = std::move(reopened).value();
  ExpectStoredPoints(want, *store_->ListPoints(s, 0, 1LL << 40));
  // The closed day was sealed on opening; the open one is still rows.
  st = RawExec("update point_blocks set data = substr(data, 1, 3)");
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(store_->ListPoints(s, kDay0, kDay0 + kH).status().code(), StatusCode::kDataLoss);
  EXPECT_EQ(store_->ListPoints(s, kDay0 + 24 * kH, kDay0 + 26 * kH)->size(), 2u);
}

TEST_P(StoreTest, MeasureIncidentsAreListedByStartAndBySeverity) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> series;
  for (const char* m : {"views", "orders", "revenue"}) series.push_back(*store_->EnsureSeries(d, m, "{}", m));
  CommitTiedGroups(*store_, d, series, 0, 6);
  const int64_t t0 = 2000 * 3600;
  EXPECT_EQ(*store_->GetLongestMeasureIncident(), 3600);
  MeasureIncidentQuery q;
  q.start_from = t0 + 3600;
  q.start_before = t0 + 3 * 3600;
  auto heads = *store_->ListMeasureIncidents(q);
  ASSERT_EQ(heads.size(), 6u);
  for (size_t i = 1; i < heads.size(); ++i) {
    EXPECT_LE(std::make_pair(heads[i - 1].incident_ts, heads[i - 1].measure),
              std::make_pair(heads[i].incident_ts, heads[i].measure));
  }
  q.newest_first = true;
  q.limit = 2;
  heads = *store_->ListMeasureIncidents(q);
  ASSERT_EQ(heads.size(), 2u);
  EXPECT_EQ(heads[0].incident_ts, t0 + 2 * 3600);
  q.detector = "nope";
  EXPECT_TRUE(store_->ListMeasureIncidents(q)->empty());
  // Several ranges in one read: what each range gives, in order, within the
  // other bounds.
  MeasureIncidentQuery ranges;
  ranges.spans_only = true;
  ranges.start_ranges = {{t0, t0 + 3600}, {t0 + 2 * 3600, t0 + 4 * 3600}, {t0 + 5 * 3600, t0 + 9 * 3600}};
  ranges.start_before = t0 + 5 * 3600 + 1;
  std::vector<std::pair<int64_t, std::string>> want, got;
  for (int64_t k : {0, 2, 3, 5}) {
    for (const char* m : {"orders", "revenue", "views"}) want.emplace_back(t0 + k * 3600, m);
  }
  std::sort(want.begin(), want.end());
  for (const auto& g : *store_->ListMeasureIncidents(ranges)) {
    got.emplace_back(g.incident_ts, g.measure);
    EXPECT_EQ(g.incident_end_ts, g.incident_ts + 3600);
    EXPECT_NE(g.id, 0);
  }
  std::vector<std::pair<int64_t, std::string>> sorted = got;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(got, sorted) << "by start";
  EXPECT_EQ(sorted, want);
  ranges.detector = "ecommerce";
  ranges.spans_only = false;
  ranges.newest_first = true;
  ranges.limit = 2;
  auto latest = *store_->ListMeasureIncidents(ranges);
  ASSERT_EQ(latest.size(), 2u);
  EXPECT_EQ(latest[0].incident_ts, t0 + 5 * 3600);
  EXPECT_EQ(latest[0].detector, "ecommerce");
  // By severity, page by page after the last one: each once, most severe first.
  SevereIncidentQuery s;
  s.limit = 4;
  std::vector<GroupRecord> all;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = *store_->ListSevereIncidents(s);
    if (page.empty()) break;
    for (auto& g : page) all.push_back(g);
    const auto& last = page.back();
    s.after =
        SevereIncidentQuery::Key{last.incident_severity, last.incident_ts, last.detector_id, last.measure};
  }
  ASSERT_EQ(all.size(), 18u);
  for (size_t i = 1; i < all.size(); ++i) {
    EXPECT_GE(all[i - 1].incident_severity, all[i].incident_severity);
    if (all[i - 1].incident_severity == all[i].incident_severity) {
      EXPECT_GE(all[i - 1].incident_ts, all[i].incident_ts);
    }
  }
  std::set<int64_t> ids;
  for (const auto& g : all) ids.insert(g.id);
  EXPECT_EQ(ids.size(), all.size());
}

TEST_P(StoreTest, OutboxPagesAfterAnIdWithFilters) {
  int64_t d = *store_->UpsertDetector("ecommerce", "");
  std::vector<int64_t> series;
  for (const char* m : {"views", "orders", "revenue"}) series.push_back(*store_->EnsureSeries(d, m, "{}", m));
  CommitTiedGroups(*store_, d, series, 0, 1);
  for (int k = 0; k < 7; ++k) {
    OutboxRecord r;
    r.detector_id = d;
    r.alert = "oncall";
    r.kind = "failing";
    r.incident_ts = 1000 + k;
    r.created_at = 1000 + k;
    ASSERT_TRUE(*store_->QueueDetectorMessage(r));
  }
  OutboxQuery all;
  all.newest_first = true;
  const auto rows = *store_->ListOutbox(all);
  ASSERT_EQ(rows.size(), 7u);
  std::vector<int64_t> expected, read;
  for (const auto& r : rows) expected.push_back(r.id);
  OutboxQuery q = all;
  q.limit = 3;
  for (int pages = 0; pages < 10; ++pages) {
    auto page = *store_->ListOutbox(q);
    if (page.empty()) break;
    for (const auto& r : page) read.push_back(r.id);
    q.after_id = page.back().id;
  }
  EXPECT_EQ(read, expected);
  q.after_id = expected[2];
  q.detector = "ecommerce";
  q.status = "pending";
  q.limit = 100;
  EXPECT_EQ(store_->ListOutbox(q)->size(), 4u);
  q.status = "dead";
  EXPECT_TRUE(store_->ListOutbox(q)->empty());
  OutboxQuery capped;
  capped.count_at_most = 5;
  EXPECT_EQ(*store_->CountOutbox(capped), 5);
  capped.count_at_most.reset();
  EXPECT_EQ(*store_->CountOutbox(capped), 7);
}

TEST_P(StoreTest, TokensAreStoredHashedAndRevocable) {
  int64_t id = *store_->CreateToken({0, "ci", "viewer", "abc123", 1000, std::nullopt});
  auto tokens = *store_->ListTokens();
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].role, "viewer");
  EXPECT_FALSE(tokens[0].revoked_at.has_value());
  ASSERT_TRUE(store_->RevokeToken(id, 2000).ok());
  EXPECT_EQ(*store_->ListTokens()->at(0).revoked_at, 2000);
  EXPECT_EQ(store_->RevokeToken(id, 3000).code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->CreateToken({0, "x", "root", "def", 1000, std::nullopt}).ok());
}

TEST_P(StoreTest, SilencesAreListedNewestFirstAndExpire) {
  const int64_t a = *store_->CreateSilence(
      {0, "ecommerce", "views", R"({"platform":"ios"})", 1000, 5000, "deploy", "ops", 900});
  const int64_t b = *store_->CreateSilence({0, "", "", "{}", 2000, 3000, "", "", 1900});
  EXPECT_NE(a, b);
  auto list = *store_->ListSilences();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].id, b);
  const SilenceRecord& s = list[1];
  EXPECT_EQ(s.id, a);
  EXPECT_EQ(s.detector, "ecommerce");
  EXPECT_EQ(s.measure, "views");
  EXPECT_EQ(s.matchers, R"({"platform":"ios"})");
  EXPECT_EQ(s.starts_at, 1000);
  EXPECT_EQ(s.ends_at, 5000);
  EXPECT_EQ(s.comment, "deploy");
  EXPECT_EQ(s.created_by, "ops");
  EXPECT_EQ(s.created_at, 900);

  ASSERT_TRUE(store_->ExpireSilence(a, 4000).ok());
  EXPECT_EQ(store_->ListSilences()->at(1).ends_at, 4000);
  // Already over by then, or unknown: NotFound, and nothing changes.
  EXPECT_EQ(store_->ExpireSilence(a, 4500).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ExpireSilence(b, 3000).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ExpireSilence(9999, 100).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ListSilences()->at(0).ends_at, 3000);
}

TEST_P(StoreTest, OutboxRowsCanBeRecordedAsSilenced) {
  int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ChunkResult c = Chunk(d, s, 7200, 40);
  c.outbox.push_back(Trigger());
  ASSERT_TRUE(store_->CommitChunk(c).ok());
  auto rows = *store_->ListOutbox({});
  ASSERT_EQ(rows.size(), 1u);
  rows[0].status = "silenced";
  rows[0].last_error = "silenced by silence 1";
  ASSERT_TRUE(store_->UpdateOutbox(rows[0]).ok());
  auto silenced =
      *store_->ListOutbox({std::nullopt, std::string("silenced"), 10, false, 0, std::nullopt, std::nullopt});
  ASSERT_EQ(silenced.size(), 1u);
  EXPECT_EQ(silenced[0].last_error, "silenced by silence 1");
  EXPECT_EQ(store_->Totals()->alerts_silenced, 1);
  rows[0].status = "lost";  // not a status
  EXPECT_FALSE(store_->UpdateOutbox(rows[0]).ok());
}

TEST_P(StoreTest, FailingMessagesAreQueuedOnceWithoutAGroup) {
  const int64_t d = *store_->UpsertDetector("ecommerce", "a: 1");
  OutboxRecord o;
  o.detector_id = d;
  o.alert = "ops";
  o.kind = "failing";
  o.incident_ts = 7200;
  o.created_at = 7200;
  EXPECT_TRUE(*store_->QueueDetectorMessage(o));
  EXPECT_FALSE(*store_->QueueDetectorMessage(o));
  o.kind = "failing_resolve";
  o.created_at = 10800;
  EXPECT_TRUE(*store_->QueueDetectorMessage(o));
  o.kind = "resolve";
  EXPECT_EQ(store_->QueueDetectorMessage(o).status().code(), StatusCode::kInvalidArgument);
  auto rows = *store_->ListOutbox({});
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].kind, "failing");
  EXPECT_EQ(rows[0].group_id, 0);
  EXPECT_EQ(rows[0].detector, "ecommerce");
  EXPECT_EQ(rows[0].status, "pending");
  EXPECT_EQ(rows[0].idempotency_key, fmt::format("failing.{}.ops.7200", d));
  EXPECT_EQ(rows[1].idempotency_key, fmt::format("failing.{}.ops.7200.resolved", d));
  EXPECT_EQ(rows[1].created_at, 10800);
}

TEST_P(StoreTest, GroupFeedbackKeepsCommentAndAuthorInOrder) {
  int64_t d = *store_->UpsertDetector("ecommerce", "x");
  int64_t s = *store_->EnsureSeries(d, "views", "{}", "views");
  ASSERT_TRUE(store_->CommitChunk(Chunk(d, s, 1000 * 3600, 40)).ok());
  int64_t g = store_->ListGroups({})->at(0).id;
  FeedbackRecord f;
  f.detector_id = d;
  f.group_id = g;
  f.series_id = s;
  f.ts = 1000 * 3600;
  f.direction = "up";
  f.relevant = true;
  f.comment = "real";
  f.author = "alice";
  f.created_at = 10;
  ASSERT_TRUE(store_->AddFeedback(f).ok());
  f.relevant = false;
  f.comment = "noise";
  f.author = "bob";
  f.created_at = 20;
  ASSERT_TRUE(store_->AddFeedback(f).ok());
  auto list = *store_->ListGroupFeedback(g);
  ASSERT_EQ(list.size(), 2u);
  EXPECT_TRUE(list[0].relevant);
  EXPECT_EQ(list[1].comment, "noise");
  EXPECT_EQ(list[1].author, "bob");
  EXPECT_EQ(list[1].label, "views");
  EXPECT_TRUE(store_->ListGroupFeedback(g + 100)->empty());
}

// The rows of a query on the store's database, one line each (columns
// joined by " | "), read behind the store's back.
std::vector<std::string> RawLines(const std::string& backend, const std::string& target,
                                  const std::string& sql) {
  std::vector<std::string> out;
  if (backend == "postgres") {
    PGconn* conn = PQconnectdb(target.c_str());
    PGresult* r = PQexec(conn, sql.c_str());
    EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(conn);
    for (int i = 0; i < PQntuples(r); ++i) {
      std::string line;
      for (int c = 0; c < PQnfields(r); ++c) line += (c ? " | " : "") + std::string(PQgetvalue(r, i, c));
      out.push_back(line);
    }
    PQclear(r);
    PQfinish(conn);
    return out;
  }
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(target.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* s = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::string line;
    for (int c = 0; c < sqlite3_column_count(s); ++c) {
      const unsigned char* v = sqlite3_column_text(s, c);
      line += (c ? " | " : "") + std::string(v ? reinterpret_cast<const char*>(v) : "");
    }
    out.push_back(line);
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// The store's schema as text: tables, columns, indexes, constraints and the
// recorded schema versions.
std::string SchemaText(const std::string& backend, const std::string& target) {
  std::vector<std::string> queries;
  if (backend == "postgres") {
    queries = {
        "select 'column', table_name, column_name, data_type, is_nullable, coalesce(column_default, '') "
        "from information_schema.columns where table_schema = 'public' order by table_name, ordinal_position",
        "select 'index', indexname, indexdef from pg_indexes where schemaname = 'public' order by indexname",
        "select 'constraint', conrelid::regclass::text, conname, pg_get_constraintdef(oid) from "
        "pg_constraint "
        "where connamespace = 'public'::regnamespace order by 2, 3",
        "select 'version', version from schema_migrations order by version"};
  } else {
    queries = {"select type, name, tbl_name, coalesce(sql, '') from sqlite_master order by type, name",
               "select 'version', version from schema_migrations order by version"};
  }
  std::string text;
  for (const std::string& q : queries) {
    for (const std::string& line : RawLines(backend, target, q)) text += line + "\n";
  }
  return text;
}

// A new store's schema is the one the released migrations build, as
// recorded in testdata/schema.<backend>.txt (written by the migrations of
// osprey 0.1 as they were before they moved to migrations/): moving or
// sharing migration text must not change what they create.
// OSPREY_UPDATE_SCHEMA=1 rewrites the file after a new migration.
TEST_P(StoreTest, ANewStoreHasTheSchemaOfTheReleasedMigrations) {
  const std::string golden =
      std::string(OSPREY_SOURCE_DIR) + "/src/osprey/store/testdata/schema." + GetParam() + ".txt";
  const std::string schema = SchemaText(GetParam(), target_);
  ASSERT_FALSE(schema.empty());
  if (std::getenv("OSPREY_UPDATE_SCHEMA") != nullptr) {
    std::ofstream(golden) << schema;
  }
  std::ifstream in(golden);
  ASSERT_TRUE(in) << "cannot read " << golden;
  std::stringstream want;
  want << in.rdbuf();
  EXPECT_EQ(schema, want.str());
}

// A store at each older schema version -- its dialect's first k migration
// files applied and recorded as the osprey of that version did -- migrates
// to exactly the schema of a new store, and so does reopening a store at
// the current version.
TEST_P(StoreTest, AStoreAtEveryOlderVersionMigratesToTheSchemaOfANewOne) {
  const std::string want = SchemaText(GetParam(), target_);
  store_.reset();
  ASSERT_TRUE(OpenStore(target_).ok());
  EXPECT_EQ(SchemaText(GetParam(), target_), want);
  const internal::SqlDialect& dialect =
      GetParam() == "postgres" ? internal::PostgresDialect() : internal::SqliteDialect();
  const std::vector<const internal::MigrationFile*> migrations = internal::MigrationsOf(dialect);
  ASSERT_NE(want.find(fmt::format("version | {}\n", migrations.size())), std::string::npos) << want;
  if (GetParam() == "sqlite") {
    EXPECT_EQ(CurrentSchemaVersion(), static_cast<int>(migrations.size()));
  }
  for (size_t k = 0; k < migrations.size(); ++k) {
    SCOPED_TRACE(::testing::Message() << "from version " << k);
    ASSERT_TRUE(Recreate().ok());
    std::string script = "create table schema_migrations(version integer);\n";
    for (size_t v = 0; v < k; ++v) {
      script += fmt::format("{};\ninsert into schema_migrations values ({});\n", migrations[v]->sql, v + 1);
    }
    Status s = RawScript(script);
    ASSERT_TRUE(s.ok()) << s.ToString();
    auto opened = OpenStore(target_);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    opened->reset();
    EXPECT_EQ(SchemaText(GetParam(), target_), want);
  }
}

TEST(SqlDialectTest, PlaceholdersAreRewrittenForPostgresOnly) {
  const std::string sql = "select a from t where b = ?1 and c > ?12 and d = ?2";
  EXPECT_EQ(internal::WithPlaceholders(internal::SqliteDialect(), sql), sql);
  EXPECT_EQ(internal::WithPlaceholders(internal::PostgresDialect(), sql),
            "select a from t where b = $1 and c > $12 and d = $2");
}

TEST(SqlDialectTest, AWholeRowIsReplacedInEachDialectsSpelling) {
  EXPECT_EQ(internal::ReplaceRow(internal::SqliteDialect(), "t", {"k1", "k2"}, {"a", "b"}),
            "insert or replace into t(k1, k2, a, b) values (?1, ?2, ?3, ?4)");
  EXPECT_EQ(internal::ReplaceRow(internal::PostgresDialect(), "t", {"k1", "k2"}, {"a", "b"}),
            "insert into t(k1, k2, a, b) values (?1, ?2, ?3, ?4) on conflict(k1, k2) do update set a = "
            "excluded.a, b = excluded.b");
}

// Each dialect applies the files in number order, one file per number: a
// second file with a number already taken (say 0013_a.sql beside
// 0013_b.postgres.sql) would give two databases different histories.
TEST(MigrationFilesTest, EachDialectHasOneFilePerNumberInOrder) {
  for (const internal::SqlDialect* d : {&internal::SqliteDialect(), &internal::PostgresDialect()}) {
    SCOPED_TRACE(std::string(d->name));
    const auto files = internal::MigrationsOf(*d);
    ASSERT_FALSE(files.empty());
    for (size_t i = 1; i < files.size(); ++i) {
      EXPECT_LT(files[i - 1]->number, files[i]->number) << files[i]->file;
    }
    for (const internal::MigrationFile* f : files) EXPECT_FALSE(f->sql.empty()) << f->file;
  }
  // The released histories never change: a store's version k is its
  // dialect's k-th file.
  const std::vector<std::string> released = {
      "foundation",     "alerts",    "tokens",        "incident_ts", "scheduler",    "detector_origin",
      "no_data_alerts", "incidents", "worker_leases", "silences",    "list_indexes", "point_blocks"};
  for (const internal::SqlDialect* d : {&internal::SqliteDialect(), &internal::PostgresDialect()}) {
    std::vector<std::string> names;
    for (const internal::MigrationFile* f : internal::MigrationsOf(*d)) names.push_back(std::string(f->name));
    std::vector<std::string> want = released;
    if (d->kind == internal::Dialect::kSqlite)
      want.erase(want.begin() + 8);  // worker leases: PostgreSQL's only
    ASSERT_GE(names.size(), want.size()) << d->name;
    names.resize(want.size());
    EXPECT_EQ(names, want) << d->name;
  }
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& backend) { return backend.param; }

TEST(OpenStoreTest, RecognisesPostgresUrlsAndDsns) {
  EXPECT_TRUE(IsPostgresState("postgres://u:p@db/osprey"));
  EXPECT_TRUE(IsPostgresState("postgresql://db/osprey?sslmode=require"));
  EXPECT_TRUE(IsPostgresState("host=db port=5432 dbname=osprey"));
  EXPECT_TRUE(IsPostgresState("dbname=osprey"));
  EXPECT_FALSE(IsPostgresState("./osprey-state.db"));
  EXPECT_FALSE(IsPostgresState("/var/lib/osprey/host=1.db"));
  EXPECT_FALSE(IsPostgresState("state.db"));
}

#if OSPREY_STORE_TEST_POSTGRES
TEST(PostgresStoreTest, BadPasswordIsUnavailableAndNeverShown) {
  testing::PostgresServer* pg = PostgresEnvironment::server();
  if (pg == nullptr) GTEST_SKIP() << PostgresEnvironment::skip();
  const std::string url =
      "postgresql://osprey:Wr0ng-Secret@127.0.0.1:" + std::to_string(pg->port()) + "/osprey";
  auto s = OpenStore(url);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(s.status().message().find("Wr0ng-Secret"), std::string::npos) << s.status().message();
  auto dsn = OpenStore("host=127.0.0.1 port=" + std::to_string(pg->port()) +
                       " user=osprey password=Wr0ng-Secret dbname=osprey");
  ASSERT_FALSE(dsn.ok());
  EXPECT_EQ(dsn.status().message().find("Wr0ng-Secret"), std::string::npos) << dsn.status().message();
}

INSTANTIATE_TEST_SUITE_P(Postgres, StoreTest, ::testing::Values(std::string("postgres")), BackendName);
#else
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreTest, ::testing::Values(std::string("sqlite")), BackendName);
#endif

}  // namespace
}  // namespace osprey::store
