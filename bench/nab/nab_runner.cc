#include "bench/nab/nab_runner.h"

#include <filesystem>
#include <fstream>

#include "osprey/base/time.h"
#include "osprey/stream/stream.h"

namespace osprey::nab {

stream::StreamOptions NabStreamOptions() { return stream::DefaultStreamOptions(); }

Result<int64_t> ParseNabTime(std::string_view text) {
  static const Result<TimestampFormat> kFormat = TimestampFormat::Parse("yyyy-MM-dd HH:mm:ss");
  if (!kFormat.ok()) return kFormat.status();
  OSPREY_ASSIGN_OR_RETURN(Instant t, kFormat->ParseValue(text, TimeZone::Utc()));
  return ToUnixSeconds(t);
}

Result<CorpusScores> RunOsprey(const std::string& nab_dir, const Labels& labels, const std::string& out_dir,
                               const stream::StreamOptions& options) {
  CorpusScores out;
  for (const FileLabels& f : labels.files) {
    std::string path = nab_dir + "/data/" + f.key;
    OSPREY_ASSIGN_OR_RETURN(FileScores data, ReadScoresCsv(path, "value"));
    std::vector<stream::StreamRow> rows;
    rows.reserve(data.scores.size());
    for (size_t i = 0; i < data.scores.size(); ++i) {
      OSPREY_ASSIGN_OR_RETURN(int64_t t, ParseNabTime(data.timestamps[i]));
      rows.push_back({t, data.scores[i]});
    }
    auto scored = stream::ScoreStream(rows, options);
    if (!scored.ok()) return scored.status().WithContext(f.key);
    FileScores fs;
    fs.timestamps = std::move(data.timestamps);
    for (const auto& s : *scored) fs.scores.push_back(s.anomaly);
    if (!out_dir.empty()) {
      size_t slash = f.key.find('/');
      std::filesystem::path p =
          std::filesystem::path(out_dir) / f.key.substr(0, slash) / ("osprey_" + f.key.substr(slash + 1));
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
