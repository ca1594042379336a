#include "osprey/app/detect_config.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <set>

#include "osprey/base/csv.h"
#include "osprey/config/loader.h"
#include "osprey/connectors/source.h"

namespace osprey::app {
namespace {

constexpr const char* kFormats[] = {"yyyy-MM-dd HH:mm:ss",
                                    "yyyy-MM-dd'T'HH:mm:ssXXX",
                                    "yyyy-MM-dd'T'HH:mm:ss",
                                    "yyyy-MM-dd HH:mm:ssXXX",
                                    "yyyy-MM-dd HH:mm",
                                    "yyyy-MM-dd'T'HH:mm",
                                    "yyyy/MM/dd HH:mm:ss",
                                    "dd/MM/yyyy HH:mm:ss",
                                    "MM/dd/yyyy HH:mm:ss",
                                    "dd.MM.yyyy HH:mm:ss",
                                    "yyyy-MM-dd",
                                    "yyyyMMdd",
                                    "iso8601",
                                    "epoch",
                                    "epoch_millis"};

constexpr std::pair<const char*, int64_t> kFrequencies[] = {
    {"PT1M", 60},   {"PT5M", 300},   {"PT10M", 600},  {"PT15M", 900},   {"PT30M", 1800}, {"PT1H", 3600},
    {"PT2H", 7200}, {"PT3H", 10800}, {"PT6H", 21600}, {"PT12H", 43200}, {"P1D", 86400},  {"P7D", 604800}};

// A column name's words, lower case: "p95LatencyMs" and "p95_latency_ms"
// both give {p95, latency, ms}.
std::vector<std::string> NameWords(std::string_view name) {
  std::vector<std::string> words(1);
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      if (!words.back().empty()) words.emplace_back();
      continue;
    }
    if (std::isupper(static_cast<unsigned char>(c)) && i > 0 &&
        std::islower(static_cast<unsigned char>(name[i - 1])) && !words.back().empty()) {
      words.emplace_back();
    }
    words.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (words.back().empty()) words.pop_back();
  return words;
}

bool AnyWord(std::string_view name, std::initializer_list<std::string_view> vocabulary) {
  for (const std::string& w : NameWords(name)) {
    if (std::find(vocabulary.begin(), vocabulary.end(), w) != vocabulary.end()) return true;
  }
  return false;
}

// A measure whose name reads as a level, mean or rate rather than an amount
// (summing latencies or error rates over rows means nothing).
bool NamesAnAverage(std::string_view name) {
  return AnyWord(
      name, {"latency",     "duration", "time",  "ms",          "avg",        "mean",  "average", "median",
             "rate",        "ratio",    "pct",   "percent",     "percentage", "share", "price",   "score",
             "temperature", "temp",     "speed", "utilization", "util",       "cpu",   "load",    "p50",
             "p90",         "p95",      "p99",   "conversion",  "ctr",        "level"});
}

// A measure whose name reads as a count of failed events (errors,
// failures, timeouts, rejections): the numerator of a failure rate.
bool NamesFailures(std::string_view name) {
  return AnyWord(name, {"error", "errors", "failure", "failures", "failed", "fails", "timeout", "timeouts",
                        "rejected", "rejections", "exceptions", "crashes", "bounces", "5xx"});
}

// A measure whose name reads as the count of events that a row's averages
// are over (the weight of a pre-aggregated mean).
bool NamesACount(std::string_view name) {
  return AnyWord(name, {"requests", "request", "calls", "hits", "sessions", "visits", "views", "events",
                        "transactions", "samples", "count", "n"}) &&
         !NamesFailures(name);
}

// The name of the rate of a failure count: its words without count words,
// the last one singular, and "rate" ("errors" and "error_count" give
// "error_rate", "failedRequests" gives "failed_request_rate").
std::string RateName(std::string_view failures) {
  std::vector<std::string> words;
  for (std::string& w : NameWords(failures)) {
    if (w != "count" && w != "n" && w != "num" && w != "total" && w != "cnt") words.push_back(std::move(w));
  }
  if (words.empty()) return std::string(failures) + "_rate";
  std::string& last = words.back();
  if (last.size() > 3 && last.back() == 's' && last[last.size() - 2] != 's') last.pop_back();
  words.emplace_back("rate");
  return fmt::format("{}", fmt::join(words, "_"));
}

bool IsNumber(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  return !s.empty() && ec == std::errc() && p == s.data() + s.size();
}

// Parses every value of column `c` with `format`; the instants when at least
// 95% of the non-null values parse, else nothing.
std::optional<std::vector<Instant>> TryFormat(const Sample& s, size_t c, const std::string& format) {
  Result<TimestampFormat> f = TimestampFormat::Parse(format);
  if (!f.ok()) return std::nullopt;
  const bool epoch = format.rfind("epoch", 0) == 0;
  std::vector<Instant> out;
  size_t values = 0;
  for (const auto& row : s.rows) {
    const Sample::Value& v = row[c];
    if (v.null) continue;
    ++values;
    if (epoch) {
      // Plausible epochs only (2001..2096), so that counts are not timestamps.
      double x = 0;
      if (!IsNumber(v.text)) continue;
      std::from_chars(v.text.data(), v.text.data() + v.text.size(), x);
      const double lo = format == "epoch" ? 1e9 : 1e12;
      if (x < lo || x > 4 * lo) continue;
    }
    Result<Instant> t = f->ParseValue(v.text, TimeZone::Utc());
    if (t.ok()) out.push_back(*t);
  }
  if (values == 0 || out.size() * 100 < values * 95) return std::nullopt;
  return out;
}

// Whether every non-null value of column `c` names its instant by itself (a
// UTC offset, "Z" or an epoch number): it then parses to the same instant in
// UTC and in a zone far from it.
bool ValuesCarryTheirOffset(const Sample& s, size_t c, const std::string& format) {
  Result<TimestampFormat> f = TimestampFormat::Parse(format);
  Result<TimeZone> far = TimeZone::Load("Asia/Tokyo");
  if (!f.ok() || !far.ok()) return false;
  for (const auto& row : s.rows) {
    const Sample::Value& v = row[c];
    if (v.null) continue;
    Result<Instant> utc = f->ParseValue(v.text, TimeZone::Utc());
    Result<Instant> other = f->ParseValue(v.text, *far);
    if (utc.ok() != other.ok() || (utc.ok() && *utc != *other)) return false;
  }
  return true;
}

int NameScore(const std::string& name) {
  std::string n;
  for (char ch : name) n.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
  for (const char* good : {"timestamp", "ts", "time", "datetime", "date", "created_at", "event_time"}) {
    if (n == good) return 2;
  }
  return n.find("time") != std::string::npos || n.find("date") != std::string::npos ? 1 : 0;
}

}  // namespace

Result<DetectConfigResult> ProposeFromSample(const Sample& s, const DetectConfigRequest& req) {
  if (s.rows.empty()) {
    return InvalidArgument("the query returned no rows to sample; widen it or check the data");
  }
  DetectConfigResult out;
  config::Detector& d = out.detector;
  d.name = req.name;
  d.source.type = req.type;
  d.source.path = req.path;
  d.source.connection_env = req.connection_env;
  d.query = req.type == config::SourceType::kCsv ? "" : req.query;

  // Timestamp: the best-named column with a format that parses ~all values;
  // text formats before epoch numbers.
  int best_score = -1;
  size_t ts_col = 0;
  std::vector<Instant> stamps;
  for (size_t c = 0; c < s.columns.size(); ++c) {
    for (const char* format : kFormats) {
      auto parsed = TryFormat(s, c, format);
      if (!parsed) continue;
      const bool epoch = std::string_view(format).rfind("epoch", 0) == 0;
      const int score = NameScore(s.columns[c]) * 2 + (epoch ? 0 : 1);
      if (score > best_score) {
        best_score = score;
        ts_col = c;
        d.timestamp_format = format;
        stamps = std::move(*parsed);
      }
      break;  // first matching format of a column wins
    }
  }
  if (best_score < 0) {
    return InvalidArgument(
        fmt::format("no column of ({}) parses as a timestamp in any known "
                    "format; set timestamp.format by hand",
                    fmt::join(s.columns, ", ")));
  }
  d.timestamp_column = s.columns[ts_col];
  out.notes.push_back(
      fmt::format("timestamp: column '{}', format '{}'", d.timestamp_column, d.timestamp_format));
  // Naive values are read in timestamp.timezone, which is spelt out (UTC, the
  // usual way to store them) so that changing the detector's timezone later
  // does not move every row; values with an offset need no zone.
  if (ValuesCarryTheirOffset(s, ts_col, d.timestamp_format)) {
    out.notes.push_back(
        "timestamp: the values carry their UTC offset (or are epoch numbers) and "
        "are read by it; no timestamp.timezone needed");
  } else {
    d.timestamp_timezone = TimeZone::Utc();
    out.notes.push_back(
        "timestamp: the values carry no UTC offset; proposed timestamp.timezone: "
        "UTC, set it to the zone the column is stored in");
  }

  // Frequency: median spacing of distinct timestamps, snapped to the nearest
  // standard duration on a log scale.
  std::set<Instant> distinct(stamps.begin(), stamps.end());
  std::vector<int64_t> gaps;
  for (auto it = distinct.begin(); std::next(it) != distinct.end() && it != distinct.end(); ++it) {
    gaps.push_back(ToUnixSeconds(*std::next(it)) - ToUnixSeconds(*it));
  }
  std::string freq = "PT1H";
  if (!gaps.empty()) {
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<long>(gaps.size() / 2), gaps.end());
    const double median = static_cast<double>(gaps[gaps.size() / 2]);
    double best = 1e300;
    for (const auto& [name, seconds] : kFrequencies) {
      const double dist = std::fabs(std::log(std::max(median, 1.0) / static_cast<double>(seconds)));
      if (dist < best) {
        best = dist;
        freq = name;
      }
    }
    out.notes.push_back(
        fmt::format("frequency: {} (median spacing of {} distinct timestamps: "
                    "{} s)",
                    freq, distinct.size(), median));
  } else {
    out.notes.push_back("frequency: PT1H (one distinct timestamp only: a guess)");
  }
  d.frequency = *Duration::Parse(freq);

  // Dimensions: text columns with few distinct values; measures: numbers.
  const size_t max_distinct = std::max<size_t>(2, std::min<size_t>(100, s.rows.size() / 2));
  for (size_t c = 0; c < s.columns.size(); ++c) {
    if (c == ts_col) continue;
    size_t numbers = 0, values = 0;
    std::set<std::string> texts;
    for (const auto& row : s.rows) {
      const Sample::Value& v = row[c];
      if (v.null) continue;
      ++values;
      if (v.number || IsNumber(v.text)) ++numbers;
      if (texts.size() <= max_distinct) texts.insert(v.text);
    }
    if (values == 0) {
      out.notes.push_back(fmt::format("'{}': only NULLs in the sample, left out", s.columns[c]));
    } else if (numbers == values) {
      config::Measure m;
      m.name = s.columns[c];
      m.aggregation = config::Aggregation::kSum;
      d.measures.push_back(std::move(m));
    } else if (texts.size() <= max_distinct) {
      d.dimensions.push_back(s.columns[c]);
    } else {
      out.notes.push_back(
          fmt::format("'{}': text with more than {} distinct values, left out "
                      "(too many series)",
                      s.columns[c], max_distinct));
    }
  }
  if (d.measures.empty()) {
    return InvalidArgument(
        fmt::format("no numeric column to measure among ({})", fmt::join(s.columns, ", ")));
  }
  // Averages by their names (latency, error rate, price); each weighted by
  // the one measure that reads as the count of what they average, when
  // there is exactly one (requests beside latency: the rows are averages
  // already, and a roll-up must weigh them).
  std::vector<std::string> counts;
  for (const auto& m : d.measures) {
    if (!NamesAnAverage(m.name) && NamesACount(m.name)) counts.push_back(m.name);
  }
  std::vector<std::string> sums, averages;
  for (auto& m : d.measures) {
    if (!NamesAnAverage(m.name)) {
      sums.push_back(m.name);
      continue;
    }
    m.aggregation = config::Aggregation::kAvg;
    if (counts.size() == 1) m.weight = counts[0];
    averages.push_back(m.weight ? fmt::format("{} weighted by {}", m.name, *m.weight) : m.name);
  }
  // Failure rates: each count of failures over the one count of events
  // (errors over requests), as a ratio measure, unless a measure of that
  // name is there already (a rate stored per row, weighted above). A
  // roll-up's rate is then its errors over its requests, and each point is
  // judged by its requests (docs/configuration.md, "Ratio measures").
  std::vector<std::string> rates;
  if (counts.size() == 1) {
    std::vector<config::Measure> added;
    for (const auto& m : d.measures) {
      if (m.aggregation != config::Aggregation::kSum || !NamesFailures(m.name) || m.name == counts[0])
        continue;
      const std::string name = RateName(m.name);
      const auto taken = [&](const config::Measure& o) { return o.name == name; };
      if (std::any_of(d.measures.begin(), d.measures.end(), taken) ||
          std::any_of(added.begin(), added.end(), taken)) {
        continue;
      }
      config::Measure r;
      r.name = name;
      r.ratio = config::RatioOf{m.name, counts[0]};
      rates.push_back(fmt::format("{} = {} / {}", name, m.name, counts[0]));
      added.push_back(std::move(r));
    }
    for (auto& r : added) d.measures.push_back(std::move(r));
  }
  out.notes.push_back(fmt::format("dimensions: {}; measures (SUM): {}", fmt::join(d.dimensions, ", "),
                                  fmt::join(sums, ", ")));
  if (!rates.empty()) {
    out.notes.push_back(
        fmt::format("ratio measures (a count of failures over the count of events; judged by the events): {}",
                    fmt::join(rates, ", ")));
  }
  if (!averages.empty()) {
    out.notes.push_back(fmt::format(
        "measures (AVG, their names read as averages): {}{}", fmt::join(averages, ", "),
        counts.size() == 1
            ? fmt::format("; each row taken as an average over its '{}' (remove `weight` if every row is "
                          "a single event)",
                          counts[0])
        : counts.empty() ? "; no count measure to weigh them by (add `weight: COUNT_MEASURE` if each row "
                           "averages several events)"
                         : fmt::format("; several count measures ({}): add `weight: ONE_OF_THEM` if each "
                                       "row averages several events",
                                       fmt::join(counts, ", "))));
  }
  return out;
}

std::string ProposalYaml(const DetectConfigResult& r) {
  std::string yaml = config::DetectorToYaml(r.detector);
  if (r.detector.timestamp_timezone) {
    const size_t at = yaml.rfind("\ntimestamp:");
    if (at != std::string::npos) {
      yaml.insert(at + 1,
                  "# timestamp.timezone: the zone the column's values are read in when they carry\n"
                  "# no UTC offset (independent of the detector's timezone). Set it to the zone\n"
                  "# the column is stored in; a TIMESTAMPTZ column reads correctly as UTC.\n");
    }
  }
  return yaml;
}

namespace {

class Sampler : public RowHandler {
 public:
  Sampler(Sample& s, int64_t limit) : s_(s), limit_(limit) {}
  Status OnColumns(const std::vector<std::string>& names) override {
    s_.columns = names;
    return Status::Ok();
  }
  Status OnRow(const std::vector<Cell>& cells) override {
    std::vector<Sample::Value> row;
    for (const Cell& c : cells) {
      Sample::Value v;
      switch (c.type) {
        case Cell::Type::kNull: v.null = true; break;
        case Cell::Type::kInteger:
          v.number = true;
          v.text = std::to_string(c.integer);
          break;
        case Cell::Type::kReal:
          v.number = true;
          v.text = fmt::format("{}", c.real);
          break;
        case Cell::Type::kText: v.text = std::string(c.text); break;
      }
      row.push_back(std::move(v));
    }
    s_.rows.push_back(std::move(row));
    if (static_cast<int64_t>(s_.rows.size()) >= limit_) {
      full = true;
      return FailedPrecondition("sample complete");  // stops the query
    }
    return Status::Ok();
  }
  bool full = false;

 private:
  Sample& s_;
  int64_t limit_;
};

Status SampleCsv(const std::string& dir, int64_t limit, Sample& s) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  for (std::filesystem::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string ext = it->path().extension().string();
    if (it->is_regular_file() && (ext == ".csv" || ext == ".tsv" || ext == ".txt")) {
      files.push_back(it->path());
    }
  }
  if (ec) return Unavailable(fmt::format("cannot list '{}': {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    CsvReader reader(in, f.string(), CsvOptions{f.extension() == ".tsv" ? '\t' : ',', '"'});
    std::vector<std::string> fields;
    bool header = true;
    while (static_cast<int64_t>(s.rows.size()) < limit) {
      OSPREY_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
      if (!more) break;
      if (header) {
        header = false;
        if (s.columns.empty()) s.columns = fields;
        continue;
      }
      if (fields.size() != s.columns.size()) continue;
      std::vector<Sample::Value> row;
      for (auto& x : fields) row.push_back({x.empty(), false, x});
      s.rows.push_back(std::move(row));
    }
  }
  if (files.empty()) return NotFound(fmt::format("no .csv/.tsv/.txt files under '{}'", dir));
  return Status::Ok();
}

}  // namespace

Result<DetectConfigResult> SampleAndPropose(const DetectConfigRequest& req) {
  Sample sample;
  if (req.type == config::SourceType::kCsv) {
    std::string dir = req.path;
    if (!req.connection_env.empty()) {
      if (const char* e = std::getenv(req.connection_env.c_str()); e && *e) dir = e;
    }
    OSPREY_RETURN_IF_ERROR(SampleCsv(dir, req.sample_rows, sample));
  } else {
    config::Detector probe;
    probe.name = req.name;
    probe.source.type = req.type;
    probe.source.path = req.path;
    probe.source.connection_env = req.connection_env;
    probe.query = req.query;
    probe.timestamp_format = "yyyy-MM-dd HH:mm:ss";
    OSPREY_ASSIGN_OR_RETURN(auto source, connectors::OpenSource(probe));
    Sampler sampler(sample, req.sample_rows);
    const connectors::QueryRange wide{*ParseInstant("1970-01-01", TimeZone::Utc()),
                                      *ParseInstant("2100-01-01", TimeZone::Utc())};
    Status s = source->Query(wide, sampler);
    if (!s.ok() && !sampler.full) return s;
  }
  return ProposeFromSample(sample, req);
}

}  // namespace osprey::app
