#include "osprey/base/cron.h"

#include <fmt/format.h>

#include <date/date.h>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <sstream>
#include <vector>

namespace osprey {
namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  out.push_back(cur);
  return out;
}

std::string Upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

struct FieldSpec {
  const char* name;
  int lo, hi;
  const std::vector<std::string>* names;  // names[i] means lo + i... see name_base
  int name_base;
};

const std::vector<std::string> kMonths = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                          "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const std::vector<std::string> kDays = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

Result<int> ParseValue(const std::string& s, const FieldSpec& f) {
  if (f.names) {
    std::string u = Upper(s);
    for (size_t i = 0; i < f.names->size(); ++i) {
      if ((*f.names)[i] == u) return f.name_base + static_cast<int>(i);
    }
  }
  if (s.empty() || s.size() > 4 ||
      !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument(fmt::format("{} field: '{}' is not a number", f.name, s));
  }
  int v = std::stoi(s);
  if (v < f.lo || v > f.hi) {
    return InvalidArgument(fmt::format("{} field: {} is outside {}-{}", f.name, v, f.lo, f.hi));
  }
  return v;
}

// Sets bits [value - lo] in `out` (size hi - lo + 1). Returns whether the
// field was restricted (anything but * or ?).
Result<bool> ParseField(const std::string& text, const FieldSpec& f, std::vector<bool>& out) {
  out.assign(static_cast<size_t>(f.hi - f.lo + 1), false);
  if (text == "*" || text == "?") {
    std::fill(out.begin(), out.end(), true);
    return false;
  }
  for (const std::string& part : Split(text, ',')) {
    if (part.find_first_of("LW#") != std::string::npos && !f.names) {
      return InvalidArgument(fmt::format("{} field: '{}': L, W and # are not supported", f.name, part));
    }
    std::string range = part;
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string::npos) {
      range = part.substr(0, slash);
      std::string st = part.substr(slash + 1);
      if (st.empty() || st.size() > 4 ||
          !std::all_of(st.begin(), st.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
          std::stoi(st) == 0) {
        return InvalidArgument(fmt::format("{} field: step '{}' is not a positive number", f.name, st));
      }
      step = std::stoi(st);
    }
    int a = f.lo, b = f.hi;
    if (range != "*") {
      auto dash = range.find('-');
      if (dash == std::string::npos) {
        OSPREY_ASSIGN_OR_RETURN(a, ParseValue(range, f));
        b = part.find('/') != std::string::npos ? f.hi : a;
      } else {
        OSPREY_ASSIGN_OR_RETURN(a, ParseValue(range.substr(0, dash), f));
        OSPREY_ASSIGN_OR_RETURN(b, ParseValue(range.substr(dash + 1), f));
        if (b < a) return InvalidArgument(fmt::format("{} field: range '{}' runs backwards", f.name, range));
      }
    }
    for (int v = a; v <= b; v += step) out[static_cast<size_t>(v - f.lo)] = true;
  }
  return true;
}

template <size_t N>
void Assign(std::bitset<N>& bits, const std::vector<bool>& v, int lo) {
  for (size_t i = 0; i < v.size(); ++i) {
    if (v[i]) bits.set(static_cast<size_t>(static_cast<int>(i) + lo));
  }
}

}  // namespace

Result<CronSpec> ParseCron(std::string_view text) {
  CronSpec spec;
  spec.text = std::string(text);
  std::string body(text);
  bool aws = false;
  if (body.rfind("cron(", 0) == 0) {
    if (body.back() != ')') return InvalidArgument(fmt::format("cron '{}': missing ')'", text));
    body = body.substr(5, body.size() - 6);
    aws = true;
  }
  std::vector<std::string> fields;
  {
    std::istringstream in(body);
    std::string f;
    while (in >> f) fields.push_back(f);
  }
  const size_t want = aws ? 6 : 5;
  if (fields.size() != want) {
    return InvalidArgument(fmt::format(
        "cron '{}': {} fields, expected {} ({})", text, fields.size(), want,
        aws ? "minute hour day-of-month month day-of-week year"
            : "minute hour day-of-month month day-of-week; the AWS form is cron(m h dom mon dow year)"));
  }
  auto fail = [&](const Status& s) { return s.WithContext(fmt::format("cron '{}'", text)); };
  std::vector<bool> v;
  const FieldSpec minute{"minute", 0, 59, nullptr, 0}, hour{"hour", 0, 23, nullptr, 0},
      dom{"day-of-month", 1, 31, nullptr, 0}, month{"month", 1, 12, &kMonths, 1};
  const FieldSpec dow =
      aws ? FieldSpec{"day-of-week", 1, 7, &kDays, 1} : FieldSpec{"day-of-week", 0, 7, &kDays, 0};
  for (size_t i : {size_t{0}, size_t{1}, size_t{3}}) {
    if (fields[i] == "?") return fail(InvalidArgument("'?' is only allowed in day-of-month and day-of-week"));
  }
  if (!aws && (fields[2] == "?" || fields[4] == "?")) {
    return fail(InvalidArgument("'?' belongs to the AWS form cron(...)"));
  }
  if (aws && (fields[2] == "?") == (fields[4] == "?")) {
    return fail(InvalidArgument("the AWS form needs '?' in exactly one of day-of-month and day-of-week"));
  }
  auto r = ParseField(fields[0], minute, v);
  if (!r.ok()) return fail(r.status());
  Assign(spec.minutes, v, 0);
  r = ParseField(fields[1], hour, v);
  if (!r.ok()) return fail(r.status());
  Assign(spec.hours, v, 0);
  r = ParseField(fields[2], dom, v);
  if (!r.ok()) return fail(r.status());
  spec.dom_restricted = *r;
  Assign(spec.days_of_month, v, 1);
  r = ParseField(fields[3], month, v);
  if (!r.ok()) return fail(r.status());
  Assign(spec.months, v, 1);
  r = ParseField(fields[4], dow, v);
  if (!r.ok()) return fail(r.status());
  spec.dow_restricted = *r;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i]) continue;
    int d = static_cast<int>(i) + dow.lo;
    spec.days_of_week.set(static_cast<size_t>(aws ? d - 1 : d % 7));
  }
  if (aws) {
    const FieldSpec year{"year", 1970, 2199, nullptr, 0};
    if (fields[5] != "*") {
      auto dash = fields[5].find('-');
      if (fields[5].find_first_of(",/") != std::string::npos) {
        return fail(InvalidArgument("year field: only *, a year or a range a-b"));
      }
      auto a = ParseValue(fields[5].substr(0, dash), year);
      if (!a.ok()) return fail(a.status());
      auto b = dash == std::string::npos ? a : ParseValue(fields[5].substr(dash + 1), year);
      if (!b.ok()) return fail(b.status());
      if (*b < *a) {
        return fail(InvalidArgument(fmt::format("year field: range '{}' runs backwards", fields[5])));
      }
      spec.year_from = *a;
      spec.year_to = *b;
    }
  }
  return spec;
}

std::optional<Instant> NextCronTime(const CronSpec& spec, const TimeZone& zone, Instant t) {
  using namespace std::chrono;
  const int64_t local_t = zone.ToLocal(t);
  const int64_t first_day = (local_t >= 0 ? local_t : local_t - 86399) / 86400;
  for (int64_t day = first_day; day < first_day + 3660; ++day) {
    const date::sys_days sd{days(day)};
    const date::year_month_day ymd(sd);
    const int y = static_cast<int>(ymd.year());
    if (y > spec.year_to) return std::nullopt;
    if (y < spec.year_from) continue;
    if (!spec.months.test(static_cast<unsigned>(ymd.month()))) continue;
    const bool dom_ok = spec.days_of_month.test(static_cast<unsigned>(ymd.day()));
    const bool dow_ok = spec.days_of_week.test(date::weekday(sd).c_encoding());
    bool day_ok;
    if (spec.dom_restricted && spec.dow_restricted) {
      day_ok = dom_ok || dow_ok;
    } else {
      day_ok = dom_ok && dow_ok;
    }
    if (!day_ok) continue;
    for (size_t h = 0; h < 24; ++h) {
      if (!spec.hours.test(h)) continue;
      for (size_t m = 0; m < 60; ++m) {
        if (!spec.minutes.test(m)) continue;
        const int64_t local = day * 86400 + static_cast<int64_t>(h * 3600 + m * 60);
        const Instant at = zone.FromLocal(local);
        // A repeated local time (clocks turned back) fires only the first
        // time: FromLocal gives the earlier instant, so skip none here; a
        // skipped time maps to the transition instant.
        if (at >= t) return at;
      }
    }
  }
  return std::nullopt;
}

}  // namespace osprey
