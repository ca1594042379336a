// ReadIncidents against the incidents of the whole store, sorted: every
// order, page by page with cursors, on a store with chained incidents
// (measure incidents that overlap one after another), long ones, ties of
// severity and start, and shared or spread root causes.
#include "osprey/api/incidents.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <random>
#include <tuple>

#include "osprey/testing/db_servers.h"
#include "osprey/testing/files.h"

namespace osprey::api {
namespace {

constexpr int64_t kH = 3600;
constexpr int64_t kT0 = 20000 * kH;

// Random runs of groups per detector and measure, one chunk per interval.
// A fixed seed: the same store on every run.
void FillStore(store::Store& s, uint32_t seed, int intervals) {
  std::mt19937 rng(seed);
  const char* measures[] = {"views", "orders", "revenue", "refunds"};
  const char* causes[] = {"[]", R"([{"element":{"platform":"web"}}])", R"([{"element":{"platform":"app"}}])",
                          R"([{"element":{"country":"de"}},{"element":{"platform":"web"}}])"};
  for (const char* name : {"shop", "ads"}) {
    const int64_t d = *s.UpsertDetector(name, "");
    int64_t run_start[4] = {-1, -1, -1, -1};
    int run_left[4] = {0, 0, 0, 0};
    for (int k = 0; k < intervals; ++k) {
      store::ChunkResult c;
      c.detector_id = d;
      c.first_ts = kT0 + k * kH;
      c.next_watermark = c.first_ts + kH;
      for (int m = 0; m < 4; ++m) {
        if (run_left[m] == 0 && rng() % 5 == 0) {
          // Mostly short runs; now and then a long one that many others overlap.
          run_left[m] = rng() % 12 == 0 ? 20 + static_cast<int>(rng() % 20) : 1 + static_cast<int>(rng() % 4);
          run_start[m] = c.first_ts;
        }
        if (run_left[m] == 0) continue;
        --run_left[m];
        store::GroupRecord g;
        g.detector_id = d;
        g.measure = measures[m];
        g.ts = c.first_ts;
        g.end_ts = c.first_ts + kH;
        g.severity = 40 + 10 * static_cast<double>(rng() % 6);  // ties on purpose
        g.anomaly_count = 1;
        g.contributions = "{}";
        g.root_causes = causes[rng() % 4];
        g.related = "[]";
        g.incident_ts = run_start[m];
        c.groups.push_back(g);
      }
      ASSERT_TRUE(s.CommitChunk(c).ok());
    }
  }
}

// The list q describes, from every measure incident of the store at once.
std::vector<Incident> Expected(store::Store& s, const IncidentListQuery& q) {
  store::MeasureIncidentQuery all;
  all.detector = q.detector;
  std::vector<Incident> built = BuildIncidents(*s.ListMeasureIncidents(all));
  std::sort(built.begin(), built.end(), [&](const Incident& a, const Incident& b) {
    return Before(q.order, KeyOf(a, q.order), KeyOf(b, q.order));
  });
  std::vector<Incident> out;
  for (auto& i : built) {
    if (i.severity < q.min_severity) continue;
    if (q.from && i.end <= *q.from) continue;
    if (q.to && i.start >= *q.to) continue;
    if (q.after && !Before(q.order, *q.after, KeyOf(i, q.order))) continue;
    out.push_back(std::move(i));
  }
  return out;
}

// An incident as the list shows it: id, span, severity, its measure
// incidents and shared causes.
std::string Describe(const Incident& i) {
  std::string out = fmt::format("{}:{} [{}, {}) {} heads", IncidentId(i), i.detector, i.start - kT0,
                                i.end - kT0, i.severity);
  for (const auto& h : i.heads) out += fmt::format(" {}@{}", h.measure, h.incident_ts - kT0);
  for (const auto& c : i.shared_causes) out += " " + c;
  return out;
}

std::vector<std::string> Describe(const std::vector<Incident>& list) {
  std::vector<std::string> out;
  for (const auto& i : list) out.push_back(Describe(i));
  return out;
}

class ReadIncidentsTest : public ::testing::Test {
 protected:
  void SetUp() override {
#if OSPREY_INCIDENTS_TEST_POSTGRES
    // One server for the process, a database per test.
    static Result<std::unique_ptr<testing::PostgresServer>> server = testing::PostgresServer::Start();
    if (!server.ok() && server.status().code() == StatusCode::kFailedPrecondition) {
      GTEST_SKIP() << "PostgreSQL server binaries not installed: " << server.status().ToString();
    }
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    std::string db = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::transform(db.begin(), db.end(), db.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    ASSERT_TRUE((*server)->Execute("drop database if exists " + db).ok());
    ASSERT_TRUE((*server)->Execute("create database " + db).ok());
    auto s = store::OpenPostgresStore((*server)->Url(db));
    pages_ = {7, 50};  // a round trip per query: the pages of one item would take minutes
#else
    auto s = store::OpenSqliteStore(dir_.File("state.db"));
#endif
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    FillStore(*store_, 16, 400);
  }

  // Every page of q (limit `page`), each after the last incident of the one before.
  std::vector<Incident> Walk(IncidentListQuery q, int64_t page) {
    std::vector<Incident> out;
    q.limit = page;
    for (int pages = 0; pages < 5000; ++pages) {
      auto got = ReadIncidents(*store_, q);
      EXPECT_TRUE(got.ok()) << got.status().ToString();
      if (!got.ok() || got->empty()) break;
      // Each page is the first `page` of what the whole store says follows the cursor.
      std::vector<Incident> want = Expected(*store_, q);
      if (static_cast<int64_t>(want.size()) > page) want.resize(static_cast<size_t>(page));
      EXPECT_EQ(Describe(*got), Describe(want)) << "page " << pages;
      q.after = KeyOf(got->back(), q.order);
      for (auto& i : *got) out.push_back(std::move(i));
    }
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::vector<int64_t> pages_ = {1, 7, 50, 100000};
};

TEST_F(ReadIncidentsTest, TheStoreHoldsChainedAndLongIncidents) {
  const std::vector<Incident> all = Expected(*store_, {});
  ASSERT_GT(all.size(), 100u);
  size_t chained = 0, long_ones = 0;
  for (const auto& i : all) {
    // Three or more measure incidents, not all starting together.
    if (i.heads.size() >= 3 && i.heads.front().incident_ts != i.heads.back().incident_ts) ++chained;
    if (i.end - i.start >= 20 * kH) ++long_ones;
  }
  EXPECT_GT(chained, 10u);
  EXPECT_GT(long_ones, 3u);
}

TEST_F(ReadIncidentsTest, EveryOrderPagesLikeTheWholeStoreSorted) {
  for (IncidentOrder order : {IncidentOrder::kSeverity, IncidentOrder::kTime, IncidentOrder::kTimeAsc}) {
    for (const char* detector : {"", "ads"}) {
      for (double min_severity : {0.0, 80.0}) {
        IncidentListQuery q;
        q.order = order;
        if (*detector) q.detector = detector;
        q.min_severity = min_severity;
        SCOPED_TRACE(::testing::Message() << "order " << static_cast<int>(order) << " detector '" << detector
                                          << "' min_severity " << min_severity);
        const std::vector<std::string> want = Describe(Expected(*store_, q));
        ASSERT_FALSE(want.empty());
        for (int64_t page : pages_) {
          EXPECT_EQ(Describe(Walk(q, page)), want) << "limit " << page;
        }
      }
    }
  }
}

}  // namespace
}  // namespace osprey::api
