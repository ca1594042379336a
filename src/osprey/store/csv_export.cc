#include "osprey/store/csv_export.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string_view>
#include <vector>

#include "osprey/base/csv.h"
#include "osprey/base/time.h"
#include "osprey/config/loader.h"

namespace osprey::store {
namespace {

constexpr int64_t kDay = 86400;
constexpr size_t kFlushBytes = 1 << 20;

// What the rows of one series start with, rendered once: the detector and
// timestamp cells are written before it, the numbers after.
struct SeriesCells {
  std::string after_timestamp;  // ",dim1,dim2,...,measure"
  bool leaf = false;
};

struct DetectorPlan {
  DetectorRecord detector;
  std::vector<std::string> dimensions;  // the detector's, in its order
  std::vector<SeriesRecord> series;
  std::vector<std::map<std::string, std::string>> series_dims;  // parallel to series
};

// A series' dimension values; a rolled-up dimension is absent. A dims text
// that is not a JSON object of strings (never written by osprey) is read as
// far as it goes.
std::map<std::string, std::string> ParseDims(const std::string& text) {
  std::map<std::string, std::string> out;
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    out[it.key()] = it.value().is_string() ? it.value().get<std::string>() : it.value().dump();
  }
  return out;
}

Result<DetectorPlan> Plan(Store& store, const DetectorRecord& d) {
  DetectorPlan p;
  p.detector = d;
  OSPREY_ASSIGN_OR_RETURN(p.series, store.ListSeries(d.id));
  // The dimensions as the detector file orders them; a stored configuration
  // that no longer loads still exports, with the dimensions its series name.
  if (auto config = config::LoadDetector(d.config, d.name); config.ok()) {
    p.dimensions = config->dimensions;
  }
  std::set<std::string> extra;
  for (const SeriesRecord& s : p.series) {
    p.series_dims.push_back(ParseDims(s.dims));
    for (const auto& [k, v] : p.series_dims.back()) {
      if (std::find(p.dimensions.begin(), p.dimensions.end(), k) == p.dimensions.end()) extra.insert(k);
    }
  }
  p.dimensions.insert(p.dimensions.end(), extra.begin(), extra.end());
  return p;
}

class Writer {
 public:
  explicit Writer(std::FILE* out) : out_(out) { buf_.reserve(kFlushBytes + 4096); }

  std::string& buf() { return buf_; }
  Status MaybeFlush() { return buf_.size() >= kFlushBytes ? Flush() : Status::Ok(); }
  Status Flush() {
    if (!buf_.empty() && std::fwrite(buf_.data(), 1, buf_.size(), out_) != buf_.size()) {
      return Unavailable("export: cannot write the output");
    }
    buf_.clear();
    return Status::Ok();
  }

  // "2020-10-01T13:00:00Z"; the date part is formatted once per day.
  void Timestamp(int64_t ts) {
    const int64_t day = ts >= 0 ? ts / kDay : -((-ts + kDay - 1) / kDay);
    if (day != day_) {
      day_ = day;
      date_ = FormatIso(FromUnixSeconds(day * kDay)).substr(0, 11);  // "YYYY-MM-DDT"
    }
    const int64_t rem = ts - day * kDay;
    const int64_t parts[3] = {rem / 3600, (rem / 60) % 60, rem % 60};
    char hms[9] = {0, 0, ':', 0, 0, ':', 0, 0, 'Z'};
    for (int i = 0; i < 3; ++i) {
      hms[3 * i] = static_cast<char>('0' + parts[i] / 10);
      hms[3 * i + 1] = static_cast<char>('0' + parts[i] % 10);
    }
    buf_ += date_;
    buf_.append(hms, sizeof hms);
  }
  void Number(const std::optional<double>& v) {
    buf_ += ',';
    if (!v) return;
    char digits[32];  // the shortest round-trip form is at most 24 characters
    buf_.append(digits, std::to_chars(digits, digits + sizeof digits, *v).ptr);
  }

 private:
  std::FILE* out_;
  std::string buf_;
  int64_t day_ = INT64_MIN;
  std::string date_;
};

}  // namespace

Result<int64_t> ExportScoredPointsCsv(Store& store, const CsvExportOptions& options, std::FILE* out) {
  std::vector<DetectorRecord> detectors;
  if (options.detector) {
    OSPREY_ASSIGN_OR_RETURN(DetectorRecord d, store.GetDetector(*options.detector));
    detectors.push_back(std::move(d));
  } else {
    OSPREY_ASSIGN_OR_RETURN(detectors, store.ListDetectors());
  }
  const bool detector_column = !options.detector && detectors.size() > 1;

  std::vector<DetectorPlan> plans;
  std::vector<std::string> columns;  // dimension columns: the union, first-seen order
  for (const DetectorRecord& d : detectors) {
    OSPREY_ASSIGN_OR_RETURN(DetectorPlan p, Plan(store, d));
    for (const std::string& dim : p.dimensions) {
      if (std::find(columns.begin(), columns.end(), dim) == columns.end()) columns.push_back(dim);
    }
    plans.push_back(std::move(p));
  }

  Writer w(out);
  std::string& buf = w.buf();
  if (detector_column) buf += "detector,";
  buf += "timestamp";
  for (const std::string& c : columns) {
    buf += ',';
    AppendCsvField(c, buf);
  }
  buf += ",measure,value,expected,lower,upper,severity\r\n";

  int64_t rows = 0;
  for (const DetectorPlan& p : plans) {
    std::string detector_cell;
    if (detector_column) {
      AppendCsvField(p.detector.name, detector_cell);
      detector_cell += ',';
    }
    std::map<int64_t, SeriesCells> cells;
    for (size_t i = 0; i < p.series.size(); ++i) {
      const auto& dims = p.series_dims[i];
      SeriesCells c;
      for (const std::string& col : columns) {
        c.after_timestamp += ',';
        auto it = dims.find(col);
        if (it != dims.end()) AppendCsvField(it->second, c.after_timestamp);
      }
      c.after_timestamp += ',';
      AppendCsvField(p.series[i].measure, c.after_timestamp);
      c.leaf = std::all_of(p.dimensions.begin(), p.dimensions.end(),
                           [&](const std::string& dim) { return dims.count(dim) > 0; });
      cells.emplace(p.series[i].id, std::move(c));
    }
    ScoredPointQuery q;
    q.detector_id = p.detector.id;
    q.min_severity = options.min_severity;
    q.since = options.since;
    q.until = options.until;
    int64_t last_series = -1;
    const SeriesCells* series = nullptr;
    OSPREY_RETURN_IF_ERROR(store.ForEachScoredPoint(q, [&](const PointRecord& pt) -> Status {
      if (pt.series_id != last_series) {
        last_series = pt.series_id;
        auto it = cells.find(pt.series_id);
        series = it == cells.end() ? nullptr : &it->second;
      }
      if (series == nullptr || (options.leaves_only && !series->leaf)) return Status::Ok();
      buf += detector_cell;
      w.Timestamp(pt.ts);
      buf += series->after_timestamp;
      w.Number(pt.value);
      w.Number(pt.expected);
      w.Number(pt.lower);
      w.Number(pt.upper);
      w.Number(pt.severity);
      buf += "\r\n";
      ++rows;
      return w.MaybeFlush();
    }));
  }
  OSPREY_RETURN_IF_ERROR(w.Flush());
  if (std::fflush(out) != 0) return Unavailable("export: cannot write the output");
  return rows;
}

}  // namespace osprey::store
