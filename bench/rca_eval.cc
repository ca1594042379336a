#include "rca_eval.h"

#include "osprey/cli/rca_input.h"
#include "rca_synth.h"

#include <algorithm>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <string_view>

namespace osprey::rca::bench {
namespace {

std::vector<std::string_view> SplitView(std::string_view s, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t pos = s.find(sep, start);
    parts.push_back(s.substr(start, pos == std::string_view::npos ? pos : pos - start));
    if (pos == std::string_view::npos) break;
    start = pos + 1;
  }
  return parts;
}

// Reads injection_info.csv: timestamp -> set.
Result<std::map<std::string, std::string>> LoadTruth(const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound("cannot open " + path);
  std::string line;
  if (!std::getline(in, line)) return InvalidArgument(path + ": empty");
  const auto header = SplitView(line, ',');
  int set_col = -1;
  int ts_col = -1;
  for (size_t i = 0; i < header.size(); ++i) {
    if (header[i] == "set") set_col = static_cast<int>(i);
    if (header[i] == "timestamp") ts_col = static_cast<int>(i);
  }
  if (set_col < 0 || ts_col < 0) return InvalidArgument(path + ": needs set and timestamp");
  std::map<std::string, std::string> truth;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const auto cols = SplitView(line, ',');
    if (cols.size() != header.size()) return InvalidArgument(path + ": bad row: " + line);
    truth[std::string(cols[static_cast<size_t>(ts_col)])] = std::string(cols[static_cast<size_t>(set_col)]);
  }
  return truth;
}

// A copy of `cube` with each expected value scaled by (1 + N(0, sd)).
Result<Cube> Perturb(const Cube& cube, double sd, uint32_t seed) {
  std::vector<std::string> names;
  for (size_t d = 0; d < cube.num_dimensions(); ++d) names.push_back(cube.dimension_name(d));
  OSPREY_ASSIGN_OR_RETURN(Cube out, Cube::Create(std::move(names)));
  for (size_t d = 0; d < cube.num_dimensions(); ++d) {
    for (uint32_t v = 0; v < cube.num_values(d); ++v) out.InternValue(d, cube.value_name(d, v));
  }
  std::mt19937 rng(seed);
  std::normal_distribution<double> noise(0, sd);
  std::vector<uint32_t> codes(cube.num_dimensions());
  for (size_t i = 0; i < cube.num_leaves(); ++i) {
    for (size_t d = 0; d < codes.size(); ++d) codes[d] = cube.code(i, d);
    const double expected = std::max(0.0, cube.expected(i) * (1 + noise(rng)));
    OSPREY_RETURN_IF_ERROR(out.AddLeafCodes(codes, cube.actual(i), expected));
  }
  return out;
}

size_t PairCount(const std::string& element) {
  return static_cast<size_t>(std::count(element.begin(), element.end(), '&')) + 1;
}

// Runs the search on one case and adds its counts to `sr`.
Status ScoreOne(const Cube& cube, const RootCauseOptions& options, const std::string& setting,
                const std::string& id, const std::string& truth, std::ostream* log, SettingResult& sr) {
  // CPU time of this thread: the machine may be shared, and the peers'
  // figures are CPU times too.
  timespec start{};
  timespec stop{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &start);
  auto causes = LocateRootCauses(cube, options);
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &stop);
  if (!causes.ok()) return causes.status();
  sr.search_ms += 1e3 * static_cast<double>(stop.tv_sec - start.tv_sec) +
                  1e-6 * static_cast<double>(stop.tv_nsec - start.tv_nsec);
  std::set<std::string> predicted;
  std::string pred_text;
  for (const RootCause& rc : *causes) {
    const std::string e = ElementToString(cube, rc.element);
    predicted.insert(CanonicalElement(e));
    if (!pred_text.empty()) pred_text += ';';
    pred_text += e;
  }
  const std::set<std::string> true_set = ParseElementSet(truth);
  const Counts c = ScoreCase(predicted, true_set);
  for (const std::string& t : true_set) {
    (predicted.count(t) ? sr.by_size[PairCount(t)].tp : sr.by_size[PairCount(t)].fn) += 1;
  }
  for (const std::string& p : predicted) {
    if (!true_set.count(p)) sr.by_size[PairCount(p)].fp += 1;
  }
  sr.counts.Add(c);
  ++sr.cases;
  if (log != nullptr) {
    *log << setting << ' ' << id << (c.fp + c.fn == 0 ? " ok   " : " MISS ") << "pred=" << pred_text
         << " truth=" << truth << '\n';
    if (c.fp + c.fn > 0) {
      for (const RootCause& rc : *causes) {
        *log << "    " << ElementToString(cube, rc.element) << " purity=" << rc.purity
             << " confidence=" << rc.confidence << " coverage=" << rc.coverage << '\n';
      }
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Cube> ViewOf(const Cube& cube, RatioView view) {
  std::vector<std::string> names;
  for (size_t d = 0; d < cube.num_dimensions(); ++d) names.push_back(cube.dimension_name(d));
  OSPREY_ASSIGN_OR_RETURN(Cube out, Cube::Create(std::move(names)));
  for (size_t d = 0; d < cube.num_dimensions(); ++d) {
    for (uint32_t v = 0; v < cube.num_values(d); ++v) out.InternValue(d, cube.value_name(d, v));
  }
  std::vector<uint32_t> codes(cube.num_dimensions());
  for (size_t i = 0; i < cube.num_leaves(); ++i) {
    for (size_t d = 0; d < codes.size(); ++d) codes[d] = cube.code(i, d);
    if (!cube.is_ratio()) {
      OSPREY_RETURN_IF_ERROR(out.AddLeafCodes(codes, cube.actual(i), cube.expected(i)));
    } else if (view == RatioView::kRatio) {
      OSPREY_RETURN_IF_ERROR(out.AddRatioLeafCodes(codes, cube.actual(i), cube.expected(i),
                                                   cube.denominator_actual(i), cube.denominator_expected(i)));
    } else if (view == RatioView::kNumerator) {
      OSPREY_RETURN_IF_ERROR(out.AddLeafCodes(codes, cube.actual(i), cube.expected(i)));
    } else {
      const double da = cube.denominator_actual(i);
      const double de = cube.denominator_expected(i);
      OSPREY_RETURN_IF_ERROR(
          out.AddLeafCodes(codes, da > 0 ? cube.actual(i) / da : 0, de > 0 ? cube.expected(i) / de : 0));
    }
  }
  return out;
}

Result<SettingResult> RunSynthetic(const std::string& preset, uint64_t seed, int cases,
                                   const RootCauseOptions& options, RatioView view, std::ostream* log) {
  OSPREY_ASSIGN_OR_RETURN(SynthOptions synth, SynthPreset(preset));
  SettingResult sr;
  sr.setting = preset + " seed " + std::to_string(seed);
  for (int k = 0; k < cases; ++k) {
    OSPREY_ASSIGN_OR_RETURN(SynthCase c, GenerateCase(synth, seed, static_cast<uint64_t>(k)));
    Cube cube = std::move(c.cube);
    if (view != RatioView::kRatio) {
      OSPREY_ASSIGN_OR_RETURN(cube, ViewOf(cube, view));
    }
    OSPREY_RETURN_IF_ERROR(ScoreOne(cube, options, sr.setting, std::to_string(k), c.truth, log, sr));
  }
  return sr;
}

Result<Cube> LoadCaseFile(const std::string& path) { return cli::LoadRcaCsv(path); }

std::string CanonicalElement(const std::string& element) {
  std::vector<std::string> pairs;
  for (std::string_view p : SplitView(element, '&')) {
    if (!p.empty()) pairs.emplace_back(p);
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const std::string& p : pairs) {
    if (!out.empty()) out += '&';
    out += p;
  }
  return out;
}

std::set<std::string> ParseElementSet(const std::string& set) {
  std::set<std::string> out;
  for (std::string_view e : SplitView(set, ';')) {
    std::string c = CanonicalElement(std::string(e));
    if (!c.empty()) out.insert(std::move(c));
  }
  return out;
}

Counts ScoreCase(const std::set<std::string>& predicted, const std::set<std::string>& truth) {
  Counts c;
  for (const std::string& p : predicted) c.tp += truth.count(p) ? 1 : 0;
  c.fp = static_cast<int64_t>(predicted.size()) - c.tp;
  c.fn = static_cast<int64_t>(truth.size()) - c.tp;
  return c;
}

Result<std::vector<SettingResult>> RunBenchmark(const std::string& dir, const RootCauseOptions& options,
                                                std::ostream* log, const StressOptions& stress) {
  namespace fs = std::filesystem;
  std::vector<std::string> settings;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    if (entry.is_directory() && fs::exists(entry.path() / "injection_info.csv")) {
      settings.push_back(entry.path().filename().string());
    }
  }
  if (ec) return NotFound("cannot list " + dir + ": " + ec.message());
  if (settings.empty()) return NotFound("no benchmark settings under " + dir);
  std::sort(settings.begin(), settings.end());
  std::vector<SettingResult> results;
  for (const std::string& setting : settings) {
    const fs::path sdir = fs::path(dir) / setting;
    OSPREY_ASSIGN_OR_RETURN(auto truth, LoadTruth((sdir / "injection_info.csv").string()));
    std::vector<std::string> files;
    for (const auto& entry : fs::directory_iterator(sdir)) {
      const std::string name = entry.path().filename().string();
      if (name.size() > 7 && name.ends_with(".csv.gz")) files.push_back(name);
    }
    std::sort(files.begin(), files.end());
    SettingResult sr;
    sr.setting = setting;
    for (const std::string& file : files) {
      const std::string ts = file.substr(0, file.size() - 7);
      auto it = truth.find(ts);
      if (it == truth.end()) continue;
      OSPREY_ASSIGN_OR_RETURN(Cube cube, LoadCaseFile((sdir / file).string()));
      if (stress.forecast_noise_sd > 0) {
        OSPREY_ASSIGN_OR_RETURN(
            cube, Perturb(cube, stress.forecast_noise_sd, static_cast<uint32_t>(std::stoul(ts))));
      }
      OSPREY_RETURN_IF_ERROR_CTX(ScoreOne(cube, options, setting, ts, it->second, log, sr),
                                 setting + "/" + file);
    }
    results.push_back(std::move(sr));
  }
  return results;
}

}  // namespace osprey::rca::bench
