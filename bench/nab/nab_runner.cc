#include "bench/nab/nab_runner.h"

#include <filesystem>
#include <fstream>

#include "osprey/detect/stream.h"

namespace osprey::nab {
namespace {

int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

}  // namespace

detect::StreamOptions NabStreamOptions() { return detect::DefaultStreamOptions(); }

Result<int64_t> ParseNabTime(std::string_view t) {
  if (t.size() < 19) return InvalidArgument("bad timestamp: " + std::string(t));
  auto num = [&](size_t pos, size_t len, int64_t& out) {
    out = 0;
    for (size_t i = pos; i < pos + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      out = out * 10 + (t[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h, mi, s;
  if (!num(0, 4, y) || !num(5, 2, mo) || !num(8, 2, d) || !num(11, 2, h) || !num(14, 2, mi) ||
      !num(17, 2, s)) {
    return InvalidArgument("bad timestamp: " + std::string(t));
  }
  return DaysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

Result<CorpusScores> RunOsprey(const std::string& nab_dir, const Labels& labels,
                               const std::string& out_dir) {
  CorpusScores out;
  for (const FileLabels& f : labels.files) {
    std::string path = nab_dir + "/data/" + f.key;
    OSPREY_ASSIGN_OR_RETURN(FileScores data, ReadScoresCsv(path, "value"));
    std::vector<detect::StreamRow> rows;
    rows.reserve(data.scores.size());
    for (size_t i = 0; i < data.scores.size(); ++i) {
      OSPREY_ASSIGN_OR_RETURN(int64_t t, ParseNabTime(data.timestamps[i]));
      rows.push_back({t, data.scores[i]});
    }
    auto scored = detect::ScoreStream(rows, NabStreamOptions());
    if (!scored.ok()) return scored.status().WithContext(f.key);
    FileScores fs;
    fs.timestamps = std::move(data.timestamps);
    for (const auto& s : *scored) fs.scores.push_back(s.anomaly);
    if (!out_dir.empty()) {
      size_t slash = f.key.find('/');
      std::filesystem::path p = std::filesystem::path(out_dir) / f.key.substr(0, slash) /
                                ("osprey_" + f.key.substr(slash + 1));
      std::error_code ec;
      std::filesystem::create_directories(p.parent_path(), ec);
      std::ofstream o(p);
      if (!o) return Unavailable("cannot write " + p.string());
      o << "timestamp,anomaly_score\n";
      for (size_t i = 0; i < fs.scores.size(); ++i) {
        o << fs.timestamps[i] << ',' << fs.scores[i] << '\n';
      }
    }
    out.emplace(f.key, std::move(fs));
  }
  return out;
}

}  // namespace osprey::nab
