// NAB (Numenta Anomaly Benchmark) scorer, written from
// shared/benchmarks/nab/SCORING.md: label windows, the scaled sigmoid sweep
// score, the three cost profiles, corpus-wide threshold optimisation and
// normalisation to null = 0 / perfect = 100. Everything here is plain data
// and functions; file reading returns Result. Not thread-safe per object,
// no global state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::nab {

struct Profile {
  std::string name;  // profiles.json key, e.g. "standard"
  double tp_weight = 1;
  double fp_weight = 0.11;
  double fn_weight = 1;
};

// One data file of the corpus: its key "<category>/<name>.csv" and its
// windows as [start, end] timestamp strings "YYYY-MM-DD HH:MM:SS" (the
// fractional part of the labels file is dropped).
struct FileLabels {
  std::string key;
  std::vector<std::pair<std::string, std::string>> windows;
};

struct Labels {
  std::vector<FileLabels> files;  // sorted by key
  size_t window_count = 0;
};

// One detector's output for one file: row timestamps and scores in [0, 1].
struct FileScores {
  std::vector<std::string> timestamps;
  std::vector<double> scores;
};

// Detector outputs by file key.
using CorpusScores = std::map<std::string, FileScores>;

struct ProfileResult {
  double threshold = 0;
  double raw = 0;                  // un-normalised score
  double normalised = 0;           // 100 * (raw - null) / (perfect - null)
  int64_t tp = 0, fp = 0, fn = 0;  // detected windows, FP rows, missed windows
  // The raw scores of the null detector (no detections) and of the perfect
  // one (each window's first row) on the same files.
  double null_raw = 0, perfect_raw = 0;
};

double ScaledSigmoid(double y);

// Reads labels/combined_windows.json. Fails with NotFound / InvalidArgument.
Result<Labels> ReadLabels(const std::string& path);
// Reads config/profiles.json (the three cost matrices), in file order.
Result<std::vector<Profile>> ReadProfiles(const std::string& path);
// Reads config/thresholds.json: threshold of `detector` for `profile`.
Result<double> ReadThreshold(const std::string& path, std::string_view detector, std::string_view profile);
// Reads a CSV with a header holding `timestamp` and `anomaly_score` (or
// `value` when score_column is "value") columns.
Result<FileScores> ReadScoresCsv(const std::string& path, std::string_view score_column);
// Reads a results directory in NAB's layout, <dir>/<category>/<detector>_<name>.csv,
// for every file of `labels`. Fails with NotFound when a file is missing.
Result<CorpusScores> ReadResultsDir(const std::string& dir, std::string_view detector, const Labels& labels);

// A corpus prepared for fast scoring at many thresholds under one profile.
class Sweep {
 public:
  // Fails with InvalidArgument when a file is missing from `scores` or a
  // window bound is not a row timestamp.
  static Result<Sweep> Build(const Labels& labels, const CorpusScores& scores, const Profile& profile);
  // Scores the corpus with detections at rows whose score >= threshold.
  ProfileResult ScoreAt(double threshold) const;
  // NAB's sweep optimiser: the best candidate threshold (ties: higher wins).
  ProfileResult Optimise() const;

 private:
  struct Row {
    double score;
    int32_t window;  // corpus-wide window id, or -1
    double sweep;    // s(i)
  };
  ProfileResult Finish(double threshold, double fp_sum, const std::vector<double>& best,
                       int64_t fp_rows) const;

  Profile profile_;
  std::vector<Row> rows_;  // scored rows of all files
  size_t windows_ = 0;
};

// Cross-validation of the threshold: for each fold, the threshold is the one
// Sweep::Optimise picks on `train` and the files of `test` are scored with
// it. Nothing else is chosen per fold.
struct Fold {
  Labels train;
  Labels test;
};

// k folds of the corpus: the files, sorted by key, are dealt to the folds in
// turn, so each category (the key's folder) with at least k files is in every
// fold. Fold i tests its own files and trains on all the others.
std::vector<Fold> SplitFolds(const Labels& labels, int k);

struct CrossValidation {
  // The held-out folds together: raw is the sum of the per-fold raw scores
  // (a per-file sum, as over the whole corpus), normalised with the null and
  // perfect detectors over the same files; tp/fp/fn are summed. threshold is
  // unset (0): each fold has its own.
  ProfileResult held_out;
  std::vector<ProfileResult> folds;  // per fold: its threshold and its test files' score
};

// Fails as Sweep::Build does when a file has no scores.
Result<CrossValidation> CrossValidate(const std::vector<Fold>& folds, const CorpusScores& scores,
                                      const Profile& profile);

}  // namespace osprey::nab
