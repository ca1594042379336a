#include "bench/nab/nab_scorer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "osprey/base/csv.h"

namespace osprey::nab {
namespace {

Result<nlohmann::json> ReadJson(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
}

std::string TrimTimestamp(std::string_view ts) {
  // "YYYY-MM-DD HH:MM:SS[.ffffff]" -> "YYYY-MM-DD HH:MM:SS"
  if (ts.size() > 19) ts = ts.substr(0, 19);
  return std::string(ts);
}

}  // namespace

double ScaledSigmoid(double y) {
  if (y > 3.0) return -1.0;
  return 2.0 / (1.0 + std::exp(5.0 * y)) - 1.0;
}

Result<Labels> ReadLabels(const std::string& path) {
  OSPREY_ASSIGN_OR_RETURN(nlohmann::json j, ReadJson(path));
  Labels labels;
  try {
    for (const auto& [key, windows] : j.items()) {
      FileLabels f;
      f.key = key;
      for (const auto& w : windows) {
        f.windows.emplace_back(TrimTimestamp(w.at(0).get<std::string>()),
                               TrimTimestamp(w.at(1).get<std::string>()));
      }
      labels.window_count += f.windows.size();
      labels.files.push_back(std::move(f));
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  std::sort(labels.files.begin(), labels.files.end(),
            [](const FileLabels& a, const FileLabels& b) { return a.key < b.key; });
  return labels;
}

Result<std::vector<Profile>> ReadProfiles(const std::string& path) {
  OSPREY_ASSIGN_OR_RETURN(nlohmann::json j, ReadJson(path));
  std::vector<Profile> out;
  try {
    for (const auto& [name, p] : j.items()) {
      const auto& m = p.at("CostMatrix");
      out.push_back({name, m.at("tpWeight").get<double>(), m.at("fpWeight").get<double>(),
                     m.at("fnWeight").get<double>()});
    }
  } catch (const nlohmann::json::exception& e) {
    return InvalidArgument(path + ": " + e.what());
  }
  // Keep the scoreboard order: standard, low FP, low FN.
  auto rank = [](const Profile& p) {
    if (p.name == "standard") return 0;
    if (p.name == "reward_low_FP_rate") return 1;
    return 2;
  };
  std::stable_sort(out.begin(), out.end(),
                   [&](const Profile& a, const Profile& b) { return rank(a) < rank(b); });
  return out;
}

Result<double> ReadThreshold(const std::string& path, std::string_view detector, std::string_view profile) {
  OSPREY_ASSIGN_OR_RETURN(nlohmann::json j, ReadJson(path));
  try {
    return j.at(std::string(detector)).at(std::string(profile)).at("threshold").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return NotFound(path + ": no threshold for " + std::string(detector) + "/" + std::string(profile));
  }
}

Result<FileScores> ReadScoresCsv(const std::string& path, std::string_view score_column) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  CsvReader csv(in, path);
  std::vector<std::string> cells;
  OSPREY_ASSIGN_OR_RETURN(bool has_header, csv.Next(cells));
  if (!has_header) return InvalidArgument(path + ": empty file");
  int ts_col = -1, score_col = -1;
  for (size_t i = 0; i < cells.size(); ++i) {
    if (cells[i] == "timestamp") ts_col = static_cast<int>(i);
    if (cells[i] == score_column) score_col = static_cast<int>(i);
  }
  if (ts_col < 0 || score_col < 0) {
    return InvalidArgument(path + ": header lacks timestamp or " + std::string(score_column));
  }
  const size_t need = static_cast<size_t>(std::max(ts_col, score_col));
  FileScores f;
  while (true) {
    OSPREY_ASSIGN_OR_RETURN(bool more, csv.Next(cells));
    if (!more) break;
    if (cells.size() == 1 && cells[0].empty()) continue;
    const std::string where = path + ":" + std::to_string(csv.line());
    if (cells.size() <= need) return InvalidArgument(where + ": too few columns");
    const std::string& cell = cells[static_cast<size_t>(score_col)];
    char* end = nullptr;
    double v = std::strtod(cell.c_str(), &end);
    if (end == cell.c_str()) return InvalidArgument(where + ": not a number");
    f.timestamps.push_back(TrimTimestamp(cells[static_cast<size_t>(ts_col)]));
    f.scores.push_back(v);
  }
  return f;
}

Result<CorpusScores> ReadResultsDir(const std::string& dir, std::string_view detector, const Labels& labels) {
  CorpusScores out;
  for (const FileLabels& f : labels.files) {
    size_t slash = f.key.find('/');
    std::string path =
        dir + "/" + f.key.substr(0, slash + 1) + std::string(detector) + "_" + f.key.substr(slash + 1);
    OSPREY_ASSIGN_OR_RETURN(out[f.key], ReadScoresCsv(path, "anomaly_score"));
  }
  return out;
}

Result<Sweep> Sweep::Build(const Labels& labels, const CorpusScores& scores, const Profile& profile) {
  Sweep s;
  s.profile_ = profile;
  const double max_tp = ScaledSigmoid(-1.0);
  int32_t window_base = 0;
  for (const FileLabels& f : labels.files) {
    auto it = scores.find(f.key);
    if (it == scores.end()) return InvalidArgument("no scores for " + f.key);
    const FileScores& fs = it->second;
    const int64_t n = static_cast<int64_t>(fs.scores.size());
    std::unordered_map<std::string_view, int64_t> index;
    for (int64_t i = 0; i < n; ++i) index.emplace(fs.timestamps[static_cast<size_t>(i)], i);
    std::vector<std::pair<int64_t, int64_t>> bounds;
    for (const auto& [start, end] : f.windows) {
      auto a = index.find(start), b = index.find(end);
      if (a == index.end() || b == index.end()) {
        return InvalidArgument(f.key + ": window bound is not a row timestamp: " + start);
      }
      bounds.emplace_back(a->second, b->second);
    }
    const int64_t probation =
        std::min<int64_t>(static_cast<int64_t>(std::floor(0.15 * static_cast<double>(n))), 750);
    size_t k = 0;  // next or current window
    int64_t prev_r = -1, prev_w = 0;
    for (int64_t i = 0; i < n; ++i) {
      while (k < bounds.size() && i > bounds[k].second) ++k;
      double sweep;
      int32_t window = -1;
      if (k < bounds.size() && i >= bounds[k].first) {
        auto [l, r] = bounds[k];
        double pos = -static_cast<double>(r - i + 1) / static_cast<double>(r - l + 1);
        sweep = ScaledSigmoid(pos) * profile.tp_weight / max_tp;
        window = window_base + static_cast<int32_t>(k);
      } else if (prev_r < 0) {
        sweep = -profile.fp_weight;
      } else {
        double pos = static_cast<double>(std::abs(prev_r - i)) / static_cast<double>(prev_w - 1);
        sweep = ScaledSigmoid(pos) * profile.fp_weight;
      }
      if (i >= probation) s.rows_.push_back({fs.scores[static_cast<size_t>(i)], window, sweep});
      if (k < bounds.size() && i == bounds[k].second) {
        prev_r = bounds[k].second;
        prev_w = bounds[k].second - bounds[k].first + 1;
      }
    }
    window_base += static_cast<int32_t>(bounds.size());
  }
  s.windows_ = static_cast<size_t>(window_base);
  if (s.windows_ != labels.window_count) return Internal("window count mismatch");
  return s;
}

ProfileResult Sweep::Finish(double threshold, double fp_sum, const std::vector<double>& best,
                            int64_t fp_rows) const {
  ProfileResult r;
  r.threshold = threshold;
  r.raw = fp_sum;
  for (double b : best) {
    if (std::isnan(b)) {
      r.raw -= profile_.fn_weight;
      ++r.fn;
    } else {
      r.raw += b;
      ++r.tp;
    }
  }
  r.fp = fp_rows;
  double w = static_cast<double>(windows_);
  r.null_raw = -profile_.fn_weight * w;
  r.perfect_raw = profile_.tp_weight * w;
  r.normalised = 100.0 * (r.raw - r.null_raw) / (r.perfect_raw - r.null_raw);
  return r;
}

ProfileResult Sweep::ScoreAt(double threshold) const {
  std::vector<double> best(windows_, std::nan(""));
  double fp_sum = 0;
  int64_t fp_rows = 0;
  for (const Row& row : rows_) {
    if (row.score < threshold) continue;
    if (row.window < 0) {
      fp_sum += row.sweep;
      ++fp_rows;
    } else {
      double& b = best[static_cast<size_t>(row.window)];
      if (std::isnan(b) || row.sweep > b) b = row.sweep;
    }
  }
  return Finish(threshold, fp_sum, best, fp_rows);
}

ProfileResult Sweep::Optimise() const {
  std::vector<size_t> order(rows_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows_[a].score > rows_[b].score; });
  std::vector<double> best(windows_, -profile_.fn_weight);
  std::vector<char> hit(windows_, 0);
  double total = -profile_.fn_weight * static_cast<double>(windows_);
  double best_total = total, best_threshold = 1.1;
  size_t i = 0;
  while (i < order.size()) {
    double t = rows_[order[i]].score;
    for (; i < order.size() && rows_[order[i]].score == t; ++i) {
      const Row& row = rows_[order[i]];
      if (row.window < 0) {
        total += row.sweep;
      } else {
        size_t w = static_cast<size_t>(row.window);
        if (!hit[w] || row.sweep > best[w]) {
          total += row.sweep - best[w];
          best[w] = row.sweep;
          hit[w] = 1;
        }
      }
    }
    if (total > best_total) {
      best_total = total;
      best_threshold = t;
    }
  }
  return ScoreAt(best_threshold);
}

std::vector<Fold> SplitFolds(const Labels& labels, int k) {
  std::vector<Fold> folds(static_cast<size_t>(std::max(k, 1)));
  std::vector<FileLabels> files = labels.files;
  std::sort(files.begin(), files.end(),
            [](const FileLabels& a, const FileLabels& b) { return a.key < b.key; });
  for (size_t i = 0; i < files.size(); ++i) {
    for (size_t f = 0; f < folds.size(); ++f) {
      Labels& to = i % folds.size() == f ? folds[f].test : folds[f].train;
      to.files.push_back(files[i]);
      to.window_count += files[i].windows.size();
    }
  }
  return folds;
}

Result<CrossValidation> CrossValidate(const std::vector<Fold>& folds, const CorpusScores& scores,
                                      const Profile& profile) {
  CrossValidation cv;
  ProfileResult& all = cv.held_out;
  for (const Fold& f : folds) {
    OSPREY_ASSIGN_OR_RETURN(Sweep train, Sweep::Build(f.train, scores, profile));
    OSPREY_ASSIGN_OR_RETURN(Sweep test, Sweep::Build(f.test, scores, profile));
    const ProfileResult r = test.ScoreAt(train.Optimise().threshold);
    all.raw += r.raw;
    all.null_raw += r.null_raw;
    all.perfect_raw += r.perfect_raw;
    all.tp += r.tp;
    all.fp += r.fp;
    all.fn += r.fn;
    cv.folds.push_back(r);
  }
  all.normalised = all.perfect_raw > all.null_raw
                       ? 100.0 * (all.raw - all.null_raw) / (all.perfect_raw - all.null_raw)
                       : 0.0;
  return cv;
}

}  // namespace osprey::nab
