#include "osprey/config/loader.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "osprey/base/cron.h"
#include "osprey/base/csv.h"
#include "osprey/detect/holidays.h"

namespace osprey::config {
namespace {

constexpr std::string_view kIntervalStart = "{{interval_start}}";
constexpr std::string_view kIntervalEnd = "{{interval_end}}";
constexpr std::string_view kUseConnectionEnv =
    "never put a password in a detector file: store the connection (path or DSN) in an "
    "environment variable and name that variable in source.connection_env";

// One node to read, with where it is: `line` is 1-based and `path` is the
// field path used in messages ("measures[1].aggregation").
struct Field {
  YAML::Node node;
  int line = 1;
  std::string path;
};

int LineOf(const YAML::Node& node, int fallback) {
  const YAML::Mark mark = node.Mark();
  return mark.is_null() ? fallback : mark.line + 1;
}

std::string Child(std::string_view parent, std::string_view key) {
  return parent.empty() ? std::string(key) : fmt::format("{}.{}", parent, key);
}

std::string Index(std::string_view parent, size_t i) { return fmt::format("{}[{}]", parent, i); }

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The matchers below are plain loops, not std::regex: libstdc++'s regex
// recurses once per character matched, so a long field (tens of KB) would
// overflow the stack.

bool IsAsciiAlpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }
bool IsAsciiSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// [A-Za-z_][A-Za-z0-9_]*
bool IsEnvName(std::string_view s) {
  if (s.empty() || IsAsciiDigit(s[0])) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAsciiAlpha(c) || IsAsciiDigit(c) || c == '_'; });
}

// "postgresql://user:secret@host/db" and the like: a scheme, "://", a user
// without '/', '@' or ':', then ':', a non-empty password without '/' or '@',
// then '@'.
bool HasUrlPassword(std::string_view s) {
  if (s.empty() || !IsAsciiAlpha(s[0])) return false;
  size_t i = 1;
  while (i < s.size() &&
         (IsAsciiAlpha(s[i]) || IsAsciiDigit(s[i]) || s[i] == '+' || s[i] == '.' || s[i] == '-')) {
    ++i;
  }
  if (s.substr(i, 3) != "://") return false;
  const size_t colon = s.find_first_of("/@:", i + 3);
  if (colon == std::string_view::npos || s[colon] != ':') return false;
  const size_t at = s.find_first_of("/@", colon + 1);
  return at != std::string_view::npos && s[at] == '@' && at > colon + 1;
}

// libpq key=value DSNs: "host=x password=y" ("password", any case, at the
// start or after white space, then optional white space and '=').
bool HasDsnPassword(std::string_view s) {
  constexpr std::string_view kKey = "password";
  for (size_t i = 0; i + kKey.size() <= s.size(); ++i) {
    if (i > 0 && !IsAsciiSpace(s[i - 1])) continue;
    bool same = true;
    for (size_t k = 0; k < kKey.size() && same; ++k) {
      same = std::tolower(static_cast<unsigned char>(s[i + k])) == kKey[k];
    }
    if (!same) continue;
    size_t j = i + kKey.size();
    while (j < s.size() && IsAsciiSpace(s[j])) ++j;
    if (j < s.size() && s[j] == '=') return true;
  }
  return false;
}

bool IsSecretKey(std::string_view key) {
  const std::string k = Lower(key);
  return k == "password" || k == "passwd" || k == "pwd" || k == "secret" || k == "token";
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Null: return "nothing (null)";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Map: return "a map";
    case YAML::NodeType::Scalar:
      // Never echo what looks like a credential into a message or a log.
      if (HasUrlPassword(node.Scalar()) || HasDsnPassword(node.Scalar())) {
        return "a connection string with a password (not shown)";
      }
      return fmt::format("\"{}\"", node.Scalar());
    case YAML::NodeType::Undefined: break;
  }
  return "nothing";
}

// The checked keys of one mapping.
class Fields {
 public:
  std::optional<Field> Get(std::string_view key) const {
    auto it = fields_.find(std::string(key));
    if (it == fields_.end()) return std::nullopt;
    return it->second;
  }
  const std::vector<std::string>& keys() const { return keys_; }
  const Field& self() const { return self_; }

 private:
  friend class Reader;
  Field self_;
  std::map<std::string, Field> fields_;
  std::vector<std::string> keys_;  // in file order
};

// Reads typed values out of the node tree, turning every problem into an
// InvalidArgument "origin:line: path: what is wrong, what is expected".
class Reader {
 public:
  explicit Reader(std::string origin) : origin_(std::move(origin)) {}

  Status Error(int line, std::string_view path, std::string_view what) const {
    last_error_path_ = std::string(path);
    if (path.empty()) return InvalidArgument(fmt::format("{}:{}: {}", origin_, line, what));
    return InvalidArgument(fmt::format("{}:{}: {}: {}", origin_, line, path, what));
  }
  Status Error(const Field& f, std::string_view what) const { return Error(f.line, f.path, what); }
  const std::string& last_error_path() const { return last_error_path_; }

  // A mapping whose keys are all in `known` and none repeated. `known` empty
  // accepts any key (used for dimension -> values maps).
  Result<Fields> Map(const Field& f, const std::vector<std::string_view>& known) const {
    if (!f.node.IsMap()) return Error(f, fmt::format("expected a map, got {}", Describe(f.node)));
    Fields out;
    out.self_ = f;
    for (auto it = f.node.begin(); it != f.node.end(); ++it) {
      const YAML::Node key = it->first;
      const YAML::Node value = it->second;
      const int line = LineOf(key, f.line);
      if (!key.IsScalar()) {
        return Error(line, f.path, fmt::format("keys must be plain names, got {}", Describe(key)));
      }
      const std::string name = key.Scalar();
      const std::string path = Child(f.path, name);
      if (IsSecretKey(name)) return Error(line, path, kUseConnectionEnv);
      if (!known.empty() && std::find(known.begin(), known.end(), name) == known.end()) {
        std::string what = fmt::format("unknown key \"{}\"", name);
        std::string_view best;
        size_t best_distance = 3;
        for (std::string_view k : known) {
          const size_t d = EditDistance(Lower(name), k);
          if (d < best_distance) {
            best_distance = d;
            best = k;
          }
        }
        if (!best.empty()) {
          what += fmt::format("; did you mean \"{}\"?", best);
        } else {
          what += fmt::format("; expected one of: {}", fmt::join(known, ", "));
        }
        return Error(line, path, what);
      }
      auto [pos, inserted] = out.fields_.emplace(name, Field{value, line, path});
      if (!inserted) {
        return Error(line, path,
                     fmt::format("duplicate key \"{}\" (first given on line {}); give it once", name,
                                 pos->second.line));
      }
      out.keys_.push_back(name);
    }
    return out;
  }

  Result<Field> Required(const Fields& map, std::string_view key, std::string_view expected) const {
    std::optional<Field> f = map.Get(key);
    if (!f) {
      return Error(map.self().line, Child(map.self().path, key),
                   fmt::format("missing required field; expected {}", expected));
    }
    return *f;
  }

  Result<std::string> String(const Field& f) const {
    if (!f.node.IsScalar()) {
      return Error(f, fmt::format("expected a string, got {}", Describe(f.node)));
    }
    // Control characters (a NUL from a bad copy, an escape) have no place in
    // names, paths or SQL, and YAML cannot write them back in a block scalar.
    const std::string& s = f.node.Scalar();
    if (auto at = FindControlCharacter(s)) {
      return Error(f, fmt::format("control character 0x{:02x} at position {}; remove it",
                                  static_cast<unsigned char>(s[*at]), *at + 1));
    }
    return s;
  }

  Result<std::string> NonEmptyString(const Field& f) const {
    OSPREY_ASSIGN_OR_RETURN(std::string s, String(f));
    if (s.empty()) return Error(f, "expected a non-empty string");
    return s;
  }

  Result<int64_t> Integer(const Field& f) const {
    OSPREY_RETURN_IF_ERROR(CheckNumberNode(f, "an integer"));
    const std::string& s = f.node.Scalar();
    int64_t v = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || begin == end) {
      return Error(f, fmt::format("expected an integer, got {}", Describe(f.node)));
    }
    return v;
  }

  Result<double> Number(const Field& f) const {
    OSPREY_RETURN_IF_ERROR(CheckNumberNode(f, "a number"));
    const std::string& s = f.node.Scalar();
    double v = 0;
    const char* begin = s.data() + (!s.empty() && s[0] == '+' ? 1 : 0);
    auto [end, ec] = std::from_chars(begin, s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || begin == end || v != v) {
      return Error(f, fmt::format("expected a number, got {}", Describe(f.node)));
    }
    return v;
  }

  Result<bool> Bool(const Field& f) const {
    if (f.node.IsScalar() && f.node.Tag() != "!") {
      const std::string v = Lower(f.node.Scalar());
      if (v == "true") return true;
      if (v == "false") return false;
    }
    return Error(f, fmt::format("expected true or false, got {}", Describe(f.node)));
  }

  Result<double> Percent(const Field& f) const {
    OSPREY_ASSIGN_OR_RETURN(double v, Number(f));
    if (v < 0 || v > 100) {
      return Error(f, fmt::format("expected a number from 0 to 100, got {}", f.node.Scalar()));
    }
    return v;
  }

  Result<std::vector<Field>> List(const Field& f) const {
    if (!f.node.IsSequence()) {
      return Error(f, fmt::format("expected a list, got {}", Describe(f.node)));
    }
    std::vector<Field> out;
    size_t i = 0;
    for (const YAML::Node& item : f.node) {
      out.push_back(Field{item, LineOf(item, f.line), Index(f.path, i)});
      ++i;
    }
    return out;
  }

  // A list of distinct non-empty strings; `what` names an item in messages.
  Result<std::vector<std::string>> StringList(const Field& f, std::string_view what) const {
    OSPREY_ASSIGN_OR_RETURN(std::vector<Field> items, List(f));
    std::vector<std::string> out;
    for (const Field& item : items) {
      OSPREY_ASSIGN_OR_RETURN(std::string s, NonEmptyString(item));
      if (std::find(out.begin(), out.end(), s) != out.end()) {
        return Error(item, fmt::format("duplicate {} \"{}\"; list each once", what, s));
      }
      out.push_back(std::move(s));
    }
    return out;
  }

 private:
  Status CheckNumberNode(const Field& f, std::string_view expected) const {
    if (!f.node.IsScalar()) {
      return Error(f, fmt::format("expected {}, got {}", expected, Describe(f.node)));
    }
    if (f.node.Tag() == "!") {
      return Error(f, fmt::format("expected {}, got the quoted string \"{}\"", expected, f.node.Scalar()));
    }
    return Status::Ok();
  }

  std::string origin_;
  mutable std::string last_error_path_;  // of the last Error(), for ReadEveryError
};

Status CheckEnvName(const Reader& r, const Field& f, const std::string& value) {
  if (HasUrlPassword(value) || HasDsnPassword(value)) return r.Error(f, kUseConnectionEnv);
  if (!IsEnvName(value)) {
    return r.Error(f, fmt::format("expected the name of an environment variable "
                                  "([A-Za-z_][A-Za-z0-9_]*), got \"{}\"",
                                  value));
  }
  return Status::Ok();
}

// A path to a secret file: any path, but not a URL (a URL there would be a
// literal secret in the detector file).
Status CheckFileName(const Reader& r, const Field& f, const std::string& value) {
  if (value.find("://") != std::string::npos || HasDsnPassword(value)) {
    return r.Error(f,
                   "expected the path of a file holding the value, got what looks like the "
                   "value itself; secrets never go in the detector file");
  }
  return Status::Ok();
}

Result<char> ReadChar(const Reader& r, const Field& f) {
  OSPREY_ASSIGN_OR_RETURN(std::string text, r.String(f));
  if (text == "\\t" || text == "tab") return '\t';
  if (text.size() != 1 || text[0] == '\n' || text[0] == '\r') {
    return r.Error(f, fmt::format("expected one character (or \"tab\"), got \"{}\"", text));
  }
  return text[0];
}

Result<CsvSourceOptions> ReadCsvOptions(const Reader& r, const Field& f) {
  OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(f, {"header", "delimiter", "quote", "charset", "gzip", "layout"}));
  CsvSourceOptions o;
  if (auto h = m.Get("header")) {
    OSPREY_ASSIGN_OR_RETURN(std::string v, r.String(*h));
    if (v != "true" && v != "false") return r.Error(*h, "expected true or false");
    o.header = v == "true";
  }
  if (auto d = m.Get("delimiter")) {
    OSPREY_ASSIGN_OR_RETURN(o.delimiter, ReadChar(r, *d));
  }
  if (auto q = m.Get("quote")) {
    OSPREY_ASSIGN_OR_RETURN(o.quote, ReadChar(r, *q));
    if (o.quote == o.delimiter) return r.Error(*q, "the quote must differ from the delimiter");
  }
  if (auto c = m.Get("charset")) {
    OSPREY_ASSIGN_OR_RETURN(std::string v, r.String(*c));
    const std::string l = Lower(v);
    if (l == "utf-8" || l == "utf8") {
      o.charset = "utf-8";
    } else if (l == "latin-1" || l == "latin1" || l == "iso-8859-1") {
      o.charset = "latin-1";
    } else {
      return r.Error(*c, fmt::format("unsupported charset \"{}\"; expected utf-8 or latin-1", v));
    }
  }
  if (auto g = m.Get("gzip")) {
    OSPREY_ASSIGN_OR_RETURN(std::string v, r.String(*g));
    if (v != "auto" && v != "true" && v != "false") {
      return r.Error(*g, fmt::format("expected auto, true or false, got \"{}\"", v));
    }
    o.gzip = v;
  }
  if (auto l = m.Get("layout")) {
    OSPREY_ASSIGN_OR_RETURN(o.layout, r.String(*l));
    if (!o.layout.empty()) {
      Result<TimestampFormat> tf = TimestampFormat::Parse(o.layout);
      if (!tf.ok()) return r.Error(*l, tf.status().message());
      if (tf->pattern().rfind("epoch", 0) == 0 || tf->pattern() == "iso8601" || o.layout.front() == '/' ||
          o.layout.find("..") != std::string::npos) {
        return r.Error(*l, "expected a relative directory pattern like yyyyMMdd/HHmm");
      }
    }
  }
  return o;
}

Result<Source> ReadSource(const Reader& r, const Field& f) {
  OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(f, {"type", "path", "connection_env", "connection_file",
                                              "query_timeout", "push_down", "csv"}));
  Source s;
  if (auto t = m.Get("type")) {
    OSPREY_ASSIGN_OR_RETURN(std::string name, r.String(*t));
    std::optional<SourceType> type = ParseSourceType(name);
    if (!type) {
      return r.Error(
          *t, fmt::format("unknown source type \"{}\"; expected sqlite, postgres, mysql or csv", name));
    }
    s.type = *type;
  }
  const bool database = s.type == SourceType::kPostgres || s.type == SourceType::kMysql;
  if (auto p = m.Get("path")) {
    OSPREY_ASSIGN_OR_RETURN(s.path, r.NonEmptyString(*p));
    if (HasUrlPassword(s.path) || HasDsnPassword(s.path)) return r.Error(*p, kUseConnectionEnv);
    if (database) {
      return r.Error(*p, fmt::format("a {} source takes its connection from connection_env or "
                                     "connection_file, not path",
                                     SourceTypeName(s.type)));
    }
  }
  if (auto e = m.Get("connection_env")) {
    OSPREY_ASSIGN_OR_RETURN(s.connection_env, r.String(*e));
    OSPREY_RETURN_IF_ERROR(CheckEnvName(r, *e, s.connection_env));
  }
  if (auto cf = m.Get("connection_file")) {
    OSPREY_ASSIGN_OR_RETURN(s.connection_file, r.NonEmptyString(*cf));
    if (HasUrlPassword(s.connection_file) || HasDsnPassword(s.connection_file)) {
      return r.Error(*cf, kUseConnectionEnv);
    }
    if (!database) return r.Error(*cf, "connection_file is for postgres and mysql sources only");
  }
  if (auto q = m.Get("query_timeout")) {
    OSPREY_ASSIGN_OR_RETURN(s.query_timeout_seconds, r.Integer(*q));
    if (s.query_timeout_seconds <= 0) {
      return r.Error(*q, "expected a positive number of seconds");
    }
  }
  if (auto p = m.Get("push_down")) {
    OSPREY_ASSIGN_OR_RETURN(s.push_down, r.Bool(*p));
    if (s.type == SourceType::kCsv) return r.Error(*p, "push_down is for sqlite, postgres and mysql sources");
  }
  if (auto c = m.Get("csv")) {
    if (s.type != SourceType::kCsv) return r.Error(*c, "csv options need source type csv");
    OSPREY_ASSIGN_OR_RETURN(s.csv, ReadCsvOptions(r, *c));
  }
  if (database && s.connection_env.empty() && s.connection_file.empty()) {
    return r.Error(f, "expected connection_env or connection_file (or both)");
  }
  if (!database && s.path.empty() && s.connection_env.empty()) {
    return r.Error(f, "expected path or connection_env (or both)");
  }
  return s;
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// A rules block as read, with where each of its fields was given, for the
// checks of how the detector's and a measure's blocks combine.
struct RulesRead {
  Rules rules;
  std::map<std::string, Field, std::less<>> at;  // key -> where it was given
  const Field* Where(std::string_view key) const {
    auto it = at.find(key);
    return it == at.end() ? nullptr : &it->second;
  }
};

Result<double> FiniteNumber(const Reader& r, const Field& f) {
  OSPREY_ASSIGN_OR_RETURN(double v, r.Number(f));
  if (!std::isfinite(v)) return r.Error(f, fmt::format("expected a finite number, got {}", Describe(f.node)));
  return v;
}

Result<RulesRead> ReadRules(const Reader& r, const Field& f) {
  OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(f, {"min", "max", "change_percent", "change_intervals", "direction",
                                              "sensitivity", "combine"}));
  RulesRead out;
  Rules& rules = out.rules;
  for (const std::string& key : m.keys()) out.at.emplace(key, *m.Get(key));
  if (auto v = m.Get("min")) {
    OSPREY_ASSIGN_OR_RETURN(rules.min, FiniteNumber(r, *v));
  }
  if (auto v = m.Get("max")) {
    OSPREY_ASSIGN_OR_RETURN(rules.max, FiniteNumber(r, *v));
  }
  if (rules.min && rules.max && *rules.min > *rules.max) {
    return r.Error(*m.Get("max"), fmt::format("max ({}) is below min ({}); no value could be normal",
                                              *rules.max, *rules.min));
  }
  if (auto v = m.Get("change_percent")) {
    OSPREY_ASSIGN_OR_RETURN(double pct, FiniteNumber(r, *v));
    if (pct <= 0) {
      return r.Error(*v, fmt::format("expected a percentage above 0 (30 means a change of 30%), "
                                     "got {}",
                                     v->node.Scalar()));
    }
    rules.change_percent = pct;
  }
  if (auto v = m.Get("change_intervals")) {
    OSPREY_ASSIGN_OR_RETURN(int64_t n, r.Integer(*v));
    if (n < 1 || n > 1000) {
      return r.Error(*v, fmt::format("expected a number of intervals from 1 to 1000, got {}", n));
    }
    rules.change_intervals = n;
  }
  if (auto v = m.Get("direction")) {
    OSPREY_ASSIGN_OR_RETURN(std::string name, r.String(*v));
    rules.direction = ParseRuleDirection(name);
    if (!rules.direction) {
      return r.Error(*v, fmt::format("unknown direction \"{}\"; expected up, down or both", name));
    }
  }
  if (auto v = m.Get("sensitivity")) {
    OSPREY_ASSIGN_OR_RETURN(rules.sensitivity, r.Percent(*v));
  }
  if (auto v = m.Get("combine")) {
    OSPREY_ASSIGN_OR_RETURN(std::string name, r.String(*v));
    rules.combine = ParseRuleCombine(name);
    if (!rules.combine) {
      return r.Error(*v, fmt::format("unknown combine mode \"{}\"; expected max, rules_only, "
                                     "model_only or both",
                                     name));
    }
  }
  return out;
}

// Checks what only shows once the detector's rules and each measure's are
// merged. A message points at the field that made the merge wrong: the
// measure's when it gives one, else the detector's.
Status CheckMergedRules(const Reader& r, const Detector& d, const RulesRead& top,
                        const std::vector<RulesRead>& per_measure) {
  auto where = [&](size_t i, std::string_view key) -> const Field* {
    if (const Field* f = per_measure[i].Where(key)) return f;
    return top.Where(key);
  };
  bool any_change = top.rules.change_percent.has_value();
  for (size_t i = 0; i < d.measures.size(); ++i) {
    const Rules eff = EffectiveRules(d, i);
    const std::string& name = d.measures[i].name;
    any_change = any_change || eff.change_percent;
    if (eff.min && eff.max && *eff.min > *eff.max) {
      const Field* f = per_measure[i].Where("max") ? where(i, "max") : where(i, "min");
      return r.Error(*f, fmt::format("for measure \"{}\", min ({}) is above max ({}) once the "
                                     "detector's and the measure's rules are merged; no value "
                                     "could be normal",
                                     name, *eff.min, *eff.max));
    }
    if (eff.combine && (*eff.combine == RuleCombine::kRulesOnly || *eff.combine == RuleCombine::kBoth) &&
        !eff.HasRule()) {
      return r.Error(*where(i, "combine"),
                     fmt::format("combine {} needs a rule, but measure \"{}\" has no min, max or "
                                 "change_percent, so it could never be flagged; add a rule or "
                                 "set its combine to max or model_only",
                                 RuleCombineName(*eff.combine), name));
    }
    if (const Field* f = per_measure[i].Where("change_intervals"); f && !eff.change_percent) {
      return r.Error(*f, fmt::format("change_intervals needs change_percent (measure \"{}\" has "
                                     "none)",
                                     name));
    }
  }
  if (const Field* f = top.Where("change_intervals"); f && !any_change) {
    return r.Error(*f, "change_intervals needs change_percent, here or in a measure's rules");
  }
  return Status::Ok();
}

// `ratio: {numerator: A, denominator: B}` of measure `self`. The sides are
// appended to `sides` for ReadMeasures to check once every measure is read.
Result<RatioOf> ReadRatio(const Reader& r, const Field& f, const std::string& self,
                          std::vector<Field>& sides) {
  OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(f, {"numerator", "denominator"}));
  RatioOf ratio;
  OSPREY_ASSIGN_OR_RETURN(Field num, r.Required(m, "numerator", "the measure counted on top"));
  OSPREY_ASSIGN_OR_RETURN(ratio.numerator, r.NonEmptyString(num));
  OSPREY_ASSIGN_OR_RETURN(Field den, r.Required(m, "denominator", "the measure it is divided by"));
  OSPREY_ASSIGN_OR_RETURN(ratio.denominator, r.NonEmptyString(den));
  for (const Field* side : {&num, &den}) {
    if (side->node.as<std::string>() == self) {
      return r.Error(*side, fmt::format("ratio measure \"{}\" refers to itself; its sides are "
                                        "two other measures",
                                        self));
    }
  }
  if (ratio.numerator == ratio.denominator) {
    return r.Error(den, fmt::format("numerator and denominator are both \"{}\"; the ratio "
                                    "would always be 1",
                                    ratio.numerator));
  }
  sides.push_back(num);
  sides.push_back(den);
  return ratio;
}

Result<std::vector<Measure>> ReadMeasures(const Reader& r, const Field& f,
                                          const std::vector<std::string>& dimensions,
                                          std::vector<RulesRead>& rules) {
  std::vector<Field> ratio_sides, weights;
  OSPREY_ASSIGN_OR_RETURN(std::vector<Field> items, r.List(f));
  if (items.empty()) return r.Error(f, "expected at least one measure");
  std::vector<Measure> out;
  for (const Field& item : items) {
    OSPREY_ASSIGN_OR_RETURN(
        Fields m, r.Map(item, {"name", "aggregation", "weight", "sensitivity", "rules", "missing", "ratio"}));
    Measure measure;
    OSPREY_ASSIGN_OR_RETURN(Field name, r.Required(m, "name", "the measure's column name"));
    OSPREY_ASSIGN_OR_RETURN(measure.name, r.NonEmptyString(name));
    for (const Measure& other : out) {
      if (other.name == measure.name) {
        return r.Error(name, fmt::format("duplicate measure \"{}\"; list each once", measure.name));
      }
    }
    if (Contains(dimensions, measure.name)) {
      return r.Error(name, fmt::format("\"{}\" is listed as both a measure and a dimension; a "
                                       "column is one or the other",
                                       measure.name));
    }
    if (auto a = m.Get("aggregation")) {
      OSPREY_ASSIGN_OR_RETURN(std::string agg, r.String(*a));
      std::optional<Aggregation> parsed = ParseAggregation(agg);
      if (!parsed) {
        return r.Error(*a, fmt::format("unknown aggregation \"{}\"; expected SUM, AVG, COUNT, MIN "
                                       "or MAX",
                                       agg));
      }
      measure.aggregation = *parsed;
    }
    if (auto v = m.Get("sensitivity")) {
      OSPREY_ASSIGN_OR_RETURN(measure.sensitivity, r.Percent(*v));
    }
    if (auto v = m.Get("missing")) {
      OSPREY_ASSIGN_OR_RETURN(std::string policy, r.String(*v));
      std::optional<MissingPolicy> parsed = ParseMissingPolicy(policy);
      if (!parsed) {
        return r.Error(*v, fmt::format("unknown missing-data policy \"{}\"; expected skip, zero "
                                       "or previous",
                                       policy));
      }
      measure.missing = *parsed;
    }
    if (auto v = m.Get("ratio")) {
      for (std::string_view key : {"aggregation", "missing"}) {
        if (auto other = m.Get(key)) {
          return r.Error(*other, fmt::format("a ratio measure has no {}: its value is "
                                             "SUM(numerator) / SUM(denominator); remove it",
                                             key));
        }
      }
      OSPREY_ASSIGN_OR_RETURN(measure.ratio, ReadRatio(r, *v, measure.name, ratio_sides));
    }
    if (auto v = m.Get("weight")) {
      if (measure.ratio || measure.aggregation != Aggregation::kAvg) {
        return r.Error(
            *v, fmt::format("weight is for an AVG measure (a mean of rows that are averages "
                            "themselves); measure \"{}\" {}",
                            measure.name,
                            measure.ratio
                                ? std::string("is a ratio")
                                : "has aggregation " + std::string(AggregationName(measure.aggregation))));
      }
      OSPREY_ASSIGN_OR_RETURN(std::string weight, r.NonEmptyString(*v));
      if (weight == measure.name) {
        return r.Error(*v, fmt::format("measure \"{}\" cannot weigh itself; name the measure that counts "
                                       "what each row averages (requests, orders)",
                                       measure.name));
      }
      measure.weight = weight;
      weights.push_back(*v);
    }
    RulesRead read;
    if (auto v = m.Get("rules")) {
      OSPREY_ASSIGN_OR_RETURN(read, ReadRules(r, *v));
      measure.rules = read.rules;
    }
    rules.push_back(std::move(read));
    out.push_back(std::move(measure));
  }
  // The measure a field names (a ratio's side, a weight), once all measures
  // are known (it may be listed after the one naming it); `hint` ends the
  // error when there is none.
  auto named = [&](const Field& ref, std::string_view hint) -> Result<std::vector<Measure>::const_iterator> {
    const std::string name = ref.node.as<std::string>();
    auto it = std::find_if(out.cbegin(), out.cend(), [&](const Measure& x) { return x.name == name; });
    if (it != out.cend()) return it;
    std::vector<std::string> names;
    for (const Measure& x : out) names.push_back(x.name);
    return r.Error(ref, fmt::format("\"{}\" is not a measure of the detector ({}){}", name,
                                    fmt::join(names, ", "), hint));
  };
  // Both sides of every ratio.
  for (const Field& side : ratio_sides) {
    const std::string name = side.node.as<std::string>();
    OSPREY_ASSIGN_OR_RETURN(auto it, named(side, ""));
    if (it->ratio) {
      return r.Error(side, fmt::format("\"{}\" is a ratio measure; each side of a ratio is a "
                                       "measure with a SUM or COUNT aggregation",
                                       name));
    }
    if (it->aggregation != Aggregation::kSum && it->aggregation != Aggregation::kCount) {
      return r.Error(side, fmt::format("measure \"{}\" has aggregation {}; each side of a ratio "
                                       "needs SUM or COUNT, so that a roll-up's ratio is the "
                                       "ratio of its sums",
                                       name, AggregationName(it->aggregation)));
    }
  }
  // Every weight: a measure of the detector that is summed (so that a
  // roll-up's weight is the sum of its leaves').
  for (const Field& w : weights) {
    const std::string name = w.node.as<std::string>();
    OSPREY_ASSIGN_OR_RETURN(
        auto it, named(w, "; list the column that counts what each row averages as a SUM measure"));
    if (it->ratio || (it->aggregation != Aggregation::kSum && it->aggregation != Aggregation::kCount)) {
      return r.Error(
          w, fmt::format("weight \"{}\" {}; a weight needs SUM or COUNT, so that a roll-up "
                         "weighs by the sum of its rows' weights",
                         name,
                         it->ratio ? std::string("is a ratio measure")
                                   : "has aggregation " + std::string(AggregationName(it->aggregation))));
    }
  }
  return out;
}

Result<std::vector<Filter>> ReadFilters(const Reader& r, const Field& f,
                                        const std::vector<std::string>& dimensions) {
  OSPREY_ASSIGN_OR_RETURN(std::vector<Field> items, r.List(f));
  std::vector<Filter> out;
  for (const Field& item : items) {
    OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(item, {"dimension", "values"}));
    Filter filter;
    OSPREY_ASSIGN_OR_RETURN(Field dim, r.Required(m, "dimension", "a dimension name"));
    OSPREY_ASSIGN_OR_RETURN(filter.dimension, r.NonEmptyString(dim));
    if (!Contains(dimensions, filter.dimension)) {
      return r.Error(dim, fmt::format("\"{}\" is not one of the detector's dimensions ({})", filter.dimension,
                                      fmt::join(dimensions, ", ")));
    }
    for (const Filter& other : out) {
      if (other.dimension == filter.dimension) {
        return r.Error(
            dim, fmt::format("a filter on \"{}\" is given already; merge their values", filter.dimension));
      }
    }
    OSPREY_ASSIGN_OR_RETURN(Field values, r.Required(m, "values", "a list of values to keep"));
    OSPREY_ASSIGN_OR_RETURN(filter.values, r.StringList(values, "value"));
    if (filter.values.empty()) return r.Error(values, "expected at least one value");
    out.push_back(std::move(filter));
  }
  return out;
}

Result<std::vector<Alert>> ReadAlerts(const Reader& r, const Field& f, const Detector& d) {
  OSPREY_ASSIGN_OR_RETURN(std::vector<Field> items, r.List(f));
  std::vector<Alert> out;
  for (const Field& item : items) {
    OSPREY_ASSIGN_OR_RETURN(Fields m, r.Map(item, {"name",
                                                   "destination",
                                                   "target_env",
                                                   "target_file",
                                                   "min_severity",
                                                   "measures",
                                                   "dimensions",
                                                   "description",
                                                   "min_duration",
                                                   "cooldown",
                                                   "renotify_margin",
                                                   "send_resolved",
                                                   "signing_key_env",
                                                   "signing_key_file",
                                                   "routing_key_env",
                                                   "routing_key_file",
                                                   "ui_base_url",
                                                   "max_attempts",
                                                   "timeout",
                                                   "no_data_after",
                                                   "on"}));
    Alert alert;
    OSPREY_ASSIGN_OR_RETURN(Field name, r.Required(m, "name", "a name for the alert"));
    OSPREY_ASSIGN_OR_RETURN(alert.name, r.NonEmptyString(name));
    for (const Alert& other : out) {
      if (other.name == alert.name) {
        return r.Error(name, fmt::format("duplicate alert name \"{}\"", alert.name));
      }
    }
    if (auto dest = m.Get("destination")) {
      OSPREY_ASSIGN_OR_RETURN(std::string s, r.String(*dest));
      std::optional<AlertDestination> parsed = ParseAlertDestination(s);
      if (!parsed) {
        return r.Error(*dest, fmt::format("unknown destination \"{}\"; expected webhook, slack, "
                                          "pagerduty, alertmanager or command",
                                          s));
      }
      alert.destination = *parsed;
    }
    if (auto file = m.Get("target_file")) {
      OSPREY_ASSIGN_OR_RETURN(alert.target_file, r.NonEmptyString(*file));
      OSPREY_RETURN_IF_ERROR(CheckFileName(r, *file, alert.target_file));
    }
    if (!alert.target_file.empty() && !m.Get("target_env")) {
      // target_file alone is enough.
    } else {
      OSPREY_ASSIGN_OR_RETURN(Field target,
                              r.Required(m, "target_env",
                                         "the name of an environment variable holding the URL or command "
                                         "(or target_file)"));
      OSPREY_ASSIGN_OR_RETURN(alert.target_env, r.String(target));
      OSPREY_RETURN_IF_ERROR(CheckEnvName(r, target, alert.target_env));
    }
    for (auto [env_key, file_key, env, file] :
         {std::tuple{"signing_key_env", "signing_key_file", &alert.signing_key_env, &alert.signing_key_file},
          std::tuple{"routing_key_env", "routing_key_file", &alert.routing_key_env,
                     &alert.routing_key_file}}) {
      const std::optional<Field> env_field = m.Get(env_key);
      const std::optional<Field> file_field = m.Get(file_key);
      if (env_field && file_field) {
        return r.Error(*file_field, fmt::format("give {} or {}, not both", env_key, file_key));
      }
      if (env_field) {
        OSPREY_ASSIGN_OR_RETURN(*env, r.String(*env_field));
        OSPREY_RETURN_IF_ERROR(CheckEnvName(r, *env_field, *env));
      }
      if (file_field) {
        OSPREY_ASSIGN_OR_RETURN(*file, r.NonEmptyString(*file_field));
        OSPREY_RETURN_IF_ERROR(CheckFileName(r, *file_field, *file));
      }
    }
    if (auto v = m.Get("min_duration")) {
      OSPREY_ASSIGN_OR_RETURN(alert.min_duration, r.Integer(*v));
      if (alert.min_duration < 1 || alert.min_duration > 1000) {
        return r.Error(
            *v, fmt::format("expected a number of intervals from 1 to 1000, got {}", alert.min_duration));
      }
    }
    if (auto v = m.Get("cooldown")) {
      OSPREY_ASSIGN_OR_RETURN(alert.cooldown_seconds, r.Integer(*v));
      if (alert.cooldown_seconds < 0) {
        return r.Error(*v, fmt::format("expected a number of seconds >= 0, got {}", alert.cooldown_seconds));
      }
    }
    if (auto v = m.Get("renotify_margin")) {
      OSPREY_ASSIGN_OR_RETURN(alert.renotify_margin, r.Percent(*v));
    }
    if (auto v = m.Get("send_resolved")) {
      OSPREY_ASSIGN_OR_RETURN(alert.send_resolved, r.Bool(*v));
    }
    if (auto v = m.Get("ui_base_url")) {
      OSPREY_ASSIGN_OR_RETURN(std::string url, r.NonEmptyString(*v));
      if (HasUrlPassword(url)) return r.Error(*v, kUseConnectionEnv);
      if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
        return r.Error(*v, fmt::format("expected an http:// or https:// URL, got \"{}\"", url));
      }
      while (!url.empty() && url.back() == '/') url.pop_back();
      alert.ui_base_url = std::move(url);
    }
    if (auto v = m.Get("max_attempts")) {
      OSPREY_ASSIGN_OR_RETURN(alert.max_attempts, r.Integer(*v));
      if (alert.max_attempts < 1 || alert.max_attempts > 100) {
        return r.Error(
            *v, fmt::format("expected a number of attempts from 1 to 100, got {}", alert.max_attempts));
      }
    }
    if (auto v = m.Get("no_data_after")) {
      OSPREY_ASSIGN_OR_RETURN(alert.no_data_after, r.Integer(*v));
      if (alert.no_data_after < 0 || alert.no_data_after > 100000) {
        return r.Error(*v, fmt::format("expected a number of intervals from 0 (off) to 100000, got {}",
                                       alert.no_data_after));
      }
    }
    if (auto v = m.Get("on")) {
      OSPREY_ASSIGN_OR_RETURN(std::vector<Field> types, r.List(*v));
      if (types.empty()) return r.Error(*v, "expected at least one of anomaly, no_data, failing");
      alert.on_anomaly = false;
      bool no_data = false;
      for (const Field& t : types) {
        OSPREY_ASSIGN_OR_RETURN(std::string s, r.NonEmptyString(t));
        if (s == "anomaly") {
          alert.on_anomaly = true;
        } else if (s == "no_data") {
          no_data = true;
        } else if (s == "failing") {
          alert.on_failing = true;
        } else {
          return r.Error(t,
                         fmt::format("unknown alert type \"{}\"; expected anomaly, no_data or failing", s));
        }
      }
      if (no_data && alert.no_data_after == 0) {
        return r.Error(*v, "no_data needs no_data_after (how many intervals without rows)");
      }
      if (!no_data && alert.no_data_after > 0) {
        return r.Error(*v, "no_data_after is set but no_data is not listed");
      }
    }
    if (auto v = m.Get("timeout")) {
      OSPREY_ASSIGN_OR_RETURN(alert.timeout_seconds, r.Integer(*v));
      if (alert.timeout_seconds < 1 || alert.timeout_seconds > 300) {
        return r.Error(
            *v, fmt::format("expected a number of seconds from 1 to 300, got {}", alert.timeout_seconds));
      }
    }
    if (auto sev = m.Get("min_severity")) {
      OSPREY_ASSIGN_OR_RETURN(alert.min_severity, r.Percent(*sev));
    }
    if (auto measures = m.Get("measures")) {
      OSPREY_ASSIGN_OR_RETURN(std::vector<Field> names, r.List(*measures));
      for (const Field& n : names) {
        OSPREY_ASSIGN_OR_RETURN(std::string s, r.NonEmptyString(n));
        const bool known =
            std::any_of(d.measures.begin(), d.measures.end(), [&](const Measure& x) { return x.name == s; });
        if (!known) {
          return r.Error(n, fmt::format("\"{}\" is not one of the detector's measures", s));
        }
        if (Contains(alert.measures, s)) {
          return r.Error(n, fmt::format("duplicate measure \"{}\"; list each once", s));
        }
        alert.measures.push_back(std::move(s));
      }
    }
    if (auto dims = m.Get("dimensions")) {
      OSPREY_ASSIGN_OR_RETURN(Fields dm, r.Map(*dims, {}));
      for (const std::string& key : dm.keys()) {
        const Field values = *dm.Get(key);
        if (!Contains(d.dimensions, key)) {
          return r.Error(values, fmt::format("\"{}\" is not one of the detector's dimensions ({})", key,
                                             fmt::join(d.dimensions, ", ")));
        }
        OSPREY_ASSIGN_OR_RETURN(std::vector<std::string> v, r.StringList(values, "value"));
        if (v.empty()) return r.Error(values, "expected at least one value");
        alert.dimension_filter[key] = std::move(v);
      }
    }
    if (auto desc = m.Get("description")) {
      OSPREY_ASSIGN_OR_RETURN(alert.description, r.String(*desc));
    }
    out.push_back(std::move(alert));
  }
  return out;
}

Status CheckPlaceholders(const Reader& r, const Field& query, const std::string& text) {
  for (std::string_view placeholder : {kIntervalStart, kIntervalEnd}) {
    if (text.find(placeholder) == std::string::npos) {
      return r.Error(query, fmt::format("the query lacks the {} placeholder; expected a filter "
                                        "like \"ts >= {} and ts < {}\"",
                                        placeholder, kIntervalStart, kIntervalEnd));
    }
  }
  return Status::Ok();
}

// Calendar events (docs/configuration.md, "events").

constexpr int kMaxEventDays = 366;  // offsets and lengths; detect/events.cc relies on it

// "region=West&channel=web" (the CSV form of an event's scope).
Result<std::vector<detect::EventScope>> ParseEventScope(std::string_view text,
                                                        const std::vector<std::string>& dimensions) {
  std::vector<detect::EventScope> out;
  if (text.empty()) return out;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t amp = std::min(text.find('&', pos), text.size());
    const std::string_view part = text.substr(pos, amp - pos);
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos || eq == 0 || eq + 1 == part.size()) {
      return InvalidArgument(fmt::format(
          "expected dimension=value pairs joined by '&' (region=West&channel=web), got \"{}\"", part));
    }
    const std::string name(part.substr(0, eq));
    auto it = std::find(dimensions.begin(), dimensions.end(), name);
    if (it == dimensions.end()) {
      return InvalidArgument(fmt::format("\"{}\" is not one of the detector's dimensions ({})", name,
                                         fmt::join(dimensions, ", ")));
    }
    for (const detect::EventScope& e : out) {
      if (e.name == name) {
        return InvalidArgument(
            fmt::format("dimension \"{}\" is given twice; an event is scoped "
                        "to one value per dimension",
                        name));
      }
    }
    out.push_back({static_cast<size_t>(it - dimensions.begin()), name, std::string(part.substr(eq + 1))});
    pos = amp + 1;
  }
  return out;
}

Result<detect::EventEffect> ParseEffectName(std::string_view name) {
  std::optional<detect::EventEffect> e = detect::ParseEventEffect(name);
  if (!e) return InvalidArgument(fmt::format("unknown effect \"{}\"; expected learn or suppress", name));
  return *e;
}

Status CheckEventRange(Instant start, Instant end) {
  if (!(start < end)) {
    return InvalidArgument(
        fmt::format("the event ends ({}) before it starts ({}); end is "
                    "exclusive and must be after start",
                    FormatIso(end), FormatIso(start)));
  }
  return Status::Ok();
}

// An integer field in [lo, hi].
Result<int64_t> IntegerIn(const Reader& r, const Field& f, int64_t lo, int64_t hi, std::string_view what) {
  OSPREY_ASSIGN_OR_RETURN(int64_t v, r.Integer(f));
  if (v < lo || v > hi) return r.Error(f, fmt::format("expected {} from {} to {}, got {}", what, lo, hi, v));
  return v;
}

Result<detect::CalendarEvent> ReadEvent(const Reader& r, const Field& f, const Detector& d) {
  OSPREY_ASSIGN_OR_RETURN(
      Fields m, r.Map(f, {"name", "start", "end", "date", "month", "weekday", "nth", "easter", "days",
                          "hours", "offset_days", "dimensions", "effect"}));
  detect::CalendarEvent e;
  OSPREY_ASSIGN_OR_RETURN(Field name, r.Required(m, "name", "the event's name"));
  OSPREY_ASSIGN_OR_RETURN(e.name, r.NonEmptyString(name));

  // Exactly one way of saying when: start/end, date, weekday (with month and
  // nth) or easter.
  std::optional<Field> kind;
  for (std::string_view key : {"start", "date", "weekday", "easter"}) {
    std::optional<Field> k = m.Get(key);
    if (!k) continue;
    if (kind) {
      return r.Error(*k, fmt::format("give one of start/end, date, weekday (with month and nth) "
                                     "or easter; \"{}\" is given already",
                                     kind->path.substr(kind->path.rfind('.') + 1)));
    }
    kind = k;
  }
  if (!kind) {
    if (auto month = m.Get("month")) {
      return r.Error(*month,
                     "month needs weekday and nth (\"4th Thursday\"); for a fixed day use "
                     "date: \"MM-DD\"");
    }
    return r.Error(f,
                   "expected when the event happens: start and end, date (\"12-25\"), "
                   "month with weekday and nth, or easter (days from Easter Sunday)");
  }
  const std::string kind_key = kind->path.substr(kind->path.rfind('.') + 1);
  auto reject = [&](std::string_view key, std::string_view why) -> Status {
    if (auto k = m.Get(key)) return r.Error(*k, why);
    return Status::Ok();
  };
  if (kind_key == "start") {
    e.recurrence = detect::EventRecurrence::kOnce;
    for (std::string_view key : {"month", "nth", "days", "hours", "offset_days"}) {
      OSPREY_RETURN_IF_ERROR(reject(key,
                                    "a one-off event (start/end) takes no recurrence fields; "
                                    "its end says how long it lasts"));
    }
    OSPREY_ASSIGN_OR_RETURN(Field end, r.Required(m, "end", "when the event ends (exclusive)"));
    OSPREY_ASSIGN_OR_RETURN(std::string start_text, r.NonEmptyString(*kind));
    OSPREY_ASSIGN_OR_RETURN(std::string end_text, r.NonEmptyString(end));
    Result<Instant> start = ParseInstant(start_text, d.timezone);
    if (!start.ok()) return r.Error(*kind, start.status().message());
    Result<Instant> stop = ParseInstant(end_text, d.timezone);
    if (!stop.ok()) return r.Error(end, stop.status().message());
    if (Status s = CheckEventRange(*start, *stop); !s.ok()) return r.Error(end, s.message());
    e.start = *start;
    e.end = *stop;
  } else {
    OSPREY_RETURN_IF_ERROR(reject("end",
                                  "end goes with start; a recurring event lasts one day "
                                  "unless days or hours say otherwise"));
    if (kind_key == "date") {
      e.recurrence = detect::EventRecurrence::kFixedDate;
      for (std::string_view key : {"month", "nth"}) {
        OSPREY_RETURN_IF_ERROR(reject(key, "date gives the month and day already (\"12-25\")"));
      }
      OSPREY_ASSIGN_OR_RETURN(std::string text, r.NonEmptyString(*kind));
      const bool mm_dd = text.size() == 5 && IsAsciiDigit(text[0]) && IsAsciiDigit(text[1]) &&
                         text[2] == '-' && IsAsciiDigit(text[3]) && IsAsciiDigit(text[4]);
      if (!mm_dd) {
        return r.Error(*kind, fmt::format("expected a month and day as \"MM-DD\" (\"12-25\"), got "
                                          "\"{}\"",
                                          text));
      }
      e.month = (text[0] - '0') * 10 + (text[1] - '0');
      e.day = (text[3] - '0') * 10 + (text[4] - '0');
      static constexpr int kDaysIn[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
      if (e.month < 1 || e.month > 12 || e.day < 1 || e.day > kDaysIn[e.month - 1]) {
        return r.Error(*kind, fmt::format("\"{}\" is not a day of the year", text));
      }
    } else if (kind_key == "weekday") {
      e.recurrence = detect::EventRecurrence::kNthWeekday;
      OSPREY_ASSIGN_OR_RETURN(std::string text, r.NonEmptyString(*kind));
      std::optional<int> wd = detect::ParseWeekday(text);
      if (!wd) {
        return r.Error(*kind, fmt::format("unknown weekday \"{}\"; expected monday, tuesday, "
                                          "wednesday, thursday, friday, saturday or sunday",
                                          text));
      }
      e.weekday = *wd;
      OSPREY_ASSIGN_OR_RETURN(Field month, r.Required(m, "month", "the month, 1-12"));
      OSPREY_ASSIGN_OR_RETURN(int64_t mo, IntegerIn(r, month, 1, 12, "a month"));
      e.month = static_cast<int>(mo);
      OSPREY_ASSIGN_OR_RETURN(Field nth, r.Required(m, "nth", "which one: 1-5, or -1 for the last"));
      OSPREY_ASSIGN_OR_RETURN(int64_t n, r.Integer(nth));
      if (n == 0 || n < -5 || n > 5) {
        return r.Error(nth, fmt::format("expected 1 to 5 (the nth {} of the month) or -1 to -5 "
                                        "(counted from its end; -1 is the last), got {}",
                                        text, n));
      }
      e.nth = static_cast<int>(n);
    } else {
      e.recurrence = detect::EventRecurrence::kEaster;
      for (std::string_view key : {"month", "nth"}) {
        OSPREY_RETURN_IF_ERROR(reject(key, "easter gives the date already (days from Easter Sunday)"));
      }
      OSPREY_ASSIGN_OR_RETURN(int64_t days, IntegerIn(r, *kind, -kMaxEventDays, kMaxEventDays,
                                                      "a number of days from Easter Sunday"));
      e.easter_days = static_cast<int>(days);
    }
    const std::optional<Field> days = m.Get("days");
    const std::optional<Field> hours = m.Get("hours");
    if (days && hours) return r.Error(*hours, "give days or hours, not both");
    if (days) {
      OSPREY_ASSIGN_OR_RETURN(int64_t n, IntegerIn(r, *days, 1, kMaxEventDays, "a number of days"));
      e.length_seconds = n * 86400;
    }
    if (hours) {
      OSPREY_ASSIGN_OR_RETURN(int64_t n, IntegerIn(r, *hours, 1, 24 * kMaxEventDays, "a number of hours"));
      e.length_seconds = n * 3600;
    }
    if (auto off = m.Get("offset_days")) {
      OSPREY_ASSIGN_OR_RETURN(int64_t n,
                              IntegerIn(r, *off, -kMaxEventDays, kMaxEventDays, "a number of days"));
      e.offset_days = static_cast<int>(n);
    }
  }
  if (auto dims = m.Get("dimensions")) {
    OSPREY_ASSIGN_OR_RETURN(Fields dm, r.Map(*dims, {}));
    if (dm.keys().empty()) return r.Error(*dims, "expected at least one dimension: value");
    for (const std::string& key : dm.keys()) {
      const Field value = *dm.Get(key);
      auto it = std::find(d.dimensions.begin(), d.dimensions.end(), key);
      if (it == d.dimensions.end()) {
        return r.Error(value, fmt::format("\"{}\" is not one of the detector's dimensions ({})", key,
                                          fmt::join(d.dimensions, ", ")));
      }
      OSPREY_ASSIGN_OR_RETURN(std::string v, r.NonEmptyString(value));
      e.scope.push_back({static_cast<size_t>(it - d.dimensions.begin()), key, std::move(v)});
    }
  }
  if (auto effect = m.Get("effect")) {
    OSPREY_ASSIGN_OR_RETURN(std::string text, r.String(*effect));
    Result<detect::EventEffect> parsed = ParseEffectName(text);
    if (!parsed.ok()) return r.Error(*effect, parsed.status().message());
    e.effect = *parsed;
  }
  return e;
}

// The events of a CSV file: a header naming the columns name, start, end
// (required), dimensions and effect (optional), in any order; one one-off
// event per line.
Result<std::vector<detect::CalendarEvent>> ReadEventsCsv(std::istream& in, const std::string& path,
                                                         const Detector& d) {
  CsvReader reader(in, path);
  std::vector<std::string> fields;
  auto at = [&](size_t column, std::string_view name, std::string_view what) {
    return InvalidArgument(
        fmt::format("{}:{}: column {} ({}): {}", path, reader.line(), column + 1, name, what));
  };
  OSPREY_ASSIGN_OR_RETURN(bool any, reader.Next(fields));
  if (!any) {
    return InvalidArgument(
        fmt::format("{}:1: the events file is empty; expected a header line "
                    "name,start,end[,dimensions][,effect]",
                    path));
  }
  static const std::vector<std::string> kColumns = {"name", "start", "end", "dimensions", "effect"};
  std::map<std::string, size_t> column;
  if (!fields.empty() && fields[0].rfind("\xEF\xBB\xBF", 0) == 0) fields[0].erase(0, 3);  // a BOM
  for (size_t i = 0; i < fields.size(); ++i) {
    std::string name = Lower(fields[i]);
    name.erase(0, name.find_first_not_of(" \t"));
    name.erase(name.find_last_not_of(" \t") + 1);
    if (std::find(kColumns.begin(), kColumns.end(), name) == kColumns.end()) {
      return at(i, fields[i],
                "unknown column; the header names name, start, end and optionally "
                "dimensions and effect");
    }
    if (!column.emplace(name, i).second) return at(i, fields[i], "column given twice");
  }
  for (std::string_view required : {"name", "start", "end"}) {
    if (!column.count(std::string(required))) {
      return InvalidArgument(
          fmt::format("{}:{}: the header lacks the {} column; expected "
                      "name,start,end[,dimensions][,effect]",
                      path, reader.line(), required));
    }
  }
  std::vector<detect::CalendarEvent> out;
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
    if (!more) break;
    if (fields.size() == 1 && fields[0].empty()) continue;  // a blank line
    if (fields.size() != column.size()) {
      return InvalidArgument(fmt::format("{}:{}: expected {} fields as in the header, got {}", path,
                                         reader.line(), column.size(), fields.size()));
    }
    detect::CalendarEvent e;
    const size_t name_at = column["name"], start_at = column["start"], end_at = column["end"];
    e.name = fields[name_at];
    if (e.name.empty()) return at(name_at, "name", "expected the event's name");
    if (FindControlCharacter(e.name)) return at(name_at, "name", "control character in the name");
    Result<Instant> start = ParseInstant(fields[start_at], d.timezone);
    if (!start.ok()) return at(start_at, "start", start.status().message());
    Result<Instant> end = ParseInstant(fields[end_at], d.timezone);
    if (!end.ok()) return at(end_at, "end", end.status().message());
    if (Status s = CheckEventRange(*start, *end); !s.ok()) return at(end_at, "end", s.message());
    e.start = *start;
    e.end = *end;
    if (auto c = column.find("dimensions"); c != column.end()) {
      Result<std::vector<detect::EventScope>> scope = ParseEventScope(fields[c->second], d.dimensions);
      if (!scope.ok()) return at(c->second, "dimensions", scope.status().message());
      e.scope = *std::move(scope);
    }
    if (auto c = column.find("effect"); c != column.end() && !fields[c->second].empty()) {
      Result<detect::EventEffect> effect = ParseEffectName(fields[c->second]);
      if (!effect.ok()) return at(c->second, "effect", effect.status().message());
      e.effect = *effect;
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<detect::CalendarEvent>> ReadEventsFile(const std::string& path, const Detector& d) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound(fmt::format("{}: cannot open the events file: {}", path, std::strerror(errno)));
  }
  return ReadEventsCsv(in, path, d);
}

// `events:` is a CSV file's path or a list of events. With `dir` (the
// detector file's directory) a file is read now, so its errors show at load.
Status ReadEvents(const Reader& r, const Field& f, const std::string* dir, Detector& d) {
  if (f.node.IsScalar()) {
    OSPREY_ASSIGN_OR_RETURN(d.events_file, r.NonEmptyString(f));
    if (dir) {
      std::string path = d.events_file;
      if (!dir->empty() && std::filesystem::path(path).is_relative()) {
        path = (std::filesystem::path(*dir) / path).lexically_normal().string();
      }
      Result<std::vector<detect::CalendarEvent>> events = ReadEventsFile(path, d);
      if (!events.ok()) return r.Error(f, events.status().message());
    }
    return Status::Ok();
  }
  if (!f.node.IsSequence()) {
    return r.Error(
        f, fmt::format("expected the path of a CSV file or a list of events, got {}", Describe(f.node)));
  }
  OSPREY_ASSIGN_OR_RETURN(std::vector<Field> items, r.List(f));
  for (const Field& item : items) {
    OSPREY_ASSIGN_OR_RETURN(detect::CalendarEvent e, ReadEvent(r, item, d));
    d.events.push_back(std::move(e));
  }
  return Status::Ok();
}

Result<Detector> ReadDetector(const Reader& r, const Field& root, const std::string* dir) {
  OSPREY_ASSIGN_OR_RETURN(
      Fields m,
      r.Map(root,
            {"name",           "description", "frequency",    "timezone",   "offset",   "history_start",
             "source",         "query",       "timestamp",    "dimensions", "measures", "filters",
             "rollup_depth",   "sensitivity", "min_severity", "alerts",     "schedule", "restatement_window",
             "backfill_chunk", "rules",       "events",       "shards",     "holidays"}));
  Detector d;

  OSPREY_ASSIGN_OR_RETURN(Field name, r.Required(m, "name", "a detector name"));
  OSPREY_ASSIGN_OR_RETURN(d.name, r.String(name));
  auto name_char = [](char c) { return (c >= 'a' && c <= 'z') || IsAsciiDigit(c); };
  constexpr size_t kMaxNameLength = 128;  // names go into URLs, file names and alert titles
  const bool good_name =
      !d.name.empty() && d.name.size() <= kMaxNameLength && name_char(d.name[0]) &&
      std::all_of(d.name.begin(), d.name.end(), [&](char c) { return name_char(c) || c == '_' || c == '-'; });
  if (!good_name) {
    if (d.name.size() > kMaxNameLength) {
      return r.Error(name, fmt::format("a detector name of {} characters; expected at most {}", d.name.size(),
                                       kMaxNameLength));
    }
    return r.Error(name, fmt::format("invalid detector name \"{}\"; expected lower-case letters, "
                                     "digits, '_' and '-', starting with a letter or digit",
                                     d.name));
  }
  if (auto desc = m.Get("description")) {
    OSPREY_ASSIGN_OR_RETURN(d.description, r.String(*desc));
  }

  if (auto tz = m.Get("timezone")) {
    OSPREY_ASSIGN_OR_RETURN(std::string zone, r.NonEmptyString(*tz));
    Result<TimeZone> loaded = TimeZone::Load(zone);
    if (!loaded.ok()) {
      return r.Error(*tz, loaded.status().message());
    }
    d.timezone = *std::move(loaded);
  }

  OSPREY_ASSIGN_OR_RETURN(Field freq, r.Required(m, "frequency", "an ISO-8601 duration like PT1H"));
  OSPREY_ASSIGN_OR_RETURN(std::string freq_text, r.String(freq));
  Result<Duration> duration = Duration::Parse(freq_text);
  if (!duration.ok()) {
    return r.Error(freq, duration.status().message());
  }
  Result<IntervalGrid> grid = IntervalGrid::Create(*duration, d.timezone);
  if (!grid.ok()) return r.Error(freq, grid.status().message());
  d.frequency = *duration;

  if (auto off = m.Get("offset")) {
    OSPREY_ASSIGN_OR_RETURN(d.offset_seconds, r.Integer(*off));
    if (d.offset_seconds < 0) {
      return r.Error(*off, fmt::format("expected a number of seconds >= 0, got {}", d.offset_seconds));
    }
  }

  if (auto hs = m.Get("history_start")) {
    OSPREY_ASSIGN_OR_RETURN(std::string text, r.NonEmptyString(*hs));
    Result<Instant> t = ParseInstant(text, d.timezone);
    if (!t.ok()) {
      return r.Error(*hs, t.status().message());
    }
    d.history_start = *t;
  }

  if (auto sc = m.Get("schedule")) {
    OSPREY_ASSIGN_OR_RETURN(d.schedule, r.NonEmptyString(*sc));
    Result<CronSpec> cron = ParseCron(d.schedule);
    if (!cron.ok()) return r.Error(*sc, cron.status().message());
  }
  if (auto rw = m.Get("restatement_window")) {
    OSPREY_ASSIGN_OR_RETURN(d.restatement_window, r.Integer(*rw));
    if (d.restatement_window < 0 || d.restatement_window > 1000) {
      return r.Error(
          *rw, fmt::format("expected a number of intervals from 0 to 1000, got {}", d.restatement_window));
    }
  }
  if (auto bc = m.Get("backfill_chunk")) {
    OSPREY_ASSIGN_OR_RETURN(d.backfill_chunk, r.Integer(*bc));
    if (d.backfill_chunk < 1 || d.backfill_chunk > 100000) {
      return r.Error(
          *bc, fmt::format("expected a number of intervals from 1 to 100000, got {}", d.backfill_chunk));
    }
  }
  if (auto sh = m.Get("shards")) {
    OSPREY_ASSIGN_OR_RETURN(d.shards, r.Integer(*sh));
    if (d.shards < 1 || d.shards > kMaxShards) {
      return r.Error(*sh,
                     fmt::format("expected a number of shards from 1 to {}, got {}", kMaxShards, d.shards));
    }
    // Every shard must begin at the same interval, and a restated interval
    // would have to be re-scored by every shard at once.
    if (d.shards > 1 && !d.history_start) {
      return r.Error(*sh,
                     "a detector with more than one shard needs history_start (where every shard begins)");
    }
    if (d.shards > 1 && d.restatement_window > 0) {
      return r.Error(*sh, "a detector with more than one shard cannot have a restatement_window");
    }
  }

  OSPREY_ASSIGN_OR_RETURN(Field source, r.Required(m, "source", "a map with type and path"));
  OSPREY_ASSIGN_OR_RETURN(d.source, ReadSource(r, source));

  if (d.source.type == SourceType::kCsv) {
    // A csv source reads files, not SQL: the rows of an interval are those of
    // its files (source.csv.layout) whose timestamp falls inside it.
    if (auto q = m.Get("query")) {
      OSPREY_ASSIGN_OR_RETURN(std::string text, r.String(*q));
      if (!text.empty()) {
        return r.Error(*q,
                       "a csv source has no query: leave query out (rows are selected by "
                       "source.csv.layout and the timestamp column)");
      }
    }
  } else {
    OSPREY_ASSIGN_OR_RETURN(Field query, r.Required(m, "query", "the SQL query text"));
    OSPREY_ASSIGN_OR_RETURN(d.query, r.NonEmptyString(query));
    OSPREY_RETURN_IF_ERROR(CheckPlaceholders(r, query, d.query));
  }

  if (auto ts = m.Get("timestamp")) {
    OSPREY_ASSIGN_OR_RETURN(Fields tm, r.Map(*ts, {"column", "format", "timezone"}));
    if (auto col = tm.Get("column")) {
      OSPREY_ASSIGN_OR_RETURN(d.timestamp_column, r.NonEmptyString(*col));
    }
    if (auto fmt_field = tm.Get("format")) {
      OSPREY_ASSIGN_OR_RETURN(d.timestamp_format, r.NonEmptyString(*fmt_field));
      Result<TimestampFormat> parsed = TimestampFormat::Parse(d.timestamp_format);
      if (!parsed.ok()) {
        return r.Error(*fmt_field, parsed.status().message());
      }
    }
    if (auto tz = tm.Get("timezone")) {
      OSPREY_ASSIGN_OR_RETURN(std::string zone, r.NonEmptyString(*tz));
      Result<TimeZone> loaded = TimeZone::Load(zone);
      if (!loaded.ok()) return r.Error(*tz, loaded.status().message());
      d.timestamp_timezone = *std::move(loaded);
    }
  }

  if (auto dims = m.Get("dimensions")) {
    OSPREY_ASSIGN_OR_RETURN(d.dimensions, r.StringList(*dims, "dimension"));
  }

  OSPREY_ASSIGN_OR_RETURN(Field measures, r.Required(m, "measures", "a list of measures"));
  std::vector<RulesRead> measure_rules;
  OSPREY_ASSIGN_OR_RETURN(d.measures, ReadMeasures(r, measures, d.dimensions, measure_rules));
  if (Contains(d.dimensions, d.timestamp_column)) {
    return r.Error(*m.Get("dimensions"),
                   fmt::format("the timestamp column \"{}\" cannot be a dimension", d.timestamp_column));
  }

  if (auto filters = m.Get("filters")) {
    OSPREY_ASSIGN_OR_RETURN(d.filters, ReadFilters(r, *filters, d.dimensions));
  }
  if (auto events = m.Get("events")) {
    OSPREY_RETURN_IF_ERROR(ReadEvents(r, *events, dir, d));
  }
  if (auto h = m.Get("holidays")) {
    OSPREY_ASSIGN_OR_RETURN(std::string text, r.NonEmptyString(*h));
    const std::string lower = Lower(text);
    if (lower == "auto" || lower == "none") {
      d.holidays = lower;
    } else if (std::optional<std::string_view> code = detect::HolidayCountryCode(text)) {
      d.holidays = std::string(*code);
    } else {
      std::string codes;
      for (std::string_view c : detect::HolidayCountries())
        codes += (codes.empty() ? "" : ", ") + std::string(c);
      return r.Error(*h, fmt::format("no built-in holiday calendar for '{}'; expected auto, none or a "
                                     "country code: {}",
                                     text, codes));
    }
  }

  if (auto depth = m.Get("rollup_depth")) {
    OSPREY_ASSIGN_OR_RETURN(int64_t v, r.Integer(*depth));
    if (v < -1 || v > static_cast<int64_t>(d.dimensions.size())) {
      return r.Error(*depth, fmt::format("expected -1 (all subsets) or 0 to {} (the number of "
                                         "dimensions), got {}",
                                         d.dimensions.size(), v));
    }
    d.rollup_depth = static_cast<int>(v);
  }
  if (auto s = m.Get("sensitivity")) {
    OSPREY_ASSIGN_OR_RETURN(d.sensitivity, r.Percent(*s));
  }
  if (auto s = m.Get("min_severity")) {
    OSPREY_ASSIGN_OR_RETURN(d.min_severity, r.Percent(*s));
  }
  RulesRead detector_rules;
  if (auto v = m.Get("rules")) {
    OSPREY_ASSIGN_OR_RETURN(detector_rules, ReadRules(r, *v));
    d.rules = detector_rules.rules;
  }
  OSPREY_RETURN_IF_ERROR(CheckMergedRules(r, d, detector_rules, measure_rules));
  if (auto alerts = m.Get("alerts")) {
    OSPREY_ASSIGN_OR_RETURN(d.alerts, ReadAlerts(r, *alerts, d));
  }
  return d;
}

// A string scalar written so that it reads back identically; multi-line text
// (queries) as a literal block when that is exact.
void EmitString(YAML::Emitter& out, const std::string& s) {
  const bool literal_ok = s.find('\n') != std::string::npos && s.back() == '\n' &&
                          (s.size() < 2 || s[s.size() - 2] != '\n') && s.front() != ' ' &&
                          s.front() != '\t' && s.front() != '\n' && s.find('\r') == std::string::npos;
  if (literal_ok) {
    out << YAML::Literal << s;
  } else if (s.empty()) {
    out << YAML::DoubleQuoted << s;
  } else {
    out << s;
  }
}

void EmitNumber(YAML::Emitter& out, double v) { out << fmt::format("{}", v); }

// A rules block as a flow map of the fields it sets.
void EmitRules(YAML::Emitter& out, const Rules& rules) {
  out << YAML::Flow << YAML::BeginMap;
  for (auto [key, value] :
       {std::pair{"min", &rules.min}, std::pair{"max", &rules.max},
        std::pair{"change_percent", &rules.change_percent}, std::pair{"sensitivity", &rules.sensitivity}}) {
    if (!*value) continue;
    out << YAML::Key << key << YAML::Value;
    EmitNumber(out, **value);
  }
  if (rules.change_intervals) {
    out << YAML::Key << "change_intervals" << YAML::Value << fmt::format("{}", *rules.change_intervals);
  }
  if (rules.direction) {
    out << YAML::Key << "direction" << YAML::Value << std::string(RuleDirectionName(*rules.direction));
  }
  if (rules.combine) {
    out << YAML::Key << "combine" << YAML::Value << std::string(RuleCombineName(*rules.combine));
  }
  out << YAML::EndMap;
}

void EmitStringList(YAML::Emitter& out, const std::vector<std::string>& v) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const std::string& s : v) EmitString(out, s);
  out << YAML::EndSeq;
}

void EmitEvent(YAML::Emitter& out, const detect::CalendarEvent& e) {
  out << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  EmitString(out, e.name);
  switch (e.recurrence) {
    case detect::EventRecurrence::kOnce:
      out << YAML::Key << "start" << YAML::Value << FormatIso(e.start);
      out << YAML::Key << "end" << YAML::Value << FormatIso(e.end);
      break;
    case detect::EventRecurrence::kFixedDate:
      out << YAML::Key << "date" << YAML::Value << YAML::DoubleQuoted
          << fmt::format("{:02}-{:02}", e.month, e.day);
      break;
    case detect::EventRecurrence::kNthWeekday:
      out << YAML::Key << "month" << YAML::Value << fmt::format("{}", e.month);
      out << YAML::Key << "weekday" << YAML::Value << std::string(detect::WeekdayName(e.weekday));
      out << YAML::Key << "nth" << YAML::Value << fmt::format("{}", e.nth);
      break;
    case detect::EventRecurrence::kEaster:
      out << YAML::Key << "easter" << YAML::Value << fmt::format("{}", e.easter_days);
      break;
  }
  if (e.recurrence != detect::EventRecurrence::kOnce) {
    if (e.length_seconds % 86400 != 0) {
      out << YAML::Key << "hours" << YAML::Value << fmt::format("{}", e.length_seconds / 3600);
    } else if (e.length_seconds != 86400) {
      out << YAML::Key << "days" << YAML::Value << fmt::format("{}", e.length_seconds / 86400);
    }
    if (e.offset_days != 0) {
      out << YAML::Key << "offset_days" << YAML::Value << fmt::format("{}", e.offset_days);
    }
  }
  if (!e.scope.empty()) {
    out << YAML::Key << "dimensions" << YAML::Value << YAML::Flow << YAML::BeginMap;
    for (const detect::EventScope& s : e.scope) {
      out << YAML::Key << s.name << YAML::Value;
      EmitString(out, s.value);
    }
    out << YAML::EndMap;
  }
  if (e.effect != detect::EventEffect::kLearn) {
    out << YAML::Key << "effect" << YAML::Value << std::string(detect::EventEffectName(e.effect));
  }
  out << YAML::EndMap;
}

// Notes where each document of a YAML stream starts, and its first node;
// builds nothing.
class DocumentStarts final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark& mark) override { starts.push_back(mark); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override { Node(mark); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t, const std::string&) override {
    Node(mark);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Node(mark);
  }
  void OnMapEnd() override {}

  std::vector<YAML::Mark> starts;  // of each document
  std::vector<YAML::Mark> roots;   // of each document's first node

 private:
  void Node(const YAML::Mark& mark) {
    if (roots.size() < starts.size()) roots.push_back(mark);
  }
};

}  // namespace

namespace {

// LoadDetector; with `dir` (the detector file's directory) files the
// detector names for its own content (the events file) are read and checked.
// ReadDetector, and when it fails, every other error it can find: the key
// whose error was reported is set aside (an optional one removed with the
// keys that depend on it, a required one given a valid stand-in) and the
// document read again, until it reads or nothing more can be set aside.
// Errors are listed in the order found, one per line. Errors inside source
// and measures end the search: too much depends on them for a guess.
Result<Detector> ReadEveryError(const Reader& r, YAML::Node doc, const std::string* dir) {
  Result<Detector> first = ReadDetector(r, Field{doc, LineOf(doc, 1), ""}, dir);
  if (first.ok() || !doc.IsMap()) return first;
  // Required keys that a stand-in can replace without changing what else is checked.
  static const std::map<std::string, std::string, std::less<>> kStandIns = {
      {"name", "stand-in"},
      {"frequency", "PT1H"},
      {"query", "select 1 where {{interval_start}} < {{interval_end}}"}};
  // Optional keys and what is read against them.
  static const std::map<std::string, std::vector<std::string>, std::less<>> kDependents = {
      {"dimensions", {"filters", "events", "rollup_depth"}}};
  std::vector<std::string> messages = {first.status().message()};
  std::set<std::string> set_aside;
  for (int pass = 0; pass < 64; ++pass) {
    const std::string& path = r.last_error_path();
    const std::string key = path.substr(0, path.find_first_of(".["));
    if (key.empty() || key == "source" || key == "measures" || !set_aside.insert(key).second) break;
    if (!doc[key]) break;
    if (auto stand_in = kStandIns.find(key); stand_in != kStandIns.end()) {
      doc[key] = stand_in->second;
    } else {
      doc.remove(key);
      if (auto deps = kDependents.find(key); deps != kDependents.end()) {
        for (const std::string& dep : deps->second) {
          if (doc[dep]) doc.remove(dep);
          set_aside.insert(dep);
        }
      }
    }
    Result<Detector> again = ReadDetector(r, Field{doc, LineOf(doc, 1), ""}, dir);
    if (again.ok()) break;
    const std::string& m = again.status().message();
    if (std::find(messages.begin(), messages.end(), m) != messages.end()) break;
    messages.push_back(m);
  }
  if (messages.size() == 1) return first;
  std::string all;
  for (const std::string& m : messages) all += (all.empty() ? "" : "\n") + m;
  return InvalidArgument(all);
}

Result<Detector> LoadText(std::string_view text, const std::string& origin, const std::string* dir) {
  Reader reader(origin);
  YAML::Node doc;
  try {
    // At most two documents are parsed: yaml-cpp 0.7 neither fails nor moves
    // on at some stray tokens (a leading ',' or ']'), so YAML::LoadAll loops
    // forever, collecting empty documents until memory runs out (found by
    // fuzz/config_loader_fuzz.cc; an API request body could hang a worker).
    std::istringstream in{std::string(text)};
    YAML::Parser parser(in);
    DocumentStarts documents;
    for (int i = 0; i < 2 && parser.HandleNextDocument(documents); ++i) {
    }
    if (documents.starts.size() > 1) {
      const YAML::Mark& first = documents.starts[0];
      const YAML::Mark& second = documents.starts[1];
      if (second.pos == first.pos) {  // no progress: yaml-cpp is stuck
        return reader.Error(
            second.line + 1, "",
            fmt::format("not valid YAML or JSON: unexpected text at column {}", second.column + 1));
      }
      const YAML::Mark& at = documents.roots.size() > 1 ? documents.roots[1] : second;
      return reader.Error(at.line + 1, "", "more than one YAML document; expected one detector per file");
    }
    doc = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return reader.Error(line, "", fmt::format("not valid YAML or JSON: {}", e.msg));
  }
  if (!doc || doc.IsNull()) {
    return reader.Error(1, "",
                        "the file is empty; expected a detector (a map with name, "
                        "frequency, source, query and measures)");
  }
  // Node accessors throw only on misuse of the API; still, nothing escapes.
  try {
    Result<Detector> d = ReadEveryError(reader, doc, dir);
    if (d.ok()) d->origin = origin;
    return d;
  } catch (const YAML::Exception& e) {
    const int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return reader.Error(line, "", e.msg);
  }
}

}  // namespace

Result<Detector> LoadDetector(std::string_view text, const std::string& origin) {
  return LoadText(text, origin, nullptr);
}

Result<Detector> LoadDetectorFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound(fmt::format("{}: cannot open the detector file: {}", path, std::strerror(errno)));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    return InvalidArgument(fmt::format("{}:1: cannot read the detector file", path));
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  OSPREY_ASSIGN_OR_RETURN(Detector d, LoadText(text.str(), path, &dir));
  ResolveRelativePaths(d, dir);
  return d;
}

void ResolveRelativePaths(Detector& d, const std::string& dir) {
  auto resolve = [&](std::string& file) {
    if (file.empty() || dir.empty() || !std::filesystem::path(file).is_relative()) return;
    file = (std::filesystem::path(dir) / file).lexically_normal().string();
  };
  resolve(d.source.path);
  resolve(d.source.connection_file);
  resolve(d.events_file);
  for (Alert& a : d.alerts) {
    for (std::string* f : {&a.target_file, &a.signing_key_file, &a.routing_key_file}) resolve(*f);
  }
}

std::optional<std::string_view> HolidayCountry(const Detector& d) {
  if (d.holidays == "none") return std::nullopt;
  if (d.holidays != "auto") return detect::HolidayCountryCode(d.holidays);
  return detect::AutoHolidayCountry(d.timezone, d.frequency.NominalSeconds());
}

Result<std::vector<detect::CalendarEvent>> LoadEvents(const Detector& d) {
  std::vector<detect::CalendarEvent> events;
  if (d.events_file.empty()) {
    events = d.events;
  } else {
    OSPREY_ASSIGN_OR_RETURN(events, ReadEventsFile(d.events_file, d));
  }
  if (std::optional<std::string_view> country = HolidayCountry(d)) {
    for (detect::CalendarEvent& e : detect::CountryHolidays(*country)) events.push_back(std::move(e));
  }
  return events;
}

std::string DetectorToYaml(const Detector& d) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "name" << YAML::Value;
  EmitString(out, d.name);
  if (!d.description.empty()) {
    out << YAML::Key << "description" << YAML::Value;
    EmitString(out, d.description);
  }
  out << YAML::Key << "frequency" << YAML::Value << d.frequency.ToString();
  out << YAML::Key << "timezone" << YAML::Value << d.timezone.name();
  out << YAML::Key << "offset" << YAML::Value << fmt::format("{}", d.offset_seconds);
  if (d.history_start) {
    out << YAML::Key << "history_start" << YAML::Value << FormatIso(*d.history_start);
  }
  if (!d.schedule.empty()) {
    out << YAML::Key << "schedule" << YAML::Value;
    EmitString(out, d.schedule);
  }
  if (d.restatement_window != 0) {
    out << YAML::Key << "restatement_window" << YAML::Value << fmt::format("{}", d.restatement_window);
  }
  if (d.backfill_chunk != 168) {
    out << YAML::Key << "backfill_chunk" << YAML::Value << fmt::format("{}", d.backfill_chunk);
  }
  if (d.shards != 1) {
    out << YAML::Key << "shards" << YAML::Value << fmt::format("{}", d.shards);
  }

  out << YAML::Key << "source" << YAML::Value << YAML::BeginMap;
  out << YAML::Key << "type" << YAML::Value << std::string(SourceTypeName(d.source.type));
  if (!d.source.path.empty()) {
    out << YAML::Key << "path" << YAML::Value;
    EmitString(out, d.source.path);
  }
  if (!d.source.connection_env.empty()) {
    out << YAML::Key << "connection_env" << YAML::Value << d.source.connection_env;
  }
  if (!d.source.connection_file.empty()) {
    out << YAML::Key << "connection_file" << YAML::Value;
    EmitString(out, d.source.connection_file);
  }
  out << YAML::Key << "query_timeout" << YAML::Value << fmt::format("{}", d.source.query_timeout_seconds);
  if (d.source.push_down)
    out << YAML::Key << "push_down" << YAML::Value << (*d.source.push_down ? "true" : "false");
  if (d.source.type == SourceType::kCsv) {
    const CsvSourceOptions& c = d.source.csv;
    out << YAML::Key << "csv" << YAML::Value << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "header" << YAML::Value << (c.header ? "true" : "false");
    out << YAML::Key << "delimiter" << YAML::Value << YAML::DoubleQuoted
        << (c.delimiter == '\t' ? std::string("tab") : std::string(1, c.delimiter));
    out << YAML::Key << "quote" << YAML::Value << YAML::DoubleQuoted << std::string(1, c.quote);
    out << YAML::Key << "charset" << YAML::Value << c.charset;
    out << YAML::Key << "gzip" << YAML::Value << c.gzip;
    if (!c.layout.empty()) out << YAML::Key << "layout" << YAML::Value << YAML::DoubleQuoted << c.layout;
    out << YAML::EndMap;
  }
  out << YAML::EndMap;

  if (!d.query.empty()) {
    out << YAML::Key << "query" << YAML::Value;
    EmitString(out, d.query);
  }

  out << YAML::Key << "timestamp" << YAML::Value << YAML::Flow << YAML::BeginMap;
  out << YAML::Key << "column" << YAML::Value;
  EmitString(out, d.timestamp_column);
  out << YAML::Key << "format" << YAML::Value << YAML::DoubleQuoted << d.timestamp_format;
  if (d.timestamp_timezone) {
    out << YAML::Key << "timezone" << YAML::Value << d.timestamp_timezone->name();
  }
  out << YAML::EndMap;

  out << YAML::Key << "dimensions" << YAML::Value;
  EmitStringList(out, d.dimensions);

  out << YAML::Key << "measures" << YAML::Value << YAML::BeginSeq;
  for (const Measure& m : d.measures) {
    out << YAML::Flow << YAML::BeginMap;
    out << YAML::Key << "name" << YAML::Value;
    EmitString(out, m.name);
    if (m.ratio) {
      out << YAML::Key << "ratio" << YAML::Value << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "numerator" << YAML::Value;
      EmitString(out, m.ratio->numerator);
      out << YAML::Key << "denominator" << YAML::Value;
      EmitString(out, m.ratio->denominator);
      out << YAML::EndMap;
    } else {
      out << YAML::Key << "aggregation" << YAML::Value << std::string(AggregationName(m.aggregation));
      if (m.weight) {
        out << YAML::Key << "weight" << YAML::Value;
        EmitString(out, *m.weight);
      }
    }
    if (m.sensitivity) {
      out << YAML::Key << "sensitivity" << YAML::Value;
      EmitNumber(out, *m.sensitivity);
    }
    if (!m.rules.Empty()) {
      out << YAML::Key << "rules" << YAML::Value;
      EmitRules(out, m.rules);
    }
    if (m.missing != MissingPolicy::kSkip) {
      out << YAML::Key << "missing" << YAML::Value << std::string(MissingPolicyName(m.missing));
    }
    out << YAML::EndMap;
  }
  out << YAML::EndSeq;

  if (!d.filters.empty()) {
    out << YAML::Key << "filters" << YAML::Value << YAML::BeginSeq;
    for (const Filter& f : d.filters) {
      out << YAML::Flow << YAML::BeginMap;
      out << YAML::Key << "dimension" << YAML::Value;
      EmitString(out, f.dimension);
      out << YAML::Key << "values" << YAML::Value;
      EmitStringList(out, f.values);
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }

  out << YAML::Key << "rollup_depth" << YAML::Value << fmt::format("{}", d.rollup_depth);
  out << YAML::Key << "sensitivity" << YAML::Value;
  EmitNumber(out, d.sensitivity);
  out << YAML::Key << "min_severity" << YAML::Value;
  EmitNumber(out, d.min_severity);
  if (!d.rules.Empty()) {
    out << YAML::Key << "rules" << YAML::Value;
    EmitRules(out, d.rules);
  }

  if (!d.events_file.empty()) {
    out << YAML::Key << "events" << YAML::Value;
    EmitString(out, d.events_file);
  } else if (!d.events.empty()) {
    out << YAML::Key << "events" << YAML::Value << YAML::BeginSeq;
    for (const detect::CalendarEvent& e : d.events) EmitEvent(out, e);
    out << YAML::EndSeq;
  }

  if (d.holidays != "auto") {
    out << YAML::Key << "holidays" << YAML::Value;
    EmitString(out, d.holidays);
  }

  if (!d.alerts.empty()) {
    out << YAML::Key << "alerts" << YAML::Value << YAML::BeginSeq;
    for (const Alert& a : d.alerts) {
      out << YAML::BeginMap;
      out << YAML::Key << "name" << YAML::Value;
      EmitString(out, a.name);
      out << YAML::Key << "destination" << YAML::Value << std::string(AlertDestinationName(a.destination));
      if (!a.target_env.empty()) out << YAML::Key << "target_env" << YAML::Value << a.target_env;
      if (!a.target_file.empty()) {
        out << YAML::Key << "target_file" << YAML::Value;
        EmitString(out, a.target_file);
      }
      out << YAML::Key << "min_severity" << YAML::Value;
      EmitNumber(out, a.min_severity);
      out << YAML::Key << "min_duration" << YAML::Value << fmt::format("{}", a.min_duration);
      out << YAML::Key << "cooldown" << YAML::Value << fmt::format("{}", a.cooldown_seconds);
      out << YAML::Key << "renotify_margin" << YAML::Value;
      EmitNumber(out, a.renotify_margin);
      out << YAML::Key << "send_resolved" << YAML::Value << (a.send_resolved ? "true" : "false");
      for (auto [key, value] : {std::pair{"signing_key_env", &a.signing_key_env},
                                std::pair{"signing_key_file", &a.signing_key_file},
                                std::pair{"routing_key_env", &a.routing_key_env},
                                std::pair{"routing_key_file", &a.routing_key_file}}) {
        if (value->empty()) continue;
        out << YAML::Key << key << YAML::Value;
        EmitString(out, *value);
      }
      out << YAML::Key << "ui_base_url" << YAML::Value;
      EmitString(out, a.ui_base_url);
      out << YAML::Key << "max_attempts" << YAML::Value << fmt::format("{}", a.max_attempts);
      out << YAML::Key << "timeout" << YAML::Value << fmt::format("{}", a.timeout_seconds);
      if (a.no_data_after > 0) {
        out << YAML::Key << "no_data_after" << YAML::Value << fmt::format("{}", a.no_data_after);
      }
      if (!a.on_anomaly || a.on_failing) {
        out << YAML::Key << "on" << YAML::Value;
        EmitStringList(out, AlertTypes(a));
      }
      if (!a.measures.empty()) {
        out << YAML::Key << "measures" << YAML::Value;
        EmitStringList(out, a.measures);
      }
      if (!a.dimension_filter.empty()) {
        out << YAML::Key << "dimensions" << YAML::Value << YAML::BeginMap;
        for (const auto& [dim, values] : a.dimension_filter) {
          out << YAML::Key << dim << YAML::Value;
          EmitStringList(out, values);
        }
        out << YAML::EndMap;
      }
      if (!a.description.empty()) {
        out << YAML::Key << "description" << YAML::Value;
        EmitString(out, a.description);
      }
      out << YAML::EndMap;
    }
    out << YAML::EndSeq;
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace osprey::config
