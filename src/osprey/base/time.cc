#include "osprey/base/time.h"

#include <date/date.h>
#include <date/tz.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <filesystem>

namespace osprey {
namespace {

constexpr int64_t kDay = 86400;
// The instants a parser accepts: years 0000 to 9999, the ones FormatIso and
// four-digit patterns can print back (and date's int days can hold).
constexpr int64_t kMinSeconds = -62167219200;  // 0000-01-01T00:00:00Z
constexpr int64_t kMaxSeconds = 253402300799;  // 9999-12-31T23:59:59Z

bool Printable(Instant t) {
  const int64_t s = ToUnixSeconds(t);
  return s >= kMinSeconds && s <= kMaxSeconds;
}

struct Civil {
  int64_t year;
  unsigned month, day;
  int64_t hour, minute, second;
};

Civil ToCivil(int64_t local_seconds) {
  int64_t days = FloorDiv(local_seconds, kDay);
  int64_t rem = local_seconds - days * kDay;
  date::year_month_day ymd{date::sys_days{date::days{days}}};
  return Civil{int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()),
               rem / 3600,      (rem / 60) % 60,       rem % 60};
}

// Days since 1970-01-01 of a civil date; month may be out of range and is
// normalised (13 -> January of the next year).
int64_t DaysFromCivil(int64_t year, int64_t month, int64_t day) {
  int64_t m0 = month - 1;
  year += FloorDiv(m0, 12);
  m0 -= FloorDiv(m0, 12) * 12;
  auto ymd = date::year{int(year)} / date::month{unsigned(m0 + 1)} / date::day{1};
  return date::sys_days{ymd}.time_since_epoch().count() + (day - 1);
}

bool ConsumeNumber(std::string_view s, size_t& pos, int64_t& out, size_t min_digits, size_t max_digits) {
  size_t start = pos;
  int64_t v = 0;
  while (pos < s.size() && pos - start < max_digits && std::isdigit(static_cast<unsigned char>(s[pos]))) {
    v = v * 10 + (s[pos] - '0');
    ++pos;
  }
  if (pos - start < min_digits) {
    pos = start;
    return false;
  }
  out = v;
  return true;
}

// Parses "Z", "+hh:mm", "+hhmm" or "+hh" at pos; returns offset seconds.
bool ConsumeOffset(std::string_view s, size_t& pos, int64_t& offset) {
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
    offset = 0;
    return true;
  }
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return false;
  int sign = s[pos] == '-' ? -1 : 1;
  size_t p = pos + 1;
  int64_t hh = 0, mm = 0;
  if (!ConsumeNumber(s, p, hh, 2, 2)) return false;
  if (p < s.size() && s[p] == ':') ++p;
  ConsumeNumber(s, p, mm, 2, 2);
  if (hh > 23 || mm > 59) return false;
  offset = sign * (hh * 3600 + mm * 60);
  pos = p;
  return true;
}

bool ValidCivil(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t s) {
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  auto ymd = date::year{int(y)} / date::month{unsigned(mo)} / date::day{unsigned(d)};
  return ymd.ok();
}

}  // namespace

std::string FormatIso(Instant t) {
  Civil c = ToCivil(ToUnixSeconds(t));
  if (c.year >= 0 && c.year <= 9999) {
    // Digit by digit: the lists print four instants per item.
    std::string out = "0000-00-00T00:00:00Z";
    auto put = [&out](size_t end, int64_t v, int digits) {
      for (int i = 0; i < digits; ++i, v /= 10) {
        out[end - static_cast<size_t>(i)] = static_cast<char>('0' + v % 10);
      }
    };
    put(3, c.year, 4);
    put(6, c.month, 2);
    put(9, c.day, 2);
    put(12, c.hour, 2);
    put(15, c.minute, 2);
    put(18, c.second, 2);
    return out;
  }
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", c.year, c.month, c.day, c.hour, c.minute,
                     c.second);
}

// ---------------------------------------------------------------- Duration

Result<Duration> Duration::Parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        fmt::format("'{}' is not an ISO-8601 duration ({}); examples: PT5M, PT1H, P1D, P1W", text, why));
  };
  if (text.size() < 3 || text[0] != 'P') return bad("it must start with P");
  Duration d;
  bool in_time = false, any = false;
  size_t pos = 1;
  std::string seen;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return bad("T appears twice");
      in_time = true;
      ++pos;
      continue;
    }
    int64_t n = 0;
    if (!ConsumeNumber(text, pos, n, 1, 9)) return bad("a number is expected");
    if (pos >= text.size()) return bad("a unit letter is missing after the number");
    char unit = text[pos++];
    if (seen.find(std::string(in_time ? "t" : "") + unit) != std::string::npos) {
      return bad("a unit appears twice");
    }
    seen += std::string(in_time ? "t" : "") + unit;
    if (!in_time) {
      switch (unit) {
        case 'Y': d.years = n; break;
        case 'M': d.months = n; break;
        case 'W': d.weeks = n; break;
        case 'D': d.days = n; break;
        default: return bad(fmt::format("unknown date unit '{}'", unit));
      }
    } else {
      switch (unit) {
        case 'H': d.seconds += n * 3600; break;
        case 'M': d.seconds += n * 60; break;
        case 'S': d.seconds += n; break;
        default: return bad(fmt::format("unknown time unit '{}'", unit));
      }
    }
    any = true;
  }
  if (!any) return bad("it has no parts");
  if (in_time && seen.find('t') == std::string::npos) return bad("T is not followed by a time part");
  if (d.NominalSeconds() <= 0) return bad("it must be positive");
  return d;
}

std::string Duration::ToString() const {
  std::string s = "P";
  if (years) s += fmt::format("{}Y", years);
  if (months) s += fmt::format("{}M", months);
  if (weeks) s += fmt::format("{}W", weeks);
  if (days) s += fmt::format("{}D", days);
  if (seconds) {
    s += "T";
    int64_t h = seconds / 3600, m = (seconds / 60) % 60, sec = seconds % 60;
    if (h) s += fmt::format("{}H", h);
    if (m) s += fmt::format("{}M", m);
    if (sec) s += fmt::format("{}S", sec);
  }
  if (s == "P") s = "PT0S";
  return s;
}

int64_t Duration::NominalSeconds() const {
  return years * 365 * kDay + months * 30 * kDay + weeks * 7 * kDay + days * kDay + seconds;
}

// ---------------------------------------------------------------- TimeZone

Result<TimeZone> TimeZone::Load(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z") return Utc();
  try {
    const date::time_zone* z = date::locate_zone(name);
    return TimeZone(std::string(name), z);
  } catch (const std::exception&) {
    return InvalidArgument(
        fmt::format("unknown time zone '{}': use an IANA name such as UTC or Europe/Berlin", name));
  }
}

TimeZone TimeZone::Utc() { return TimeZone("UTC", nullptr); }

std::string TimeZone::canonical_name() const {
  if (zone_ == nullptr) return "UTC";
  // The system tz database (date's USE_OS_TZDB) keeps a link as a symbolic
  // link to its zone's file ("US/Eastern" -> "../America/New_York").
  static constexpr const char* kZoneInfo = "/usr/share/zoneinfo";
  std::error_code ec;
  const std::filesystem::path root = std::filesystem::canonical(kZoneInfo, ec);
  if (ec) return name_;
  const std::filesystem::path file = std::filesystem::canonical(root / name_, ec);
  if (ec) return name_;
  const std::filesystem::path relative = file.lexically_relative(root);
  if (relative.empty() || *relative.begin() == "..") return name_;
  return relative.generic_string();
}

int64_t TimeZone::OffsetAt(Instant t) const { return SpanAt(t).offset; }

TimeZone::Span TimeZone::SpanAt(Instant t) const {
  // Wider than any instant osprey parses (years 0000-9999), narrow enough
  // that adding a day or a frequency to a bound cannot overflow.
  static const Instant kFirst = FromUnixSeconds(4 * kMinSeconds);
  static const Instant kLast = FromUnixSeconds(4 * kMaxSeconds);
  if (zone_ == nullptr) return Span{kFirst, kLast, 0};
  // Consecutive look-ups (ingest floors every row, in time order) mostly
  // fall in the same stretch: remember the last one, per thread.
  thread_local const date::time_zone* cached_zone = nullptr;
  thread_local Span cached;
  if (cached_zone == zone_ && cached.begin <= t && t < cached.end) return cached;
  const auto info = zone_->get_info(t);
  cached =
      Span{std::max(Instant(info.begin), kFirst), std::min(Instant(info.end), kLast), info.offset.count()};
  cached_zone = zone_;
  return cached;
}

Instant TimeZone::FromLocal(int64_t local_seconds, Instant* other) const {
  if (zone_ == nullptr) {
    if (other != nullptr) *other = FromUnixSeconds(local_seconds);
    return FromUnixSeconds(local_seconds);
  }
  date::local_seconds local{std::chrono::seconds(local_seconds)};
  auto info = zone_->get_info(local);
  Instant t;
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous: t = FromUnixSeconds(local_seconds - info.first.offset.count()); break;
    case date::local_info::nonexistent:
    default: t = info.second.begin; break;
  }
  if (other != nullptr) {
    *other = info.result == date::local_info::unique
                 ? t
                 : FromUnixSeconds(local_seconds - info.second.offset.count());
  }
  return t;
}

// ---------------------------------------------------------------- IntervalGrid

Result<IntervalGrid> IntervalGrid::Create(const Duration& f, const TimeZone& zone) {
  if (f.IsCalendar() && f.seconds != 0) {
    return InvalidArgument(
        fmt::format("frequency {} mixes calendar (days, weeks, months, years) and time parts; use one kind",
                    f.ToString()));
  }
  if (f.IsCalendar() && (f.years != 0) + (f.months != 0) + (f.weeks != 0) + (f.days != 0) > 1) {
    return InvalidArgument(
        fmt::format("frequency {} combines several calendar units; use one", f.ToString()));
  }
  if (!f.IsCalendar() && f.seconds < 60) {
    return InvalidArgument(
        fmt::format("frequency {} is shorter than the minimum of one minute", f.ToString()));
  }
  return IntervalGrid(f, zone);
}

Instant IntervalGrid::Floor(Instant t) const {
  const Duration& f = frequency_;
  if (!f.IsCalendar()) {
    // The last instant <= t whose local wall time is a multiple of f: in the
    // stretch of constant offset holding t, or failing that (a stretch
    // shorter than f without a boundary) in the ones before.
    for (;;) {
      const TimeZone::Span span = zone_.SpanAt(t);
      const int64_t start = FloorDiv(ToUnixSeconds(t) + span.offset, f.seconds) * f.seconds - span.offset;
      if (start >= ToUnixSeconds(span.begin)) return FromUnixSeconds(start);
      t = span.begin - std::chrono::seconds(1);
    }
  }
  const TimeZone::Span span = zone_.SpanAt(t);
  const int64_t local = ToUnixSeconds(t) + span.offset;
  int64_t day = FloorDiv(local, kDay);
  int64_t start_day;
  if (f.days) {
    start_day = FloorDiv(day, f.days) * f.days;
  } else if (f.weeks) {
    // 1970-01-05 was a Monday: count weeks from there.
    start_day = FloorDiv(day - 4, 7 * f.weeks) * 7 * f.weeks + 4;
  } else {
    Civil c = ToCivil(local);
    int64_t month_index = c.year * 12 + (c.month - 1);
    int64_t step = f.months ? f.months : 12 * f.years;
    int64_t start_index = FloorDiv(month_index, step) * step;
    start_day = DaysFromCivil(FloorDiv(start_index, 12), start_index - FloorDiv(start_index, 12) * 12 + 1, 1);
  }
  Instant start = zone_.FromLocal(start_day * kDay);
  if (start > t) start = AddCalendar(start, -1);
  // When the clock went back over a midnight since `start` (t is in the
  // repeated part, dated the day before), the next interval's first pass of
  // its midnight may already be behind t.
  if (span.begin > start) {
    for (Instant next = AddCalendar(start, 1); next <= t; next = AddCalendar(start, 1)) start = next;
  }
  return start;
}

Instant IntervalGrid::AddCalendar(Instant start, int64_t count) const {
  const Duration& f = frequency_;
  int64_t local = zone_.ToLocal(start);
  int64_t day = FloorDiv(local, kDay);
  int64_t target_day;
  if (f.days || f.weeks) {
    target_day = day + count * (f.days + 7 * f.weeks);
  } else {
    Civil c = ToCivil(local);
    int64_t step = f.months ? f.months : 12 * f.years;
    target_day = DaysFromCivil(c.year, int64_t(c.month) + count * step, c.day);
  }
  return zone_.FromLocal(target_day * kDay);
}

Instant IntervalGrid::Next(Instant start) const {
  if (frequency_.IsCalendar()) return AddCalendar(Floor(start), 1);
  // The first instant after `start` whose local wall time is a multiple of
  // the frequency.
  const int64_t f = frequency_.seconds;
  Instant t = start + std::chrono::seconds(1);
  for (;;) {
    const TimeZone::Span span = zone_.SpanAt(t);
    const int64_t next = -FloorDiv(-(ToUnixSeconds(t) + span.offset), f) * f - span.offset;
    if (next < ToUnixSeconds(span.end)) return FromUnixSeconds(next);
    t = span.end;
  }
}

Instant IntervalGrid::Prev(Instant start) const { return Floor(Floor(start) - std::chrono::seconds(1)); }

std::vector<Instant> IntervalGrid::Starts(Instant from, Instant to) const {
  std::vector<Instant> out;
  Instant s = Floor(from);
  if (s < from) s = Next(s);
  for (; s < to; s = Next(s)) out.push_back(s);
  return out;
}

std::optional<Instant> IntervalGrid::SeasonalLag(Instant start, int64_t n) const {
  const Duration& f = frequency_;
  start = Floor(start);
  if (f.months || f.years) return Floor(AddCalendar(start, -n));
  const int64_t span_seconds = n * (f.IsCalendar() ? (f.days + 7 * f.weeks) * kDay : f.seconds);
  if (span_seconds % kDay == 0) {
    const int64_t local = zone_.ToLocal(start) - span_seconds;
    const Instant lag = zone_.FromLocal(local);
    // A local time the clock skipped has no interval of its own. (A start's
    // local time is on the grid's wall-clock slots, and so is that time on
    // an earlier day wherever it exists.)
    if (zone_.ToLocal(lag) != local || lag >= start) return std::nullopt;
    return Floor(lag);
  }
  // n steps; all of them at once while the offset stays the same.
  const Instant back = start - std::chrono::seconds(span_seconds);
  if (zone_.SpanAt(start).begin <= back) return back;
  for (int64_t i = 0; i < n; ++i) start = Prev(start);
  return start;
}

// ---------------------------------------------------------------- TimestampFormat

Result<TimestampFormat> TimestampFormat::Parse(std::string_view pattern) {
  TimestampFormat f;
  f.pattern_ = std::string(pattern);
  if (pattern == "epoch") {
    f.kind_ = Kind::kEpoch;
    return f;
  }
  if (pattern == "epoch_millis") {
    f.kind_ = Kind::kEpochMillis;
    return f;
  }
  if (pattern == "iso8601") {
    f.kind_ = Kind::kIso8601;
    return f;
  }
  if (pattern.empty()) return InvalidArgument("timestamp format is empty");
  size_t i = 0;
  bool has_year = false, has_month = false, has_day = false;
  auto add_literal = [&](std::string_view lit) {
    if (!f.tokens_.empty() && f.tokens_.back().field == Field::kLiteral) {
      f.tokens_.back().literal += lit;
    } else {
      f.tokens_.push_back({Field::kLiteral, std::string(lit)});
    }
  };
  while (i < pattern.size()) {
    char c = pattern[i];
    if (c == '\'') {
      size_t end = pattern.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return InvalidArgument(fmt::format("timestamp format '{}' has an unclosed quote", pattern));
      }
      add_literal(end == i + 1 ? std::string_view("'") : pattern.substr(i + 1, end - i - 1));
      i = end + 1;
      continue;
    }
    if (std::isalpha(static_cast<unsigned char>(c))) {
      // Counted here only, where the whole run is consumed: counting it at
      // every character made a long run of quotes or punctuation quadratic.
      size_t run = 1;
      while (i + run < pattern.size() && pattern[i + run] == c) ++run;
      Field field;
      bool ok = true;
      switch (c) {
        case 'y':
        case 'u':
          field = Field::kYear;
          ok = run == 4;
          has_year = true;
          break;
        case 'M':
          field = Field::kMonth;
          ok = run == 2;
          has_month = true;
          break;
        case 'd':
          field = Field::kDay;
          ok = run == 2;
          has_day = true;
          break;
        case 'H':
          field = Field::kHour;
          ok = run == 2;
          break;
        case 'm':
          field = Field::kMinute;
          ok = run == 2;
          break;
        case 's':
          field = Field::kSecond;
          ok = run == 2;
          break;
        case 'S':
          field = Field::kMillis;
          ok = run == 3;
          break;
        case 'X':
        case 'Z':
        case 'x':
          field = Field::kOffset;
          ok = run <= 3;
          break;
        default:
          return InvalidArgument(fmt::format(
              "timestamp format '{}': pattern letter '{}' is not supported (supported: yyyy MM dd "
              "HH mm ss SSS XXX Z, 'literal', or the keywords epoch, epoch_millis, iso8601)",
              pattern, c));
      }
      if (!ok) {
        return InvalidArgument(fmt::format("timestamp format '{}': '{}' has the wrong length here", pattern,
                                           std::string(run, c)));
      }
      f.tokens_.push_back({field, {}});
      i += run;
      continue;
    }
    add_literal(pattern.substr(i, 1));
    ++i;
  }
  if (!has_year || !has_month || !has_day) {
    return InvalidArgument(
        fmt::format("timestamp format '{}' needs a year (yyyy), month (MM) and day (dd)", pattern));
  }
  // A finer field needs every coarser one, and an offset needs hours and
  // minutes: otherwise a value names an instant the pattern cannot write
  // back (with 'yyyy-MM-dd mm:ssX', '...T10:00-01' is 01:10 UTC, printed
  // as '...T10:00Z' and read back as 00:10; found by fuzz/timestamp_fuzz.cc).
  const auto has = [&](Field field) {
    return std::any_of(f.tokens_.begin(), f.tokens_.end(), [&](const Token& t) { return t.field == field; });
  };
  const bool hour = has(Field::kHour), minute = has(Field::kMinute), second = has(Field::kSecond);
  const char* missing = nullptr;
  if (minute && !hour) missing = "minutes (mm) without hours (HH)";
  if (second && !minute) missing = "seconds (ss) without minutes (mm)";
  if (has(Field::kMillis) && !second) missing = "milliseconds (SSS) without seconds (ss)";
  if (has(Field::kOffset) && !(hour && minute)) missing = "an offset without hours (HH) and minutes (mm)";
  if (missing != nullptr)
    return InvalidArgument(fmt::format("timestamp format '{}' has {}", pattern, missing));
  return f;
}

std::optional<Instant> TimestampFormat::EpochValue(int64_t v) const {
  if (kind_ != Kind::kEpoch && kind_ != Kind::kEpochMillis) return std::nullopt;
  // ParseValue takes at most 18 digits after an optional '-'.
  constexpr int64_t kDigits18 = 999'999'999'999'999'999;
  if (v < -kDigits18 || v > kDigits18) return std::nullopt;
  const Instant t = FromUnixSeconds(kind_ == Kind::kEpoch ? v : FloorDiv(v, 1000));
  if (!Printable(t)) return std::nullopt;
  return t;
}

Result<Instant> TimestampFormat::ParseValue(std::string_view text, const TimeZone& zone,
                                            Instant* other) const {
  auto bad = [&]() {
    return InvalidArgument(fmt::format("timestamp '{}' does not match the format '{}'", text, pattern_));
  };
  if (kind_ == Kind::kEpoch || kind_ == Kind::kEpochMillis) {
    size_t pos = 0;
    bool neg = !text.empty() && text[0] == '-';
    if (neg) pos = 1;
    int64_t v = 0;
    if (!ConsumeNumber(text, pos, v, 1, 18)) return bad();
    if (pos < text.size() && text[pos] == '.') {  // fractional part: dropped
      ++pos;
      int64_t frac = 0;
      ConsumeNumber(text, pos, frac, 0, 9);
    }
    if (pos != text.size()) return bad();
    if (neg) v = -v;
    const Instant t = FromUnixSeconds(kind_ == Kind::kEpoch ? v : FloorDiv(v, 1000));
    if (!Printable(t)) return bad();
    if (other != nullptr) *other = t;
    return t;
  }
  if (kind_ == Kind::kIso8601) {
    auto r = ParseInstant(text, zone);
    if (!r.ok()) return bad();
    if (other != nullptr) *other = *r;
    return r;
  }
  int64_t y = 0, mo = 1, d = 1, h = 0, mi = 0, s = 0, ms = 0, off = 0;
  bool has_offset = false;
  size_t pos = 0;
  for (const Token& t : tokens_) {
    bool ok = true;
    switch (t.field) {
      case Field::kLiteral:
        ok = text.substr(pos, t.literal.size()) == t.literal;
        if (ok) pos += t.literal.size();
        break;
      case Field::kYear: ok = ConsumeNumber(text, pos, y, 4, 4); break;
      case Field::kMonth: ok = ConsumeNumber(text, pos, mo, 1, 2); break;
      case Field::kDay: ok = ConsumeNumber(text, pos, d, 1, 2); break;
      case Field::kHour: ok = ConsumeNumber(text, pos, h, 1, 2); break;
      case Field::kMinute: ok = ConsumeNumber(text, pos, mi, 2, 2); break;
      case Field::kSecond: ok = ConsumeNumber(text, pos, s, 2, 2); break;
      case Field::kMillis: {
        ok = ConsumeNumber(text, pos, ms, 1, 9);
        // Further digits (micro/nanoseconds) are accepted and dropped.
        break;
      }
      case Field::kOffset:
        ok = ConsumeOffset(text, pos, off);
        has_offset = ok;
        break;
    }
    if (!ok) return bad();
  }
  if (pos != text.size()) return bad();
  if (!ValidCivil(y, mo, d, h, mi, s)) return bad();
  int64_t local = DaysFromCivil(y, mo, d) * kDay + h * 3600 + mi * 60 + s;
  Instant alternative;
  const Instant t = has_offset ? FromUnixSeconds(local - off) : zone.FromLocal(local, &alternative);
  // Printable in UTC and as the zone's local time, which Format writes: a
  // value with its own offset can land beyond year 9999 there
  // ('9999-12-30 23:59:59-23:59' is 10000-01-01 in Berlin; found by
  // fuzz/timestamp_fuzz.cc).
  if (!Printable(t) || !Printable(FromUnixSeconds(ToUnixSeconds(t) + zone.OffsetAt(t)))) return bad();
  if (other != nullptr) *other = has_offset ? t : alternative;
  return t;
}

std::string TimestampFormat::Format(Instant t, const TimeZone& zone) const {
  switch (kind_) {
    case Kind::kEpoch: return std::to_string(ToUnixSeconds(t));
    case Kind::kEpochMillis: return std::to_string(ToUnixSeconds(t) * 1000);
    case Kind::kIso8601: return FormatIso(t);
    case Kind::kPattern: break;
  }
  int64_t offset = zone.OffsetAt(t);
  const bool has_offset = std::any_of(tokens_.begin(), tokens_.end(),
                                      [](const Token& tok) { return tok.field == Field::kOffset; });
  // An offset prints as +hh:mm: one with seconds (local mean time before
  // 1900) is cut to whole minutes, and the local time shown with it, so the
  // text still names the same instant (found by fuzz/timestamp_fuzz.cc).
  if (has_offset) offset -= offset % 60;
  Civil c = ToCivil(ToUnixSeconds(t) + offset);
  std::string out;
  for (const Token& tok : tokens_) {
    switch (tok.field) {
      case Field::kLiteral: out += tok.literal; break;
      case Field::kYear: out += fmt::format("{:04}", c.year); break;
      case Field::kMonth: out += fmt::format("{:02}", c.month); break;
      case Field::kDay: out += fmt::format("{:02}", c.day); break;
      case Field::kHour: out += fmt::format("{:02}", c.hour); break;
      case Field::kMinute: out += fmt::format("{:02}", c.minute); break;
      case Field::kSecond: out += fmt::format("{:02}", c.second); break;
      case Field::kMillis: out += "000"; break;
      case Field::kOffset:
        if (offset == 0) {
          out += "Z";
        } else {
          int64_t a = offset < 0 ? -offset : offset;
          out += fmt::format("{}{:02}:{:02}", offset < 0 ? '-' : '+', a / 3600, (a / 60) % 60);
        }
        break;
    }
  }
  return out;
}

Result<Instant> ParseInstant(std::string_view text, const TimeZone& zone) {
  auto bad = [&]() {
    return InvalidArgument(fmt::format(
        "'{}' is not a date-time; use e.g. 2020-10-01, 2020-10-01T12:00 or 2020-10-01T12:00:00Z", text));
  };
  size_t pos = 0;
  int64_t y, mo, d, h = 0, mi = 0, s = 0, off = 0;
  if (!ConsumeNumber(text, pos, y, 4, 4) || pos >= text.size() || text[pos++] != '-') return bad();
  if (!ConsumeNumber(text, pos, mo, 2, 2) || pos >= text.size() || text[pos++] != '-') return bad();
  if (!ConsumeNumber(text, pos, d, 2, 2)) return bad();
  if (pos < text.size() && (text[pos] == 'T' || text[pos] == ' ')) {
    ++pos;
    if (!ConsumeNumber(text, pos, h, 2, 2)) return bad();
    if (pos < text.size() && text[pos] == ':') {
      ++pos;
      if (!ConsumeNumber(text, pos, mi, 2, 2)) return bad();
      if (pos < text.size() && text[pos] == ':') {
        ++pos;
        if (!ConsumeNumber(text, pos, s, 2, 2)) return bad();
        if (pos < text.size() && text[pos] == '.') {
          ++pos;
          int64_t frac;
          if (!ConsumeNumber(text, pos, frac, 1, 9)) return bad();
        }
      }
    }
  }
  bool has_offset = false;
  if (pos < text.size()) {
    if (!ConsumeOffset(text, pos, off) || pos != text.size()) return bad();
    has_offset = true;
  }
  if (!ValidCivil(y, mo, d, h, mi, s)) return bad();
  int64_t local = DaysFromCivil(y, mo, d) * kDay + h * 3600 + mi * 60 + s;
  Instant alternative;
  const Instant t = has_offset ? FromUnixSeconds(local - off) : zone.FromLocal(local, &alternative);
  if (!Printable(t)) return bad();
  return t;
}

}  // namespace osprey
