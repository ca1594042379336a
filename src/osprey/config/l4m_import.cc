#include "osprey/config/l4m_import.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace osprey::config {
namespace {

using nlohmann::json;

constexpr std::string_view kAlertEnv = "OSPREY_ALERT_WEBHOOK_URL";

const std::set<std::string>& KnownKeys() {
  static const std::set<std::string> kKeys = {
      "database_type",    "detector_name",  "detector_description", "detector_frequency",
      "timestamp_column", "dimension_list", "metrics_set",          "metric_source",
      "s3_bucket",        "alert_name",     "alert_threshold",      "alert_description",
      "alert_lambda_arn", "offset",         "secret_name",          "project",
      "timezone"};
  return kKeys;
}

// Reads fields of one params.json object, with errors "origin: path: what".
class JsonReader {
 public:
  explicit JsonReader(std::string origin) : origin_(std::move(origin)) {}

  Status Error(std::string_view path, std::string_view what) const {
    return InvalidArgument(fmt::format("{}: {}: {}", origin_, path, what));
  }

  // What LoadDetector would refuse must not get into the detector either
  // (a DEL in a description, found by fuzz/l4m_import_fuzz.cc).
  Status NoControlCharacter(const json& string, std::string_view path) const {
    const std::string& s = string.get_ref<const std::string&>();
    if (auto at = FindControlCharacter(s)) {
      return Error(path, fmt::format("control character 0x{:02x} at position {}",
                                     static_cast<unsigned char>(s[*at]), *at + 1));
    }
    return Status::Ok();
  }

  // The string at obj[key]; nullopt when absent or null.
  Result<std::optional<std::string>> String(const json& obj, const std::string& key,
                                            std::string_view path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<std::string>();
    if (!it->is_string()) return Error(path, fmt::format("expected a string, got {}", it->dump()));
    OSPREY_RETURN_IF_ERROR(NoControlCharacter(*it, path));
    return std::optional<std::string>(it->get<std::string>());
  }

  Result<std::vector<std::string>> Strings(const json& obj, const std::string& key,
                                           std::string_view path) const {
    std::vector<std::string> out;
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return out;
    if (!it->is_array()) return Error(path, fmt::format("expected a list, got {}", it->dump()));
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      if (!v.is_string()) {
        return Error(fmt::format("{}[{}]", path, i), fmt::format("expected a string, got {}", v.dump()));
      }
      OSPREY_RETURN_IF_ERROR(NoControlCharacter(v, fmt::format("{}[{}]", path, i)));
      out.push_back(v.get<std::string>());
    }
    return out;
  }

  Result<std::optional<double>> Number(const json& obj, const std::string& key, std::string_view path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::optional<double>();
    if (!it->is_number()) return Error(path, fmt::format("expected a number, got {}", it->dump()));
    return std::optional<double>(it->get<double>());
  }

  Result<const json*> Object(const json& obj, const std::string& key, std::string_view path) const {
    auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return static_cast<const json*>(nullptr);
    if (!it->is_object()) return Error(path, fmt::format("expected an object, got {}", it->dump()));
    return &*it;
  }

 private:
  std::string origin_;
};

// A valid detector name from free text: lower case, other characters to '-',
// at most 128 characters (the loader's limit).
std::string SanitizeName(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 128)) {
    const char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const bool ok = (l >= 'a' && l <= 'z') || (l >= '0' && l <= '9') || l == '_' || l == '-';
    out.push_back(ok ? l : '-');
  }
  const size_t first = out.find_first_not_of("_-");
  return first == std::string::npos ? std::string() : out.substr(first);
}

std::string EnvName(std::string_view detector_name, std::string_view suffix) {
  std::string out = "OSPREY_";
  for (char c : detector_name) {
    out.push_back(std::isalnum(static_cast<unsigned char>(c))
                      ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
                      : '_');
  }
  return out + "_" + std::string(suffix);
}

int LineAt(std::string_view text, size_t byte) {
  const size_t end = std::min(byte, text.size());
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(end), '\n'));
}

// Reads metric_source: S3SourceConfig settings only produce warnings; the
// database configs give the table name for the template query.
Status ReadMetricSource(const JsonReader& r, const json& root, std::string& table,
                        std::vector<std::string>& warnings) {
  OSPREY_ASSIGN_OR_RETURN(const json* source, r.Object(root, "metric_source", "metric_source"));
  if (source == nullptr) return Status::Ok();
  for (const auto& [kind, config] : source->items()) {
    const std::string path = "metric_source." + kind;
    if (!config.is_object()) return r.Error(path, "expected an object");
    if (kind == "S3SourceConfig") {
      for (const char* list : {"HistoricalDataPathList", "TemplatedPathList"}) {
        OSPREY_ASSIGN_OR_RETURN(std::vector<std::string> paths, r.Strings(config, list, path + "." + list));
        paths.erase(std::remove(paths.begin(), paths.end(), ""), paths.end());
        if (!paths.empty()) {
          warnings.push_back(
              fmt::format("{}.{} ({}) not carried over: osprey reads the database directly with the "
                          "detector's query, not exported files in S3",
                          path, list, fmt::join(paths, ", ")));
        }
      }
      if (config.contains("RoleArn")) {
        warnings.push_back(fmt::format("{}.RoleArn not carried over: osprey needs no IAM role", path));
      }
      if (config.contains("FileFormatDescriptor")) {
        warnings.push_back(
            fmt::format("{}.FileFormatDescriptor (CSV delimiter, header, charset, compression) not carried "
                        "over",
                        path));
      }
    } else if (kind == "RedshiftSourceConfig" || kind == "RDSSourceConfig") {
      OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> t,
                              r.String(config, "TableName", path + ".TableName"));
      if (t && !t->empty()) table = *t;
      warnings.push_back(fmt::format(
          "{}: connection settings (cluster, host, port, database, secret, role, VPC) not carried "
          "over; put the connection DSN in the environment variable named by "
          "source.connection_env",
          path));
    } else {
      warnings.push_back(
          fmt::format("{} not supported: osprey reads SQL databases and CSV "
                      "directories; set source and query by hand",
                      path));
    }
  }
  return Status::Ok();
}

Result<ImportResult> Convert(const JsonReader& r, const json& root, const std::string& origin) {
  if (!root.is_object()) return r.Error("params", "expected a JSON object");
  ImportResult out;
  Detector& d = out.detector;
  std::vector<std::string>& warnings = out.warnings;
  d.origin = origin;

  for (const auto& [key, value] : root.items()) {
    if (KnownKeys().count(key) == 0) {
      warnings.push_back(fmt::format("{}: not a Lookout for Metrics setting osprey knows; ignored", key));
    }
  }

  // Name: detector_name, else the workshop's project, else the file name.
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> name, r.String(root, "detector_name", "detector_name"));
  std::string_view name_from = "detector_name";
  if (!name) {
    OSPREY_ASSIGN_OR_RETURN(name, r.String(root, "project", "project"));
    name_from = "project";
  }
  if (!name) {
    name = std::filesystem::path(origin).stem().string();
    name_from = "the file name";
  }
  d.name = SanitizeName(*name);
  if (d.name.empty()) d.name = "imported";
  if (d.name != *name) {
    warnings.push_back(
        fmt::format("detector name \"{}\" from {} changed to \"{}\" ([a-z0-9_-])", *name, name_from, d.name));
  } else if (name_from != "detector_name") {
    warnings.push_back(
        fmt::format("no detector_name: named the detector \"{}\" after {}", d.name, name_from));
  }

  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> description,
                          r.String(root, "detector_description", "detector_description"));
  if (description) d.description = *description;

  // L4M's MetricSet Timezone is "the time zone in which the data was
  // recorded" (its TimestampColumn has a format only). It becomes the
  // detector's timezone, which is also the source zone while
  // timestamp.timezone is unset: naive timestamps keep the meaning they had.
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> tz, r.String(root, "timezone", "timezone"));
  if (tz) {
    Result<TimeZone> zone = TimeZone::Load(*tz);
    if (!zone.ok()) return r.Error("timezone", zone.status().message());
    d.timezone = *std::move(zone);
  }

  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> frequency,
                          r.String(root, "detector_frequency", "detector_frequency"));
  if (!frequency) return r.Error("detector_frequency", "missing; expected e.g. \"PT1H\"");
  Result<Duration> duration = Duration::Parse(*frequency);
  if (!duration.ok()) return r.Error("detector_frequency", duration.status().message());
  Result<IntervalGrid> grid = IntervalGrid::Create(*duration, d.timezone);
  if (!grid.ok()) return r.Error("detector_frequency", grid.status().message());
  d.frequency = *duration;

  OSPREY_ASSIGN_OR_RETURN(std::optional<double> offset, r.Number(root, "offset", "offset"));
  if (offset) {
    if (*offset < 0 || *offset != static_cast<double>(static_cast<int64_t>(*offset))) {
      return r.Error("offset", "expected a whole number of seconds >= 0");
    }
    d.offset_seconds = static_cast<int64_t>(*offset);
  }

  OSPREY_ASSIGN_OR_RETURN(const json* ts, r.Object(root, "timestamp_column", "timestamp_column"));
  if (ts != nullptr) {
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> column,
                            r.String(*ts, "ColumnName", "timestamp_column.ColumnName"));
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> format,
                            r.String(*ts, "ColumnFormat", "timestamp_column.ColumnFormat"));
    if (column && !column->empty()) d.timestamp_column = *column;
    if (format && !format->empty()) {
      Result<TimestampFormat> parsed = TimestampFormat::Parse(*format);
      if (parsed.ok()) {
        d.timestamp_format = *format;
      } else {
        d.timestamp_format = "iso8601";
        warnings.push_back(
            fmt::format("timestamp_column.ColumnFormat: {}; using iso8601 instead, "
                        "check timestamp.format",
                        parsed.status().message()));
      }
    }
    if (!column || column->empty()) {
      warnings.push_back("timestamp_column.ColumnName missing: assumed \"timestamp\"");
    }
    if (!format || format->empty()) {
      warnings.push_back(
          fmt::format("timestamp_column.ColumnFormat missing (L4M guessed it): assumed \"{}\", check "
                      "timestamp.format",
                      d.timestamp_format));
    }
  } else {
    warnings.push_back(
        fmt::format("timestamp_column missing: assumed column \"{}\" in format "
                    "\"{}\"",
                    d.timestamp_column, d.timestamp_format));
  }

  OSPREY_ASSIGN_OR_RETURN(d.dimensions, r.Strings(root, "dimension_list", "dimension_list"));
  for (size_t i = 0; i < d.dimensions.size(); ++i) {
    const std::string path = fmt::format("dimension_list[{}]", i);
    if (d.dimensions[i].empty()) return r.Error(path, "expected a column name");
    if (std::count(d.dimensions.begin(), d.dimensions.end(), d.dimensions[i]) > 1) {
      return r.Error(path, fmt::format("duplicate dimension \"{}\"", d.dimensions[i]));
    }
    if (d.dimensions[i] == d.timestamp_column) {
      return r.Error(path, "the timestamp column cannot be a dimension");
    }
  }

  auto metrics = root.find("metrics_set");
  if (metrics == root.end() || !metrics->is_array() || metrics->empty()) {
    return r.Error("metrics_set",
                   "missing or empty; expected a list of {\"MetricName\", "
                   "\"AggregationFunction\"}");
  }
  for (size_t i = 0; i < metrics->size(); ++i) {
    const json& m = (*metrics)[i];
    const std::string path = fmt::format("metrics_set[{}]", i);
    if (!m.is_object()) return r.Error(path, "expected an object");
    Measure measure;
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> metric,
                            r.String(m, "MetricName", path + ".MetricName"));
    if (!metric || metric->empty()) return r.Error(path + ".MetricName", "missing");
    measure.name = *metric;
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> agg,
                            r.String(m, "AggregationFunction", path + ".AggregationFunction"));
    if (agg) {
      std::optional<Aggregation> parsed = ParseAggregation(*agg);
      if (!parsed) {
        return r.Error(path + ".AggregationFunction",
                       fmt::format("unknown aggregation \"{}\"; expected SUM or AVG", *agg));
      }
      measure.aggregation = *parsed;
    } else {
      warnings.push_back(fmt::format("{}.AggregationFunction missing: assumed SUM", path));
    }
    if (m.contains("Namespace")) {
      warnings.push_back(fmt::format("{}.Namespace (CloudWatch) not carried over", path));
    }
    const bool duplicate = std::any_of(d.measures.begin(), d.measures.end(),
                                       [&](const Measure& x) { return x.name == measure.name; });
    if (duplicate) return r.Error(path, fmt::format("duplicate metric \"{}\"", measure.name));
    if (std::find(d.dimensions.begin(), d.dimensions.end(), measure.name) != d.dimensions.end()) {
      return r.Error(path, fmt::format("\"{}\" is both a metric and a dimension", measure.name));
    }
    d.measures.push_back(std::move(measure));
  }

  // Source: the database type says which connector; credentials always move
  // to an environment variable.
  std::string table;
  OSPREY_RETURN_IF_ERROR(ReadMetricSource(r, root, table, warnings));
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> db_type,
                          r.String(root, "database_type", "database_type"));
  if (db_type) {
    const std::string type = SanitizeName(*db_type);
    d.source.type = SourceType::kPostgres;
    if (type == "mysql" || type == "aurora-mysql" || type == "mariadb") {
      d.source.type = SourceType::kMysql;
    } else if (type == "redshift") {
      warnings.push_back(
          "database_type redshift: source set to postgres (Redshift speaks the "
          "PostgreSQL protocol); check the query's SQL dialect");
    } else if (type != "postgres" && type != "postgresql" && type != "aurora-postgresql") {
      warnings.push_back(
          fmt::format("database_type \"{}\" is not supported: source set to "
                      "postgres, change source.type",
                      *db_type));
    }
    d.source.connection_env = EnvName(d.name, "DSN");
  } else {
    d.source.type = SourceType::kCsv;
    d.source.connection_env = EnvName(d.name, "DATA");
    warnings.push_back(
        fmt::format("no database_type (the data came from S3 files): source set to a csv directory; copy "
                    "the files to a local directory and set {} to it, or change the source",
                    d.source.connection_env));
  }
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> secret, r.String(root, "secret_name", "secret_name"));
  if (secret && !secret->empty()) {
    warnings.push_back(
        fmt::format("secret_name \"{}\" (AWS Secrets Manager) not carried over: osprey never stores "
                    "passwords; set the environment variable {} (source.connection_env) to the connection "
                    "DSN held in that secret",
                    *secret, d.source.connection_env));
  } else if (d.source.type != SourceType::kCsv) {
    warnings.push_back(
        fmt::format("set the environment variable {} (source.connection_env) to "
                    "the database's connection DSN",
                    d.source.connection_env));
  }
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> bucket, r.String(root, "s3_bucket", "s3_bucket"));
  if (bucket && !bucket->empty()) {
    warnings.push_back(
        fmt::format("s3_bucket \"{}\" not carried over: osprey keeps its state "
                    "in its own store",
                    *bucket));
  }

  if (d.source.type == SourceType::kCsv) {
    warnings.push_back(
        "a csv source has no query: set source.csv (layout, header, delimiter) "
        "to match the files");
  } else {
    if (table.empty()) table = "my_table";
    std::vector<std::string> measure_names;
    for (const Measure& m : d.measures) measure_names.push_back(m.name);
    d.query = fmt::format(
        "-- Imported from a Lookout for Metrics params.json: edit this template so that it\n"
        "-- returns {}, the dimensions and the measures of one interval.\n"
        "select * from {}\n"
        "where {} >= {{{{interval_start}}}} and {} < {{{{interval_end}}}}\n",
        d.timestamp_column, table, d.timestamp_column, d.timestamp_column);
    warnings.push_back(fmt::format(
        "params.json has no query: a template reading table \"{}\" was generated; edit query so "
        "that it selects {}, the dimensions ({}) and the measures ({}), keeping the "
        "{{{{interval_start}}}} and {{{{interval_end}}}} bounds",
        table, d.timestamp_column, fmt::join(d.dimensions, ", "), fmt::join(measure_names, ", ")));
  }

  // Alert: L4M delivered to SNS or Lambda; osprey posts to a webhook.
  OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> alert_name, r.String(root, "alert_name", "alert_name"));
  OSPREY_ASSIGN_OR_RETURN(std::optional<double> threshold,
                          r.Number(root, "alert_threshold", "alert_threshold"));
  if (alert_name || threshold) {
    Alert alert;
    alert.name = alert_name && !alert_name->empty() ? *alert_name : "alert";
    alert.destination = AlertDestination::kWebhook;
    alert.target_env = std::string(kAlertEnv);
    if (threshold) {
      if (*threshold < 0 || *threshold > 100) {
        return r.Error("alert_threshold",
                       fmt::format("expected a severity from 0 to 100, got {}", *threshold));
      }
      alert.min_severity = *threshold;
      if (*threshold < 10) {
        warnings.push_back(fmt::format(
            "alert_threshold {} is unusually low: it is a severity from 0 to 100, so nearly every "
            "anomaly will alert (osprey's default is 70); raise alerts[0].min_severity if that "
            "is not intended",
            *threshold));
      }
    }
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> alert_description,
                            r.String(root, "alert_description", "alert_description"));
    if (alert_description) alert.description = *alert_description;
    OSPREY_ASSIGN_OR_RETURN(std::optional<std::string> lambda,
                            r.String(root, "alert_lambda_arn", "alert_lambda_arn"));
    if (lambda && !lambda->empty()) {
      warnings.push_back(
          fmt::format("alert_lambda_arn \"{}\" not carried over: osprey cannot "
                      "invoke Lambda functions",
                      *lambda));
    }
    warnings.push_back(
        fmt::format("alert \"{}\" now posts to a webhook whose URL is read from the environment variable {}; "
                    "change destination (webhook, slack, pagerduty, alertmanager, command) and target_env as "
                    "needed",
                    alert.name, kAlertEnv));
    d.alerts.push_back(std::move(alert));
  }
  return out;
}

}  // namespace

Result<ImportResult> ImportL4mParams(std::string_view json_text, const std::string& origin) {
  JsonReader reader(origin);
  json root;
  try {
    root = json::parse(json_text);
  } catch (const json::parse_error& e) {
    return InvalidArgument(fmt::format("{}:{}: not valid JSON: {}", origin,
                                       LineAt(json_text, e.byte == 0 ? 0 : e.byte - 1), e.what()));
  } catch (const json::exception& e) {
    // A number too large for a double is out_of_range, not a parse_error: it
    // escaped and terminated the process (found by fuzz/l4m_import_fuzz.cc).
    return InvalidArgument(fmt::format("{}: not valid JSON: {}", origin, e.what()));
  }
  try {
    return Convert(reader, root, origin);
  } catch (const json::exception& e) {
    return reader.Error("params", e.what());  // type checks above make this unreachable
  }
}

}  // namespace osprey::config
