// Runs the built osprey binary as a user would: exit codes, help, and the
// demo -> backtest -> anomalies path on a small generated warehouse.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "osprey/testing/files.h"
#include "osprey/testing/long_fields.h"

namespace {

struct Ran {
  int code;
  std::string out;  // stdout and stderr together
};

// Runs `osprey ARGS` (`binary`: the test build, osprey_testbin, for its
// testing-clock flags).
Ran Osprey(const std::string& args, const char* binary = OSPREY_BINARY) {
  std::string cmd = std::string(binary) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The ids of a listing's table: the lines that start with a number.
std::vector<long long> TableIds(const std::string& out) {
  std::vector<long long> ids;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    char* end = nullptr;
    const long long id = std::strtoll(line.c_str(), &end, 10);
    if (end != line.c_str() && (*end == ' ' || *end == '\0')) ids.push_back(id);
  }
  return ids;
}

// The cursor of a listing's "Next page: --after CURSOR" line, or "".
std::string NextCursor(const std::string& out) {
  const std::string mark = "Next page: --after ";
  const size_t at = out.find(mark);
  if (at == std::string::npos) return "";
  const size_t from = at + mark.size();
  return out.substr(from, out.find('\n', from) - from);
}

// Walks a listing page by page (`base` and --limit, then --after the
// cursor each page prints) and returns the ids in the order read.
std::vector<long long> WalkPages(const std::string& base, size_t limit, size_t* pages) {
  std::vector<long long> walked;
  std::string after;
  *pages = 0;
  do {
    Ran page =
        Osprey(base + " --limit " + std::to_string(limit) + (after.empty() ? "" : " --after " + after));
    EXPECT_EQ(page.code, 0) << page.out;
    if (page.code != 0 || ++*pages > 1000) break;
    const auto ids = TableIds(page.out);
    EXPECT_LE(ids.size(), limit);
    walked.insert(walked.end(), ids.begin(), ids.end());
    after = NextCursor(page.out);
  } while (!after.empty());
  return walked;
}

class CliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { dir_ = new osprey::testing::TempDir("osprey_cli_"); }
  static void TearDownTestSuite() { delete dir_; }
  static std::string Dir() { return dir_->path().string(); }
  static inline osprey::testing::TempDir* dir_ = nullptr;
};

const std::string kExample = std::string(OSPREY_SOURCE_DIR) + "/examples/ecommerce.yaml";

TEST_F(CliTest, HelpAndUsageErrors) {
  Ran help = Osprey("--help");
  EXPECT_EQ(help.code, 0);
  for (const char* cmd :
       {"demo", "validate", "backtest", "anomalies list", "anomalies show", "import-l4m", "score"}) {
    EXPECT_NE(help.out.find(cmd), std::string::npos) << cmd;
  }
  Ran bt = Osprey("backtest --help");
  EXPECT_EQ(bt.code, 0);
  EXPECT_NE(bt.out.find("--from TIME"), std::string::npos);
  EXPECT_EQ(Osprey("help backtest").out, bt.out);
  EXPECT_EQ(Osprey("").code, 2);
  EXPECT_EQ(Osprey("frobnicate").code, 2);
  EXPECT_EQ(Osprey("backtest --frm 2020-01-01").code, 2);
  EXPECT_EQ(Osprey("anomalies").code, 2);
}

TEST_F(CliTest, ValidateReportsFileLineAndExits78) {
  EXPECT_EQ(Osprey("validate " + kExample).code, 0);
  std::string bad = Dir() + "/bad.yaml";
  std::ofstream(bad) << "name: x\nfrequency: PT1X\n";
  Ran r = Osprey("validate " + bad);
  EXPECT_EQ(r.code, 78);
  EXPECT_NE(r.out.find(bad + ":2:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("frequency"), std::string::npos) << r.out;
}

// A field of 30 KB or 1 MiB (the API's body limit) in any place of a detector
// gets an answer, not a crash: std::regex in the loader overflowed the stack
// on a 30 KB value.
TEST_F(CliTest, ValidateSurvivesLongFields) {
  for (size_t length : {size_t{30 * 1024}, size_t{1 << 20}}) {
    for (const auto& [label, text] : osprey::testing::DetectorsWithLongFields(length)) {
      // At 1 MiB the mixed values alone: each run parses a megabyte.
      if (length > 30 * 1024 && label.find("(one letter)") != std::string::npos) continue;
      const std::string file = Dir() + "/long.yaml";
      std::ofstream(file, std::ios::trunc) << text;
      Ran r = Osprey("validate " + file);
      EXPECT_TRUE(r.code == 0 || r.code == 78)
          << label << " (" << length << " bytes): exit " << r.code << "\n"
          << r.out.substr(0, 500);
    }
  }
  // The unchanged detector is valid, so each variant tests its own field.
  const std::string file = Dir() + "/long.yaml";
  std::ofstream(file, std::ios::trunc) << osprey::testing::DetectorWithValue(-1, "");
  Ran ok = Osprey("validate " + file);
  EXPECT_EQ(ok.code, 0) << ok.out;
}

// validate says which built-in holiday calendar a detector uses: its zone's
// country under the default `auto` for hourly data, none for 5-minute data,
// the one it names; an unknown country is an error on its line.
TEST_F(CliTest, ValidateSaysWhichHolidaysItUses) {
  auto validate = [&](const std::string& lines) {
    const std::string file = Dir() + "/holidays.yaml";
    std::ofstream(file, std::ios::trunc) << "name: x\nsource: {type: sqlite, path: w.db}\n"
                                            "query: select 1 where {{interval_start}} < {{interval_end}}\n"
                                            "measures: [{name: v}]\n"
                                         << lines;
    return Osprey("validate " + file);
  };
  Ran hourly = validate("frequency: PT1H\ntimezone: America/New_York\n");
  EXPECT_EQ(hourly.code, 0) << hourly.out;
  EXPECT_NE(hourly.out.find("holidays of US (auto, America/New_York)"), std::string::npos) << hourly.out;
  Ran five = validate("frequency: PT5M\ntimezone: America/New_York\n");
  EXPECT_NE(five.out.find("no built-in holidays"), std::string::npos) << five.out;
  Ran utc = validate("frequency: PT1H\n");
  EXPECT_NE(utc.out.find("no built-in holidays"), std::string::npos) << utc.out;
  Ran named = validate("frequency: PT5M\nholidays: de\n");
  EXPECT_NE(named.out.find("holidays of DE)"), std::string::npos) << named.out;
  Ran off = validate("frequency: PT1H\ntimezone: Europe/Berlin\nholidays: none\n");
  EXPECT_NE(off.out.find("no built-in holidays"), std::string::npos) << off.out;
  Ran bad = validate("frequency: PT1H\nholidays: Narnia\n");
  EXPECT_EQ(bad.code, 78);
  EXPECT_NE(bad.out.find(":6: holidays: no built-in holiday calendar for 'Narnia'"), std::string::npos)
      << bad.out;
}

TEST_F(CliTest, ValidateListsEveryError) {
  std::string bad = Dir() + "/several.yaml";
  std::ofstream(bad) << "name: x\nfrequency: PT1X\nsource: {type: sqlite, path: w.db}\n"
                        "query: select 1 where {{interval_start}} < {{interval_end}}\n"
                        "measures: [{name: v}]\nmin_severity: 150\nbogus: 1\n";
  Ran r = Osprey("validate " + bad);
  EXPECT_EQ(r.code, 78);
  for (const std::string& want : {bad + ":7: bogus", bad + ":2: frequency", bad + ":6: min_severity"}) {
    EXPECT_NE(r.out.find(want), std::string::npos) << want << "\n" << r.out;
  }
}

TEST_F(CliTest, DemoThenBacktestThenList) {
  std::string demo = Dir() + "/demo";
  Ran d = Osprey("demo --config " + kExample + " --dir " + demo + " --days 56");
  ASSERT_EQ(d.code, 0) << d.out;
  EXPECT_NE(d.out.find("precision"), std::string::npos);
  EXPECT_NE(d.out.find("recall"), std::string::npos);

  // A backtest of the same detector into a separate state store.
  std::string state = Dir() + "/state.db";
  ::setenv("OSPREY_DEMO_WAREHOUSE", (demo + "/warehouse.db").c_str(), 1);
  Ran b = Osprey("backtest -q -c " + kExample + " --from 2024-12-30 --to 2025-02-24 --state " + state);
  ASSERT_EQ(b.code, 0) << b.out;
  EXPECT_NE(b.out.find("1344 intervals"), std::string::npos) << b.out;

  Ran list = Osprey("anomalies list --json --min-severity 50 --state " + state);
  ASSERT_EQ(list.code, 0) << list.out;
  EXPECT_EQ(list.out.rfind("[", 0), 0u) << list.out;
  EXPECT_NE(list.out.find("\"contributions\""), std::string::npos);

  Ran table = Osprey("anomalies list --limit 3 --state " + state);
  ASSERT_EQ(table.code, 0);
  EXPECT_NE(table.out.find("severity"), std::string::npos);

  // Listings are read page by page by cursor: walking the pages gives every
  // group once, in the order of one long page.
  for (const std::string mode :
       {"", " --per-interval", " --per-interval --sort severity", " --sort time-asc"}) {
    SCOPED_TRACE(mode);
    const std::string base = "anomalies list" + mode + " --state " + state;
    Ran one = Osprey(base + " --limit 10000");
    ASSERT_EQ(one.code, 0) << one.out;
    EXPECT_EQ(NextCursor(one.out), "");
    const std::vector<long long> all = TableIds(one.out);
    ASSERT_GT(all.size(), 20u);
    EXPECT_EQ(std::set<long long>(all.begin(), all.end()).size(), all.size());
    for (size_t limit : {size_t{50}, all.size() / 4}) {
      size_t pages = 0;
      EXPECT_EQ(WalkPages(base, limit, &pages), all) << limit;
      EXPECT_EQ(pages, (all.size() + limit - 1) / limit) << limit;
    }
  }
  Ran per_interval = Osprey("anomalies list --per-interval --limit 10000 --state " + state);
  EXPECT_GT(TableIds(per_interval.out).size(), 100u);  // three pages of 50 above
  // With --json the array stays the output and the cursor goes to stderr.
  const std::string out_file = Dir() + "/page.json", err_file = Dir() + "/page.err";
  ASSERT_EQ(std::system((std::string(OSPREY_BINARY) + " anomalies list --json --limit 2 --state " + state +
                         " >" + out_file + " 2>" + err_file)
                            .c_str()),
            0);
  std::stringstream json_out, json_err;
  json_out << std::ifstream(out_file).rdbuf();
  json_err << std::ifstream(err_file).rdbuf();
  EXPECT_EQ(json_out.str().rfind("[", 0), 0u) << json_out.str();
  EXPECT_EQ(json_out.str().find("next page"), std::string::npos) << json_out.str();
  EXPECT_EQ(json_err.str().rfind("next page: --after time:", 0), 0u) << json_err.str();
  // A cursor of another order, or none at all, and a bad limit: usage errors.
  const std::string time_cursor = NextCursor(Osprey("anomalies list --limit 2 --state " + state).out);
  ASSERT_FALSE(time_cursor.empty());
  Ran other_order = Osprey("anomalies list --sort severity --after " + time_cursor + " --state " + state);
  EXPECT_EQ(other_order.code, 2);
  EXPECT_NE(other_order.out.find("--after"), std::string::npos) << other_order.out;
  EXPECT_EQ(Osprey("anomalies list --after nonsense --state " + state).code, 2);
  for (const char* limit : {"0", "-1", "x", "10001"}) {
    EXPECT_EQ(Osprey(std::string("anomalies list --limit ") + limit + " --state " + state).code, 2) << limit;
  }

  // The alert outbox pages the same way.
  const std::string alerted = Dir() + "/alerted.db";
  Ran ba =
      Osprey("backtest -q --alerts -c " + kExample + " --from 2024-12-30 --to 2025-02-24 --state " + alerted);
  ASSERT_EQ(ba.code, 0) << ba.out;
  Ran log = Osprey("alerts log --limit 10000 --state " + alerted);
  ASSERT_EQ(log.code, 0) << log.out;
  const std::vector<long long> messages = TableIds(log.out);
  ASSERT_GT(messages.size(), 10u);
  size_t log_pages = 0;
  EXPECT_EQ(WalkPages("alerts log --state " + alerted, 4, &log_pages), messages);
  EXPECT_EQ(log_pages, (messages.size() + 3) / 4);
  EXPECT_EQ(Osprey("alerts log --after time:1:2:3 --state " + alerted).code, 2);

  // The bulk export: every scored point at least this severe, as CSV.
  const std::string csv = Dir() + "/export.csv";
  Ran exported = Osprey("anomalies export --csv --min-severity 50 -o " + csv + " --state " + state);
  ASSERT_EQ(exported.code, 0) << exported.out;
  std::ifstream in(csv);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  EXPECT_EQ(line, "timestamp,platform,marketplace,measure,value,expected,lower,upper,severity\r");
  int rows = 0, rollups = 0;
  while (std::getline(in, line)) {
    ++rows;
    ASSERT_EQ(std::count(line.begin(), line.end(), ','), 8) << line;
    EXPECT_GE(std::stod(line.substr(line.rfind(',') + 1)), 50.0) << line;
    if (line.find(",,") != std::string::npos) ++rollups;  // an empty dimension cell
  }
  EXPECT_GT(rows, 0);
  EXPECT_GT(rollups, 0);
  EXPECT_NE(exported.out.find(std::to_string(rows) + " rows written"), std::string::npos) << exported.out;
  Ran leaves = Osprey("anomalies export --csv --leaves-only --min-severity 50 --state " + state);
  ASSERT_EQ(leaves.code, 0);
  EXPECT_EQ(std::count(leaves.out.begin(), leaves.out.end(), '\n'), 1 + rows - rollups);
  EXPECT_EQ(Osprey("anomalies export --state " + state).code, 2);  // --csv is required
  EXPECT_EQ(Osprey("anomalies export --csv --min-severity high --state " + state).code, 2);
  EXPECT_EQ(Osprey("anomalies export --csv --detector nope --state " + state).code, 1);
  Ran group_help = Osprey("help anomalies");
  EXPECT_EQ(group_help.code, 0);
  EXPECT_NE(group_help.out.find("anomalies export"), std::string::npos) << group_help.out;

  Ran show = Osprey("anomalies show 1 --state " + state);
  EXPECT_EQ(show.code, 0) << show.out;
  EXPECT_NE(show.out.find("Anomalies ("), std::string::npos) << show.out;
  EXPECT_EQ(Osprey("anomalies show 999999 --state " + state).code, 1);
  EXPECT_EQ(Osprey("anomalies show x --state " + state).code, 2);

  // Backtest errors: no start, and a source that is not there.
  ::setenv("OSPREY_DEMO_WAREHOUSE", "/nonexistent/warehouse.db", 1);
  Ran missing = Osprey("backtest -q -c " + kExample + " --from 2025-01-01 --state " + state);
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("does not exist"), std::string::npos) << missing.out;
  ::unsetenv("OSPREY_DEMO_WAREHOUSE");
}

// A feed that stops: the backtest without --to ends at the last row, one
// with --to stores the trailing hours as no data, and `osprey status` says
// so, with the models' warm-up.
TEST_F(CliTest, FeedThatStopsIsNoDataAndWarmupIsShown) {
  const std::string dir = Dir() + "/feed";
  std::filesystem::create_directories(dir + "/data");
  {
    std::ofstream csv(dir + "/data/rows.csv");
    csv << "timestamp,region,v\n";
    for (int day = 1; day <= 3; ++day) {
      for (int hour = 0; hour < 24; ++hour) {
        if (day == 3 && hour >= 20) continue;  // the feed stops at 2025-01-03 20:00
        for (const char* region : {"a", "b"}) {
          csv << "2025-01-" << (day < 10 ? "0" : "") << day << " " << (hour < 10 ? "0" : "") << hour
              << ":00:00," << region << "," << (region[0] == 'a' ? 100 + hour : 50 + hour) << "\n";
        }
      }
    }
  }
  const std::string config = dir + "/feed.yaml";
  std::ofstream(config) << "name: feed\nfrequency: PT1H\nsource: {type: csv, path: data}\n"
                           "dimensions: [region]\nmeasures: [{name: v, aggregation: SUM}]\n";
  const std::string state = dir + "/state.db";
  Ran open_end = Osprey("backtest -q -c " + config + " --from 2025-01-01 --state " + state);
  ASSERT_EQ(open_end.code, 0) << open_end.out;
  EXPECT_NE(open_end.out.find("68 intervals"), std::string::npos) << open_end.out;
  EXPECT_NE(open_end.out.find("no rows from 2025-01-03T20:00:00Z on: stopped there"), std::string::npos)
      << open_end.out;
  Ran st = Osprey("status --state " + state);
  ASSERT_EQ(st.code, 0) << st.out;
  // 68 hours of the three days (72 hourly intervals) the model needs.
  EXPECT_NE(st.out.find("data: warming up: 68 of 72 intervals (3 of 3 series"), std::string::npos) << st.out;

  Ran to_end = Osprey("backtest -q -c " + config + " --from 2025-01-01 --to 2025-01-04 --state " + state);
  ASSERT_EQ(to_end.code, 0) << to_end.out;
  EXPECT_NE(to_end.out.find("72 intervals"), std::string::npos) << to_end.out;
  EXPECT_NE(to_end.out.find("4 intervals without any row (no data)"), std::string::npos) << to_end.out;
  st = Osprey("status --state " + state);
  EXPECT_NE(st.out.find("data: no data for 4 intervals since 2025-01-03T20:00:00Z; warming up"),
            std::string::npos)
      << st.out;
  Ran js = Osprey("status --json --state " + state);
  EXPECT_NE(js.out.find("\"data\": \"no data\""), std::string::npos) << js.out;
}

TEST_F(CliTest, ImportL4mWritesAValidDetector) {
  std::string params = std::string(OSPREY_SHARED_DIR) + "/seed-data/custom-connector/params.json";
  if (!std::filesystem::exists(params)) GTEST_SKIP() << "shared seed data not present";
  std::string out = Dir() + "/imported.yaml";
  Ran r = Osprey("import-l4m " + params + " -o " + out);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("secret_name"), std::string::npos);
  EXPECT_EQ(Osprey("validate " + out).code, 0);
}

TEST_F(CliTest, ScoreAppendsAnOnlineScoreColumn) {
  std::string csv = Dir() + "/series.csv";
  {
    std::ofstream f(csv);
    f << "timestamp,value\n";
    for (int i = 0; i < 600; ++i) {
      int day = i / 24, hour = i % 24;
      double v = 100 + 10 * (hour > 8 && hour < 20) + (i == 500 ? 400 : 0) + (i * 7 % 5);
      char stamp[32];
      std::snprintf(stamp, sizeof stamp, "2024-01-%02d %02d:00:00", 1 + day, hour);
      f << stamp << "," << v << "\n";
    }
  }
  Ran r = Osprey("score --csv " + csv);
  ASSERT_EQ(r.code, 0) << r.out.substr(0, 300);
  EXPECT_EQ(r.out.rfind("timestamp,value,anomaly_score\n", 0), 0u);
  size_t lines = static_cast<size_t>(std::count(r.out.begin(), r.out.end(), '\n'));
  EXPECT_EQ(lines, 601u);
  std::ofstream(Dir() + "/bad.csv") << "timestamp,value\n2024-01-01 00:00:00,abc\n";
  Ran bad = Osprey("score --csv " + Dir() + "/bad.csv");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("bad.csv:2: field 'value'"), std::string::npos) << bad.out;
}

}  // namespace

namespace {

// One row per region and UTC hour, at hh:30, with naive UTC timestamps; about
// 1 % of region-hours have no row (a missing point, not a 0) and the 4 hours
// from `outage_start` have no row at all (no data).
struct NyRows {
  int rows = 0;
  int missing_leaf_hours = 0;
};

NyRows WriteNewYorkRows(const std::string& file, const char* from, int hours, int outage_start) {
  std::ofstream csv(file);
  csv << "ts,region,orders\n";
  NyRows out;
  std::tm start_tm{};
  strptime(from, "%Y-%m-%d %H:%M:%S", &start_tm);
  const std::time_t start = timegm(&start_tm);
  for (int h = 0; h < hours; ++h) {
    if (h >= outage_start && h < outage_start + 4) continue;
    for (int region = 0; region < 2; ++region) {
      if ((h * 7 + region * 13) % 100 == 3) {
        ++out.missing_leaf_hours;
        continue;
      }
      const std::time_t t = start + h * 3600 + 1800;
      std::tm tm{};
      gmtime_r(&t, &tm);
      char text[32];
      std::strftime(text, sizeof text, "%Y-%m-%d %H:%M:%S", &tm);
      csv << text << "," << (region == 0 ? "east" : "west") << "," << (20 + (h % 24) + region) << "\n";
      ++out.rows;
    }
  }
  return out;
}

}  // namespace

// A New York detector over UTC-stored naive timestamps across both 2024 DST
// changes, with missing region-hours and a 4-hour outage: backtest and
// `serve --once` on a testing clock read every row exactly once into
// intervals on the hour, store missing points as missing (never a 0), make
// the outage "no data", and agree with each other.
TEST_F(CliTest, NewYorkDetectorOverUtcRowsAcrossBothDstChanges) {
  for (const auto& [name, from, to, now] : std::vector<std::array<const char*, 4>>{
           // From local midnight (the detector's history_start), 168 hours.
           {"march", "2024-03-06 05:00:00", "2024-03-13T05:00:00Z", "2024-03-13T05:30:00Z"},
           {"november", "2024-10-30 04:00:00", "2024-11-06T04:00:00Z", "2024-11-06T04:30:00Z"}}) {
    SCOPED_TRACE(name);
    const std::string dir = Dir() + "/ny_" + name;
    std::filesystem::create_directories(dir + "/data");
    const int hours = 24 * 7;
    const NyRows rows = WriteNewYorkRows(dir + "/data/rows.csv", from, hours, 24 * 5 + 10);
    ASSERT_GT(rows.missing_leaf_hours, 0);
    const std::string config = dir + "/ny.yaml";
    std::ofstream(config) << "name: ny\nfrequency: PT1H\ntimezone: America/New_York\n"
                          << "history_start: " << std::string(from).substr(0, 10) << "\n"
                          << "source: {type: csv, path: data}\n"
                          << "timestamp: {column: ts, format: \"yyyy-MM-dd HH:mm:ss\", timezone: UTC}\n"
                          << "dimensions: [region]\nrollup_depth: 0\n"
                          << "measures: [{name: orders, aggregation: SUM}]\n";
    std::string from_iso = from;
    from_iso[10] = 'T';
    Ran bt = Osprey("backtest -q -c " + config + " --from " + from_iso + "Z --to " + to + " --state " + dir +
                    "/bt.db");
    ASSERT_EQ(bt.code, 0) << bt.out;
    EXPECT_NE(bt.out.find(std::to_string(hours) + " intervals"), std::string::npos) << bt.out;
    EXPECT_NE(bt.out.find(std::to_string(rows.rows) + " rows read"), std::string::npos) << bt.out;
    EXPECT_NE(bt.out.find("4 intervals without any row (no data)"), std::string::npos) << bt.out;
    Ran exported = Osprey("anomalies export --csv --min-severity 0 --state " + dir + "/bt.db");
    ASSERT_EQ(exported.code, 0) << exported.out;
    std::istringstream lines(exported.out);
    std::string line;
    std::getline(lines, line);
    int points = 0;
    std::set<std::string> seen;
    while (std::getline(lines, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty()) continue;
      ++points;
      // timestamp,region,measure,value,...: every interval starts on the hour.
      EXPECT_EQ(line.substr(13, 7), ":00:00Z") << line;
      EXPECT_TRUE(seen.insert(line.substr(0, line.find(',', 21))).second) << "twice: " << line;
      const std::string value = line.substr(line.find(",orders,") + 8);
      EXPECT_NE(value.substr(0, value.find(',')), "0") << "a missing point scored as 0: " << line;
    }
    // Scored: every region-hour with a row after the three-day warm-up.
    EXPECT_GT(points, 2 * 24 * 3);
    // serve --once on a testing clock: the same intervals, the same results.
    const std::string serve_dir = dir + "/serve";
    std::filesystem::create_directories(serve_dir);
    std::filesystem::copy_file(config, serve_dir + "/ny.yaml");
    std::filesystem::create_directory_symlink(dir + "/data", serve_dir + "/data");
    Ran served = Osprey(std::string("--testing-clock ") + now + " serve --once --config " + serve_dir +
                            " --state " + dir + "/serve.db",
                        OSPREY_TESTBIN);
    ASSERT_EQ(served.code, 0) << served.out;
    Ran exported_serve = Osprey("anomalies export --csv --min-severity 0 --state " + dir + "/serve.db");
    EXPECT_EQ(exported_serve.out, exported.out);
    EXPECT_GT(points, 0);
  }
}
