#include "osprey/connectors/push_down.h"

#include <fmt/format.h>

#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/log.h"
#include "osprey/config/detector.h"

namespace osprey::connectors {
namespace {

// Bucket sizes tried, largest first; a bucket must divide the frequency.
constexpr std::array<int64_t, 12> kBuckets = {86400, 43200, 21600, 10800, 7200, 3600,
                                              1800,  900,   600,   300,   120,  60};

// Text timestamp formats whose values the database's date functions read
// as the row path does (naive wall clock, or with an offset on SQLite).
bool DatabaseReadsFormat(const config::Detector& d) {
  const std::string& f = d.timestamp_format;
  if (f == "epoch" || f == "epoch_millis") return true;
  static const char* kIso[] = {"yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd HH:mm",
                               "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd"};
  for (const char* iso : kIso) {
    if (f == iso) return true;
  }
  if (d.source.type == config::SourceType::kSqlite) {
    // strftime reads "Z" and "+hh:mm" and returns UTC.
    for (const char* iso : kIso) {
      if (f == std::string(iso) + "XXX") return true;
    }
  }
  return false;
}

bool SimpleIdentifier(std::string_view s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return true;
}

std::string Quote(config::SourceType t, std::string_view name) {
  const char q = t == config::SourceType::kMysql ? '`' : '"';
  std::string out(1, q);
  for (char c : name) {
    if (c == q) out += q;
    out += c;
  }
  out += q;
  return out;
}

// A column of the detector's query, as the query's own unquoted name would
// be resolved (so the database folds its case as it did for the query).
std::string Column(config::SourceType t, const std::string& name) {
  return "osprey_q." + (SimpleIdentifier(name) ? name : Quote(t, name));
}

// Floor division of a number of seconds by `u`, as an integer bucket number.
std::string Bucket(const config::Detector& d, const std::string& ts, int64_t u) {
  const config::SourceType t = d.source.type;
  std::string seconds;
  if (d.timestamp_format == "epoch") {
    seconds = ts;
  } else if (d.timestamp_format == "epoch_millis") {
    seconds = fmt::format("({} / 1000.0)", ts);
  } else if (t == config::SourceType::kPostgres) {
    // Naive timestamps: wall-clock seconds; with a zone: UTC seconds.
    // date_part gives double precision (extract gives numeric since
    // PostgreSQL 14, several times slower per row); whole seconds up to
    // 2^53 are exact and floor((k*u - e) / u) stays below k for any e > 0
    // of microsecond size.
    seconds = fmt::format("date_part('epoch', {})", ts);
  } else if (t == config::SourceType::kMysql) {
    seconds = fmt::format("TIMESTAMPDIFF(SECOND, '1970-01-01 00:00:00', {})", ts);
  } else {
    seconds = fmt::format("CAST(strftime('%s', {}) AS INTEGER)", ts);
  }
  if (t == config::SourceType::kSqlite) {
    // SQLite's integer division truncates towards zero; shift so the
    // dividend is positive for any instant after year 0.
    return fmt::format("CAST((({}) + 62167219200) / {} AS INTEGER)", seconds, u);
  }
  return fmt::format("FLOOR(({}) / {})", seconds, u);
}

// Rows of the aggregated query, kept until the whole result is known to be
// one the row path would give the same answer for, then replayed.
class Buffer final : public RowHandler {
 public:
  Status OnColumns(const std::vector<std::string>& names) override {
    names_ = names;
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == kPushedOtherColumn) other_col_ = static_cast<int>(i);
      if (names[i].rfind("osprey_pd_", 0) == 0 && names[i] != kPushedOtherColumn) {
        numeric_cols_.push_back(i);
      }
    }
    return Status::Ok();
  }
  Status OnRow(const std::vector<Cell>& cells) override {
    // Flat: a cell is its type (a byte) and 8 bytes (its integer, the bits
    // of its real, or where its text ends in text_, which holds every text
    // back to back); a buffered row costs no allocation of its own. Vectors,
    // not deques: large vectors are mapped and given back to the system when
    // the buffer goes, while a deque's blocks would stay in the heap.
    for (const Cell& c : cells) {
      uint64_t bits = 0;
      switch (c.type) {
        case Cell::Type::kNull: break;
        case Cell::Type::kInteger: bits = static_cast<uint64_t>(c.integer); break;
        case Cell::Type::kReal: bits = std::bit_cast<uint64_t>(c.real); break;
        case Cell::Type::kText:
          text_.append(c.text);
          bits = text_.size();
          break;
      }
      types_.push_back(static_cast<uint8_t>(c.type));
      bits_.push_back(bits);
    }
    width_ = cells.size();
    ++rows_;
    for (size_t i : numeric_cols_) {
      if (!Finite(cells[i])) unsafe_ = "a value the row path rejects (not a finite number)";
    }
    if (other_col_ >= 0) {
      const Cell& c = cells[static_cast<size_t>(other_col_)];
      const double n = c.type == Cell::Type::kInteger ? static_cast<double>(c.integer)
                       : c.type == Cell::Type::kReal  ? c.real
                       : c.type == Cell::Type::kText  ? std::atof(std::string(c.text).c_str())
                                                      : 0.0;
      if (n != 0) unsafe_ = "a measure value that is not a number of the database";
    }
    return Status::Ok();
  }
  const std::string& unsafe() const { return unsafe_; }
  size_t rows() const { return rows_; }
  Status Replay(RowHandler& to) {
    OSPREY_RETURN_IF_ERROR(to.OnColumns(names_));
    std::vector<Cell> cells(width_);
    const std::string_view text = text_;
    size_t at = 0, text_at = 0;
    for (size_t r = 0; r < rows_; ++r) {
      for (size_t i = 0; i < width_; ++i, ++at) {
        const uint64_t bits = bits_[at];
        Cell& c = cells[i];
        c = Cell{};
        c.type = static_cast<Cell::Type>(types_[at]);
        switch (c.type) {
          case Cell::Type::kNull: break;
          case Cell::Type::kInteger: c.integer = static_cast<int64_t>(bits); break;
          case Cell::Type::kReal: c.real = std::bit_cast<double>(bits); break;
          case Cell::Type::kText:
            c.text = text.substr(text_at, bits - text_at);
            text_at = bits;
            break;
        }
      }
      OSPREY_RETURN_IF_ERROR(to.OnRow(cells));
    }
    return Status::Ok();
  }

 private:
  static bool Finite(const Cell& c) {
    switch (c.type) {
      case Cell::Type::kNull:
      case Cell::Type::kInteger: return true;
      case Cell::Type::kReal: return std::isfinite(c.real);
      case Cell::Type::kText: {
        double v = 0;
        auto [p, ec] = std::from_chars(c.text.data(), c.text.data() + c.text.size(), v);
        return ec == std::errc() && p == c.text.data() + c.text.size() && std::isfinite(v);
      }
    }
    return false;
  }
  std::vector<std::string> names_;
  std::vector<size_t> numeric_cols_;
  int other_col_ = -1;
  std::string unsafe_;
  std::vector<uint8_t> types_;  // rows_ x width_ cells
  std::vector<uint64_t> bits_;
  std::string text_;
  size_t width_ = 0;
  size_t rows_ = 0;
};

class PushDownSource final : public Source {
 public:
  PushDownSource(config::Detector d, RawSourceOpener open, std::unique_ptr<Source> raw)
      : d_(std::move(d)), open_(std::move(open)), raw_(std::move(raw)) {}

  Status Query(const QueryRange& range, RowHandler& handler) override {
    std::optional<int64_t> u = disabled_ ? std::nullopt : ExactBucket(d_, range.start, range.end);
    if (!u) return Raw(range, handler);
    auto& pushed = pushed_[*u];
    if (!pushed) {
      config::Detector copy = d_;
      OSPREY_ASSIGN_OR_RETURN(copy.query, RenderPushDownQuery(d_, *u));
      auto opened = open_(copy);
      if (!opened.ok()) return Disable(opened.status(), range, handler);
      pushed = *std::move(opened);
    }
    Buffer buffer;
    Status s = pushed->Query(range, buffer);
    if (!s.ok()) {
      // The database could not run the aggregation (a text column where
      // its date or sum functions want numbers): read rows from now on.
      // Connection trouble is the row path's trouble too: report it.
      if (s.code() != StatusCode::kInvalidArgument) return s;
      return Disable(s, range, handler);
    }
    if (!buffer.unsafe().empty()) {
      Log(LogLevel::kInfo, fmt::format("detector '{}': [{}, {}) holds {}; read row by row", d_.name,
                                       FormatIso(range.start), FormatIso(range.end), buffer.unsafe()));
      return Raw(range, handler);
    }
    return buffer.Replay(handler);
  }

 private:
  Status Raw(const QueryRange& range, RowHandler& handler) {
    if (!raw_) {
      OSPREY_ASSIGN_OR_RETURN(raw_, open_(d_));
    }
    return raw_->Query(range, handler);
  }
  Status Disable(const Status& why, const QueryRange& range, RowHandler& handler) {
    disabled_ = true;
    pushed_.clear();
    Log(LogLevel::kWarn,
        fmt::format("detector '{}': the aggregation cannot run in the database ({}); reading rows "
                    "(set source.push_down: false to skip the attempt)",
                    d_.name, RedactSecrets(why.message())));
    return Raw(range, handler);
  }

  config::Detector d_;
  RawSourceOpener open_;
  bool disabled_ = false;
  std::map<int64_t, std::unique_ptr<Source>> pushed_;
  std::unique_ptr<Source> raw_;
};

}  // namespace

PushDownPlan PlanPushDown(const config::Detector& d) {
  PushDownPlan plan;
  if (d.source.type == config::SourceType::kCsv) {
    plan.reason = "a csv source has no database to aggregate in";
    return plan;
  }
  if (!d.source.push_down.value_or(d.source.type != config::SourceType::kSqlite)) {
    plan.reason = d.source.push_down
                      ? "source.push_down is false"
                      : "a sqlite source is read in-process, where osprey aggregates rows faster "
                        "than SQLite's GROUP BY (source.push_down: true pushes down anyway)";
    return plan;
  }
  if (d.measures.empty()) {
    plan.reason = "the detector has no measures";
    return plan;
  }
  for (const auto& m : d.measures) {
    if (m.ratio) {
      // Ratio measures have no column; the row path computes them from
      // their sides after aggregation.
      plan.reason = fmt::format("measure '{}' is a ratio (read row by row for now)", m.name);
      return plan;
    }
  }
  if (d.source.type != config::SourceType::kPostgres && !DatabaseReadsFormat(d)) {
    plan.reason = fmt::format(
        "timestamp.format '{}' is not one {} reads (yyyy-MM-dd HH:mm:ss and its ISO variants, epoch, "
        "epoch_millis)",
        d.timestamp_format, config::SourceTypeName(d.source.type));
    return plan;
  }
  for (int64_t u : kBuckets) {
    if (d.frequency.IsCalendar() ? 86400 % u == 0 : d.frequency.seconds % u == 0) {
      plan.bucket_seconds = u;
      break;
    }
  }
  if (plan.bucket_seconds == 0) {
    plan.reason = "the frequency is not a whole number of minutes";
    return plan;
  }
  auto sql = RenderPushDownQuery(d, plan.bucket_seconds);
  if (!sql.ok()) {
    plan.reason = sql.status().message();
    return plan;
  }
  plan.sql = *sql;
  plan.enabled = true;
  return plan;
}

Result<std::string> RenderPushDownQuery(const config::Detector& d, int64_t bucket_seconds) {
  const config::SourceType t = d.source.type;
  if (t == config::SourceType::kCsv) return InvalidArgument("a csv source cannot push down");
  const std::string ts = Column(t, d.timestamp_column);
  std::string select = fmt::format("SELECT MIN({}) AS {}", ts, Quote(t, d.timestamp_column));
  std::string group = fmt::format("{}, {} IS NULL", Bucket(d, ts, bucket_seconds), ts);
  for (const auto& dim : d.dimensions) {
    select += fmt::format(", {} AS {}", Column(t, dim), Quote(t, dim));
    group += ", " + Column(t, dim);
  }
  select += fmt::format(", COUNT(*) AS {}", Quote(t, kPushedRowsColumn));
  std::string other;
  for (size_t i = 0; i < d.measures.size(); ++i) {
    const std::string m = Column(t, d.measures[i].name);
    if (d.measures[i].weight) {
      // A weighted average (ingest::Aggregate::AddWeighted): each row counts
      // as its weight's rows; a row whose weight is not positive (or NULL)
      // has no value to weigh.
      const std::string w = Column(t, *d.measures[i].weight);
      select += fmt::format(
          ", SUM(CASE WHEN {1} > 0 THEN {0} * {1} END) AS {2}, SUM(CASE WHEN {0} IS NOT NULL AND {1} > 0 "
          "THEN {1} "
          "END) AS {3}, MIN(CASE WHEN {1} > 0 THEN {0} END) AS {4}, MAX(CASE WHEN {1} > 0 THEN {0} END) AS "
          "{5}",
          m, w, Quote(t, fmt::format("{}{}", kPushedSumPrefix, i)),
          Quote(t, fmt::format("{}{}", kPushedCountPrefix, i)),
          Quote(t, fmt::format("{}{}", kPushedMinPrefix, i)),
          Quote(t, fmt::format("{}{}", kPushedMaxPrefix, i)));
    } else {
      select += fmt::format(", SUM({0}) AS {1}, COUNT({0}) AS {2}, MIN({0}) AS {3}, MAX({0}) AS {4}", m,
                            Quote(t, fmt::format("{}{}", kPushedSumPrefix, i)),
                            Quote(t, fmt::format("{}{}", kPushedCountPrefix, i)),
                            Quote(t, fmt::format("{}{}", kPushedMinPrefix, i)),
                            Quote(t, fmt::format("{}{}", kPushedMaxPrefix, i)));
    }
    // Values the row path would read differently from the database's SUM:
    // SQLite text (also numeric text) and MySQL strings that do not print
    // back as the number they convert to. PostgreSQL refuses to sum text.
    if (t == config::SourceType::kSqlite) {
      other += fmt::format("{}({} IS NOT NULL AND typeof({}) NOT IN ('integer', 'real'))",
                           other.empty() ? "" : " + ", m, m);
    } else if (t == config::SourceType::kMysql) {
      other += fmt::format("{0}({1} IS NOT NULL AND CONCAT('', {1} + 0) <> CONCAT('', {1}))",
                           other.empty() ? "" : " + ", m);
    }
  }
  if (!other.empty()) select += fmt::format(", SUM({}) AS {}", other, Quote(t, kPushedOtherColumn));
  std::string query = d.query;
  while (!query.empty() && (std::isspace(static_cast<unsigned char>(query.back())) || query.back() == ';')) {
    query.pop_back();
  }
  return fmt::format("{}\nFROM (\n{}\n) osprey_q\nGROUP BY {}", select, query, group);
}

std::optional<int64_t> ExactBucket(const config::Detector& d, Instant from, Instant to) {
  auto grid = IntervalGrid::Create(d.frequency, d.timezone);
  if (!grid.ok() || !(from < to)) return std::nullopt;
  std::vector<Instant> bounds = grid->Starts(from, to);
  bounds.push_back(from);
  bounds.push_back(to);
  const TimeZone* zones[] = {&d.timezone, &config::SourceZone(d)};
  for (int64_t u : kBuckets) {
    if (d.frequency.IsCalendar() ? 86400 % u != 0 : d.frequency.seconds % u != 0) continue;
    bool exact = true;
    for (Instant b : bounds) {
      if (ToUnixSeconds(b) % u != 0) exact = false;
    }
    for (const TimeZone* z : zones) {
      for (Instant t = from; exact && t < to;) {
        const TimeZone::Span span = z->SpanAt(t);
        if (span.offset % u != 0) exact = false;
        if (!(span.end > t)) break;
        t = span.end;
      }
    }
    if (exact) return u;
  }
  return std::nullopt;
}

Result<std::unique_ptr<Source>> OpenPushDownSource(const config::Detector& d, RawSourceOpener open) {
  // The source as written is opened now, pushed down or not: a wrong
  // password or a query that does not prepare is an error of opening, as
  // without push-down (osprey validate and the scheduler's retries rely on it).
  OSPREY_ASSIGN_OR_RETURN(std::unique_ptr<Source> raw, open(d));
  if (!PlanPushDown(d).enabled) return raw;
  return std::unique_ptr<Source>(std::make_unique<PushDownSource>(d, std::move(open), std::move(raw)));
}

}  // namespace osprey::connectors
