#include "osprey/app/demo_data.h"

#include <fmt/format.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>

#include "osprey/connectors/sqlite_source.h"

namespace osprey::app {
namespace {

constexpr double kPi = 3.14159265358979323846;

}  // namespace

DemoData GenerateDemoData(const DemoOptions& o) {
  DemoData data;
  data.platforms = {"pc_web", "mobile_web", "mobile_app"};
  data.marketplaces = {"us", "uk", "de", "fr", "es", "it", "jp"};
  if (o.harder) data.marketplaces.push_back("nl");  // starts late
  data.start = o.start;
  data.end = o.start + std::chrono::hours(24 * o.days);
  const int np = 3, nm = 7;  // events pick among the first 7 marketplaces
  const int nm_all = static_cast<int>(data.marketplaces.size());
  const double platform_scale[np] = {1.0, 0.7, 1.3};
  const double market_scale[nm + 1] = {3.0, 1.5, 1.4, 1.1, 0.8, 0.7, 1.6, 0.9};
  const int market_utc_offset[nm + 1] = {-5, 0, 1, 1, 1, 1, 9, 1};  // local peak hours differ
  const double revenue_per_view[np] = {0.35, 0.25, 0.30};
  std::mt19937_64 rng(o.seed);
  std::normal_distribution<double> gauss(0, 1);

  // Events: non-overlapping, at least two days apart, after the clean weeks.
  const int64_t hours = 24 * o.days;
  int64_t h = 24 * o.clean_days;
  int id = 0;
  std::uniform_int_distribution<int> gap(48, 120);
  std::uniform_real_distribution<double> u(0, 1);
  while (true) {
    h += gap(rng);
    DemoEvent e;
    e.id = ++id;
    double r = u(rng);
    int length;
    if (r < 0.4) {
      e.kind = "spike";
      e.factor = 1.8 + u(rng);
      length = 1 + static_cast<int>(u(rng) * 3);
    } else if (r < 0.75) {
      e.kind = "dip";
      e.factor = 0.15 + 0.25 * u(rng);
      length = 1 + static_cast<int>(u(rng) * 3);
    } else {
      e.kind = "level_shift";
      e.factor = u(rng) < 0.5 ? 0.45 : 1.7;
      length = 6 + static_cast<int>(u(rng) * 7);
    }
    if (h + length + 24 >= hours) break;
    e.measure = u(rng) < 0.75 ? "views" : "revenue";
    double s = u(rng);
    int pi = static_cast<int>(u(rng) * np), mi = static_cast<int>(u(rng) * nm);
    if (s < 0.55) {
      e.scope = {{"platform", data.platforms[pi]}, {"marketplace", data.marketplaces[mi]}};
    } else if (s < 0.8) {
      e.scope = {{"marketplace", data.marketplaces[mi]}};
    } else {
      e.scope = {{"platform", data.platforms[pi]}};
    }
    e.start = o.start + std::chrono::hours(h);
    e.end = e.start + std::chrono::hours(length);
    data.events.push_back(e);
    h += length;
  }

  // The harder parts draw from their own generator.
  std::mt19937_64 hard_rng(o.seed ^ 0x9e3779b97f4a7c15ULL);
  std::normal_distribution<double> hard_gauss(0, 1);
  auto overlaps = [&](int64_t from_h, int64_t to_h) {  // [from, to) in hours, with a day's margin
    for (const DemoEvent& e : data.events) {
      int64_t es = (ToUnixSeconds(e.start) - ToUnixSeconds(o.start)) / 3600;
      int64_t ee = (ToUnixSeconds(e.end) - ToUnixSeconds(o.start)) / 3600;
      if (from_h < ee + 24 && es < to_h + 24) return true;
    }
    return false;
  };
  if (o.harder && o.days > o.clean_days + 14) {
    for (int k = 0, tries = 0; k < o.holidays && tries < 1000; ++tries) {
      const int mi = static_cast<int>(u(hard_rng) * nm);
      const int64_t day = o.clean_days + 7 +
                          static_cast<int64_t>(u(hard_rng) * static_cast<double>(o.days - o.clean_days - 9));
      const int64_t from_h = day * 24 - market_utc_offset[mi];  // local midnight
      if (overlaps(from_h, from_h + 24)) continue;
      DemoEvent e;
      e.id = ++id;
      e.kind = "holiday";
      e.measure = "views";
      e.scope = {{"marketplace", data.marketplaces[mi]}};
      e.start = o.start + std::chrono::hours(from_h);
      e.end = e.start + std::chrono::hours(24);
      e.factor = 0.6;
      data.events.push_back(e);
      ++k;
    }
    for (int k = 0, tries = 0; k < o.missing_gaps && tries < 1000; ++tries) {
      const int pi = static_cast<int>(u(hard_rng) * np), mi = static_cast<int>(u(hard_rng) * nm);
      const int64_t from_h =
          24 * o.clean_days +
          static_cast<int64_t>(u(hard_rng) * static_cast<double>(hours - 24 * o.clean_days - 48));
      const int length = 1 + static_cast<int>(u(hard_rng) * 3);
      if (overlaps(from_h, from_h + length)) continue;
      DemoEvent e;
      e.id = ++id;
      e.kind = "missing_rows";
      e.measure = "views";
      e.scope = {{"platform", data.platforms[pi]}, {"marketplace", data.marketplaces[mi]}};
      e.start = o.start + std::chrono::hours(from_h);
      e.end = e.start + std::chrono::hours(length);
      e.factor = 0;
      data.events.push_back(e);
      ++k;
    }
  }

  data.rows.reserve(static_cast<size_t>(hours * np * nm_all));
  for (int64_t t = 0; t < hours; ++t) {
    Instant ts = o.start + std::chrono::hours(t);
    int64_t dow = (t / 24) % 7;  // 0 = Monday
    for (int p = 0; p < np; ++p) {
      for (int m = 0; m < nm_all; ++m) {
        const bool late = m >= nm;
        if (late && t < 24 * o.late_start_day) continue;
        int64_t local_hour = ((t + market_utc_offset[m]) % 24 + 24) % 24;
        bool holiday = false;
        bool missing = false;
        for (const DemoEvent& e : data.events) {
          if (e.kind != "holiday" && e.kind != "missing_rows") continue;
          if (ts < e.start || ts >= e.end) continue;
          if (e.scope.at("marketplace") != data.marketplaces[m]) continue;
          if (e.kind == "holiday") holiday = true;
          else if (e.scope.at("platform") == data.platforms[p]) missing = true;
        }
        double daily =
            1.0 + (holiday ? 0.2 : 0.6) * std::sin(2 * kPi * static_cast<double>(local_hour - 9) / 24.0);
        double weekly = (dow >= 5) ? (p == 0 ? 0.7 : 1.15) : 1.0;
        double mean = 100.0 * platform_scale[p] * market_scale[m] * daily * weekly;
        if (holiday) mean *= 0.6;
        if (o.harder && m == 4) mean *= 1.0 + 0.5 * static_cast<double>(t) / static_cast<double>(hours);
        if (o.harder && m == 5) mean *= 1.0 - 0.3 * static_cast<double>(t) / static_cast<double>(hours);
        std::normal_distribution<double>& g = late ? hard_gauss : gauss;
        std::mt19937_64& gen = late ? hard_rng : rng;
        double views = mean + g(gen) * (std::sqrt(mean) + 0.03 * mean);
        double rpv = revenue_per_view[p] * (1.0 + 0.03 * g(gen));
        if (missing) continue;
        for (const DemoEvent& e : data.events) {
          if (e.kind == "holiday" || e.kind == "missing_rows") continue;
          if (ts < e.start || ts >= e.end) continue;
          auto pl = e.scope.find("platform");
          auto mk = e.scope.find("marketplace");
          if (pl != e.scope.end() && pl->second != data.platforms[p]) continue;
          if (mk != e.scope.end() && mk->second != data.marketplaces[m]) continue;
          if (e.measure == "views") views *= e.factor;
          else rpv *= e.factor;
        }
        int64_t v = std::max<int64_t>(0, std::llround(views));
        double revenue = std::round(static_cast<double>(v) * rpv * 100) / 100;
        data.rows.push_back({ToUnixSeconds(ts), p, m, v, revenue});
      }
    }
  }
  return data;
}

Status WriteDemoWarehouse(const DemoData& data, const std::string& path) {
  std::error_code ec;
  std::filesystem::remove(path, ec);
  OSPREY_ASSIGN_OR_RETURN(auto db, connectors::SqliteWriter::Open(path));
  OSPREY_RETURN_IF_ERROR(db->Execute(R"sql(
create table platform(id integer primary key, name varchar(30));
create table marketplace(id integer primary key, name varchar(30));
create table ecommerce(
  id integer primary key,
  ts timestamp not null,
  platform int not null references platform(id),
  marketplace int not null references marketplace(id),
  views int,
  revenue decimal(9,2));
)sql"));
  std::vector<std::vector<Cell>> rows;
  for (size_t i = 0; i < data.platforms.size(); ++i) {
    rows.push_back({Cell::Integer(static_cast<int64_t>(i)), Cell::Text(data.platforms[i])});
  }
  OSPREY_RETURN_IF_ERROR(db->InsertRows("insert into platform values (?, ?)", rows));
  rows.clear();
  for (size_t i = 0; i < data.marketplaces.size(); ++i) {
    rows.push_back({Cell::Integer(static_cast<int64_t>(i)), Cell::Text(data.marketplaces[i])});
  }
  OSPREY_RETURN_IF_ERROR(db->InsertRows("insert into marketplace values (?, ?)", rows));
  rows.clear();
  TimestampFormat fmt = *TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  std::vector<std::string> stamps;
  stamps.reserve(data.rows.size());
  for (const DemoRow& r : data.rows) stamps.push_back(fmt.Format(FromUnixSeconds(r.ts), TimeZone::Utc()));
  rows.reserve(data.rows.size());
  for (size_t i = 0; i < data.rows.size(); ++i) {
    const DemoRow& r = data.rows[i];
    rows.push_back({Cell::Text(stamps[i]), Cell::Integer(r.platform), Cell::Integer(r.marketplace),
                    Cell::Integer(r.views), Cell::Real(r.revenue)});
  }
  OSPREY_RETURN_IF_ERROR(db->InsertRows(
      "insert into ecommerce(ts, platform, marketplace, views, revenue) values (?, ?, ?, ?, ?)", rows));
  return db->Execute("create index ecommerce_ts on ecommerce(ts)");
}

Status WriteGroundTruth(const DemoData& data, const std::string& path) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return Unavailable(fmt::format("cannot write '{}'", path));
  out << "id,kind,measure,scope,start,end,factor\n";
  for (const DemoEvent& e : data.events) {
    std::string scope;
    for (const auto& [k, v] : e.scope) scope += (scope.empty() ? "" : "&") + k + "=" + v;
    out << fmt::format("{},{},{},{},{},{},{:.3f}\n", e.id, e.kind, e.measure, scope, FormatIso(e.start),
                       FormatIso(e.end), e.factor);
  }
  if (!out) return Unavailable(fmt::format("error writing '{}'", path));
  return Status::Ok();
}

}  // namespace osprey::app
