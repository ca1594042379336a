// The detector configuration: one monitored data set (source + query +
// schedule + metric set + alerts). Loaded from YAML or JSON by loader.h,
// validated there, and then passed around as an immutable value. The field
// comments give each field's unit and default; docs/configuration.md is the
// user-facing version of the same and must stay in step with it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/time.h"
#include "osprey/detect/events.h"

namespace osprey::config {

enum class SourceType { kSqlite, kPostgres, kMysql, kCsv };
enum class Aggregation { kSum, kAvg, kCount, kMin, kMax };
enum class AlertDestination { kWebhook, kSlack, kPagerDuty, kAlertmanager, kCommand };
enum class RuleDirection { kBoth, kUp, kDown };
enum class RuleCombine { kMax, kRulesOnly, kModelOnly, kBoth };
// What a series' point is in an interval with no row for it (docs/configuration.md,
// "Missing data"): kSkip stores it as missing and does not score it; kZero
// stores and scores 0; kPrevious repeats the series' last value.
enum class MissingPolicy { kSkip, kZero, kPrevious };

std::string_view SourceTypeName(SourceType t);
std::string_view AggregationName(Aggregation a);
std::string_view AlertDestinationName(AlertDestination d);
std::string_view RuleDirectionName(RuleDirection d);
std::string_view RuleCombineName(RuleCombine c);
std::string_view MissingPolicyName(MissingPolicy p);  // skip | zero | previous

// The inverses of the *Name functions, case-insensitive ("sum", "SUM" and
// "Sum" are all kSum); nullopt for an unknown name.
std::optional<SourceType> ParseSourceType(std::string_view name);
std::optional<Aggregation> ParseAggregation(std::string_view name);
std::optional<AlertDestination> ParseAlertDestination(std::string_view name);
std::optional<RuleDirection> ParseRuleDirection(std::string_view name);
std::optional<RuleCombine> ParseRuleCombine(std::string_view name);
std::optional<MissingPolicy> ParseMissingPolicy(std::string_view name);

// The 0-based position of the first control character other than tab, LF
// and CR in `s`, if any. Strings of a detector may not hold them: they have
// no place in names, paths or SQL, and a YAML block scalar cannot carry them.
std::optional<size_t> FindControlCharacter(std::string_view s);

// Options of a csv source (docs/sources.md). Ignored by the other types.
struct CsvSourceOptions {
  // The first line of every file names the columns. Default true; when false
  // the columns are named column1, column2, ...
  bool header = true;
  char delimiter = ',';
  char quote = '"';
  // "utf-8" (default) or "latin-1" (ISO-8859-1, converted to UTF-8).
  std::string charset = "utf-8";
  // "auto" (default: files ending in .gz are gzip-compressed), "true", "false".
  std::string gzip = "auto";
  // Where an interval's files live below `path`: a timestamp pattern (the
  // syntax of timestamp.format) for the directory, e.g. "yyyyMMdd/HHmm" for
  // Lookout for Metrics' prefix/YYYYMMDD/HHmm/*.csv. Empty: every file sits
  // directly in `path` and rows are selected by their timestamp only.
  std::string layout;
};

struct Source {
  SourceType type = SourceType::kSqlite;
  // sqlite: a database file path; csv: a directory. Relative paths are taken
  // relative to the detector file's directory. Not used by postgres/mysql.
  std::string path;
  // Name of an environment variable holding the connection: a path for
  // sqlite/csv; for postgres/mysql a DSN, a URL or a JSON secret
  // {"username","password","host","port","db"}. When set in the environment
  // it wins over `path` and `connection_file`. Passwords are only ever given
  // this way (or in connection_file), never in the detector file.
  std::string connection_env;
  // postgres/mysql: a file holding the connection in one of the same forms
  // (e.g. a mounted secret). Relative to the detector file's directory.
  std::string connection_file;
  // Seconds a single query may run before it is cancelled. Default 300.
  int64_t query_timeout_seconds = 300;
  // sqlite/postgres/mysql: run the per-interval aggregation inside the
  // database where it gives the same result (connectors/push_down.h);
  // false reads every row. Unset: on for postgres and mysql, off for sqlite
  // (read in-process: nothing crosses a wire, and osprey aggregates the rows
  // faster than SQLite's GROUP BY).
  std::optional<bool> push_down;
  CsvSourceOptions csv;
};

// Rule detectors beside the model (detect/rules.h): hard thresholds, a
// change threshold, a direction filter and how their verdict combines with
// the model's. Given at detector level and per measure; a measure's block
// overrides the detector's field by field (MergeRules), so every field is
// optional here and the defaults are filled in where the rules are used.
struct Rules {
  std::optional<double> min;  // a value below is an anomaly (down)
  std::optional<double> max;  // a value above is an anomaly (up)
  // A change of at least this many percent (> 0) against the value
  // change_intervals back is an anomaly.
  std::optional<double> change_percent;
  std::optional<int64_t> change_intervals;  // 1-1000; default 1
  // Which deviations count, for the rules AND the model; default both.
  std::optional<RuleDirection> direction;
  std::optional<double> sensitivity;   // 0-100, of the rules; default 50
  std::optional<RuleCombine> combine;  // default max

  // Whether a threshold or change rule is set (min, max or change_percent).
  bool HasRule() const { return min || max || change_percent; }
  // Whether no field at all is set.
  bool Empty() const { return !HasRule() && !change_intervals && !direction && !sensitivity && !combine; }
};

// `base` with every field that `over` sets replaced by `over`'s.
Rules MergeRules(const Rules& base, const Rules& over);

// A ratio measure's two sides (docs/configuration.md, "Ratio measures"):
// names of other measures of the detector, each with an additive
// aggregation (SUM or COUNT).
struct RatioOf {
  std::string numerator;
  std::string denominator;
};

struct Measure {
  // Column name in the query's result; for a ratio measure only its name
  // (it has no column).
  std::string name;
  Aggregation aggregation = Aggregation::kSum;
  // The model's sensitivity for this measure; unset: the detector's.
  std::optional<double> sensitivity;
  Rules rules;  // overrides the detector's rules field by field
  // A series of this measure with no row in an interval. Default kSkip: a
  // missing value is not a zero. An interval whose query returns no rows at
  // all is "no data" for every series, whatever this says.
  MissingPolicy missing = MissingPolicy::kSkip;
  // Set for an AVG measure whose rows are themselves averages (a latency
  // averaged over each row's requests): the name of the SUM or COUNT
  // measure that counts what each row averages. The series' value is then
  // SUM(value * weight) / SUM(weight), and the model judges it as a mean
  // over SUM(weight) rows.
  std::optional<std::string> weight;
  // Set for a ratio measure: its value in every series (leaf and roll-up) is
  // SUM(numerator) / SUM(denominator) of that series, missing when the
  // denominator is 0 or missing. `aggregation` and `missing` do not apply.
  std::optional<RatioOf> ratio;
};

struct Filter {
  std::string dimension;
  std::vector<std::string> values;  // keep only rows whose dimension is one of these
};

struct Alert {
  std::string name;
  AlertDestination destination = AlertDestination::kWebhook;
  double min_severity = 70;           // 0-100: alert on groups at least this severe
  std::vector<std::string> measures;  // empty: all measures
  std::map<std::string, std::vector<std::string>> dimension_filter;  // dimension -> values
  // Where to deliver: the name of an environment variable holding the URL (or
  // command line for kCommand). URLs often carry tokens, so never literal.
  // Either this or `target_file` is required; the variable wins when set.
  std::string target_env;
  std::string description;
  // A file whose first line is the URL or command line (e.g. a mounted secret).
  std::string target_file;
  // De-noising. An incident (one alert, one measure) triggers after this many
  // consecutive intervals with a matching group. Default 1, at least 1.
  int64_t min_duration = 1;
  // Seconds after a notification during which the same alert and measure sends
  // no new trigger or re-notification (snooze). Resolves are never held back.
  // Default 0. Longer means fewer messages for a flapping metric.
  int64_t cooldown_seconds = 0;
  // An open incident is re-notified only when its severity rises by at least
  // this many points (0-100) above the last notified severity. Default 10.
  double renotify_margin = 10;
  // Send a resolve message when the incident ends (its measure has no matching
  // group in an interval). Default true.
  bool send_resolved = true;
  // Standard Webhooks HMAC-SHA256 signing key ("whsec_<base64>" or raw bytes),
  // from an environment variable or a file. Unset: bodies are not signed.
  std::string signing_key_env;
  std::string signing_key_file;
  // PagerDuty Events v2 routing (integration) key; required for pagerduty.
  std::string routing_key_env;
  std::string routing_key_file;
  // Base URL of the osprey UI; alerts link to {ui_base_url}/#/anomalies/{id}.
  std::string ui_base_url = "http://localhost:8080";
  // Notify when the detector's query has returned no rows at all for this
  // many consecutive intervals (a feed outage; "no data", never a dip), and
  // again when rows return. 0 (default) turns it off; at most 100000.
  int64_t no_data_after = 0;
  // What the alert is about (`on`): anomaly groups ("anomaly"), feed outages
  // ("no_data", with no_data_after) and detector failures ("failing": the
  // scheduler's runs of the detector fail; resolved when it runs again).
  // Default: anomaly, plus no_data when no_data_after is set.
  bool on_anomaly = true;
  bool on_failing = false;
  // Delivery attempts before a message is dead-lettered. Default 8, 1-100.
  int64_t max_attempts = 8;
  // Seconds one delivery (HTTP request or command) may take; the connect
  // timeout is the smaller of this and 5 s. Default 10, 1-300.
  int64_t timeout_seconds = 10;
};

// What the alert is about, as its `on` list: anomaly, no_data, failing.
std::vector<std::string> AlertTypes(const Alert& a);

// The most shards a detector's series can be split into (Detector::shards).
inline constexpr int64_t kMaxShards = 256;

struct Detector {
  std::string name;  // [a-z0-9_-], unique per installation
  std::string description;
  Duration frequency;                   // ISO-8601, at least PT1M
  TimeZone timezone = TimeZone::Utc();  // IANA name; default UTC
  int64_t offset_seconds = 0;           // wait this long after an interval closes before reading it
  Source source;
  // SQL with {{interval_start}} and {{interval_end}} placeholders; both are
  // bound as parameters, formatted with `timestamp_format` in the source zone
  // (SourceZone).
  std::string query;
  std::string timestamp_column = "timestamp";
  std::string timestamp_format = "yyyy-MM-dd HH:mm:ss";
  // timestamp.timezone: the IANA zone of naive timestamps in the column (and
  // of the bounds and a csv layout); values with an offset are read by their
  // offset. Unset: `timezone`. See SourceZone.
  std::optional<TimeZone> timestamp_timezone;
  std::vector<std::string> dimensions;
  std::vector<Measure> measures;
  std::vector<Filter> filters;
  // How deep roll-up series go: 0 = leaves only; the default (-1) builds every
  // subset of the dimensions ("ALL" for a dimension).
  int rollup_depth = -1;
  // First instant of history to crawl on backfill; unset: the source's earliest.
  std::optional<Instant> history_start;
  // Cron expression overriding when intervals are processed: 5-field POSIX
  // ("15 * * * *") or the AWS form ("cron(15 * * * ? *)"), in `timezone`.
  // An interval is then read at the first firing at or after its end +
  // offset. Empty (default): at interval end + offset.
  std::string schedule;
  // Re-read the last N processed intervals on every live run and re-score
  // them when their values changed (late or restated data). 0 (default)
  // turns it off; at most 1000. Costs N extra interval reads per run.
  int64_t restatement_window = 0;
  // Intervals read by one query and committed in one transaction during
  // backfill and catch-up. Default 168 (a week of hours), 1-100000. Bigger
  // is faster; smaller loses less work to a crash and shows finer progress.
  int64_t backfill_chunk = 168;
  // Workers on one PostgreSQL state store (`osprey serve`): split the
  // detector's series into this many shards, each scored by the worker
  // holding its lease (docs/scheduling.md, "Shards"). 1 (default) to
  // kMaxShards; a SQLite store and backtest run the detector whole. Needs
  // history_start and no restatement_window.
  int64_t shards = 1;
  double sensitivity = 50;   // 0-100, higher flags smaller deviations
  double min_severity = 50;  // 0-100, points at least this severe are stored as anomalies
  Rules rules;               // for every measure, unless a measure overrides a field
  std::vector<Alert> alerts;
  // Calendar events (holidays, promotions) whose intervals are not learnt as
  // normal; see docs/configuration.md, "events". Given inline, or as a CSV
  // file (`events_file`, relative to the detector file's directory) that
  // LoadEvents reads; one or the other.
  std::vector<detect::CalendarEvent> events;
  std::string events_file;
  // The built-in holiday calendar added to `events` (docs/configuration.md,
  // "holidays"): "auto" (the country of `timezone`, for intervals of an hour
  // or longer), "none", or a country code of detect::HolidayCountries.
  std::string holidays = "auto";
  // The file this came from, for messages; empty when built in code.
  std::string origin;
};

// The zone the source's naive timestamps, the rendered query bounds and a csv
// layout are in: timestamp.timezone, else the detector's timezone.
const TimeZone& SourceZone(const Detector& d);

// The rules that apply to measures[measure]: the detector's merged with the
// measure's own.
Rules EffectiveRules(const Detector& d, size_t measure);
// The index in d.measures of the measure named `name`, if any.
std::optional<size_t> FindMeasure(const Detector& d, std::string_view name);
// The model sensitivity of measures[measure]: its own, else the detector's.
double ModelSensitivity(const Detector& d, size_t measure);

}  // namespace osprey::config
