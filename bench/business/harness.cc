#include "business/harness.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "business/osprey_runner.h"
#include "business/peers.h"
#include "osprey/testing/business_data.h"

namespace osprey::bench {
namespace {

double Since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void Record(const testing::Dataset& d, const std::vector<MeasureScores>& scores, DetectorRun* run) {
  run->best.resize(d.measures.size());
  run->at_default.resize(d.measures.size());
  run->clean_rates.resize(d.measures.size());
  for (size_t m = 0; m < d.measures.size(); ++m) {
    run->clean_rates[m].push_back(CleanFlagsPerHour(d, m, scores[m], kCalibrationThresholds));
    run->best[m].push_back(EvaluateBest(d, m, scores[m]));
    run->at_default[m].push_back(EvaluateAt(d, m, scores[m], run->default_threshold));
  }
}

std::string Fmt(const char* format, double a, double b = 0, double c = 0) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), format, a, b, c);
  return buf;
}

// "mean [min-max]" of f over seeds.
template <typename F>
std::string Spread(const std::vector<EventCounts>& v, F f, const char* one = "%.3f") {
  double sum = 0, lo = 1e300, hi = -1e300;
  for (const EventCounts& c : v) {
    const double x = f(c);
    sum += x;
    lo = std::min(lo, x);
    hi = std::max(hi, x);
  }
  const double mean = v.empty() ? 0 : sum / static_cast<double>(v.size());
  if (v.size() <= 1) return Fmt(one, mean);
  const std::string fmt = std::string(one) + " [" + one + "-" + one + "]";
  return Fmt(fmt.c_str(), mean, lo, hi);
}

template <typename F>
std::string Mean(const std::vector<EventCounts>& v, F f, const char* one) {
  double sum = 0;
  for (const EventCounts& c : v) sum += f(c);
  return Fmt(one, v.empty() ? 0 : sum / static_cast<double>(v.size()));
}

}  // namespace

Result<std::vector<SettingRun>> RunBusinessBench(const BenchOptions& options, std::ostream* progress) {
  std::vector<SettingRun> runs;
  for (const std::string& family : options.families) {
    std::vector<std::string> settings = options.settings;
    if (settings.empty()) settings = testing::SettingNames(family);
    for (const std::string& setting : settings) {
      SettingRun run;
      run.family = family;
      run.setting = setting;
      run.detectors.push_back({options.osprey_name, options.osprey_threshold, {}, {}, {}, {}, 0, 0, {}});
      std::vector<Peer> peers = Peers();  // the two oracles last
      if (options.oracle_only) peers.erase(peers.begin(), peers.end() - 2);
      for (const Peer& p : peers)
        run.detectors.push_back({p.name, p.default_threshold, {}, {}, {}, {}, 0, 0, {}});
      for (int seed = 1; seed <= options.seeds; ++seed) {
        OSPREY_ASSIGN_OR_RETURN(
            testing::BusinessParams params,
            testing::SettingParams(family, setting, static_cast<uint64_t>(seed), options.quick));
        if (options.days > 0) params.days = options.days;
        params.failed_requests = options.failed_requests;
        auto start = std::chrono::steady_clock::now();
        OSPREY_ASSIGN_OR_RETURN(testing::Dataset data, testing::GenerateBusinessData(params));
        run.generate_seconds += Since(start);
        run.seeds.push_back(static_cast<uint64_t>(seed));
        run.measures.clear();
        for (const auto& m : data.measures) run.measures.push_back(m.name);
        int64_t leaf_points = 0;
        for (const auto& s : data.series) {
          for (const auto& v : s.measures[0].value) leaf_points += v.has_value();
        }
        leaf_points *= static_cast<int64_t>(data.measures.size());

        start = std::chrono::steady_clock::now();
        testing::Dataset unlisted;
        if (!options.listed_events) {
          unlisted = data;
          unlisted.events.clear();
        }
        const testing::Dataset& told = options.listed_events ? data : unlisted;
        OSPREY_ASSIGN_OR_RETURN(OspreyScores os,
                                options.score_osprey
                                    ? options.score_osprey(told)
                                    : ScoreWithOsprey(told, detect::ModelOptions{}, options.holidays));
        run.detectors[0].seconds += Since(start);
        run.detectors[0].points += os.points_scored;
        Record(data, os.leaf_scores, &run.detectors[0]);
        if (!os.nodes.empty() && os.node_scores.size() == data.measures.size()) {
          auto& sums = run.detectors[0].node_incidents;
          sums.resize(data.measures.size());
          for (size_t m = 0; m < data.measures.size(); ++m) {
            sums[m].Add(
                EvaluateIncidentsAtNodes(data, m, os.nodes, os.node_scores[m], options.osprey_threshold));
          }
        }
        run.detectors[0].curve.resize(data.measures.size());
        for (size_t m = 0; m < data.measures.size(); ++m) {
          std::vector<double> f1;
          for (double t : kCurveThresholds) f1.push_back(EvaluateAt(data, m, os.leaf_scores[m], t).f1);
          run.detectors[0].curve[m].push_back(std::move(f1));
        }
        for (size_t p = 0; p < peers.size(); ++p) {
          start = std::chrono::steady_clock::now();
          std::vector<MeasureScores> scores;
          for (size_t m = 0; m < data.measures.size(); ++m) scores.push_back(peers[p].score(data, m));
          run.detectors[p + 1].seconds += Since(start);
          run.detectors[p + 1].points += leaf_points;
          Record(data, scores, &run.detectors[p + 1]);
        }
        if (progress != nullptr) {
          *progress << family << "/" << setting << " seed " << seed << " done (" << data.series.size()
                    << " leaves x " << data.points() << " points, " << data.anomalies.size()
                    << " anomalies)\n";
        }
      }
      runs.push_back(std::move(run));
    }
  }
  return runs;
}

void PrintTable(const std::vector<SettingRun>& runs, std::ostream& out) {
  for (const SettingRun& run : runs) {
    for (size_t m = 0; m < run.measures.size(); ++m) {
      const auto& oracle_best = run.detectors.back().best[m];
      int events = 0;
      std::array<int, testing::kAnomalyKinds> by_kind{};
      for (const EventCounts& c : oracle_best) {
        events += c.events;
        for (int k = 0; k < testing::kAnomalyKinds; ++k)
          by_kind[static_cast<size_t>(k)] += c.events_by_kind[static_cast<size_t>(k)];
      }
      out << "\n== " << run.family << " / " << run.setting << " / " << run.measures[m] << ": "
          << run.seeds.size() << " seeds, " << events << " labelled events (";
      for (int k = 0; k < testing::kAnomalyKinds; ++k) {
        if (by_kind[static_cast<size_t>(k)] == 0) continue;
        out << testing::AnomalyKindName(static_cast<testing::AnomalyKind>(k)) << " "
            << by_kind[static_cast<size_t>(k)] << " ";
      }
      out << ")\n";
      char line[512];
      std::snprintf(line, sizeof(line), "%-22s %-21s %-9s %-21s %-11s %-11s %-9s %s\n", "detector",
                    "F1 best [min-max]", "thr best", "F1 default [min-max]", "FA/ser/wk b", "FA/ser/wk d",
                    "dips b/d", "recall at best threshold (default)");
      out << line;
      for (const DetectorRun& d : run.detectors) {
        const auto& best = d.best[m];
        const auto& def = d.at_default[m];
        int dips = 0, dips_best = 0, dips_def = 0;
        std::string recall;
        for (int k = 0; k < testing::kAnomalyKinds; ++k) {
          int total = 0, fb = 0, fd = 0;
          for (size_t i = 0; i < best.size(); ++i) {
            total += best[i].events_by_kind[static_cast<size_t>(k)];
            fb += best[i].found_by_kind[static_cast<size_t>(k)];
            fd += def[i].found_by_kind[static_cast<size_t>(k)];
          }
          if (k == static_cast<int>(testing::AnomalyKind::kDip)) {
            dips = total;
            dips_best = fb;
            dips_def = fd;
          }
          if (total == 0) continue;
          recall += std::string(testing::AnomalyKindName(static_cast<testing::AnomalyKind>(k))) + " " +
                    Fmt("%.2f (%.2f) ", static_cast<double>(fb) / total, static_cast<double>(fd) / total);
        }
        std::snprintf(
            line, sizeof(line), "%-22s %-21s %-9s %-21s %-11s %-11s %-9s %s\n", d.name.c_str(),
            Spread(best, [](const EventCounts& c) { return c.f1; }).c_str(),
            Mean(
                best, [](const EventCounts& c) { return c.threshold; }, "%.3g")
                .c_str(),
            Spread(def, [](const EventCounts& c) { return c.f1; }).c_str(),
            Mean(
                best, [](const EventCounts& c) { return c.false_runs_per_series_week; }, "%.2f")
                .c_str(),
            Mean(
                def, [](const EventCounts& c) { return c.false_runs_per_series_week; }, "%.2f")
                .c_str(),
            (std::to_string(dips_best) + "/" + std::to_string(dips_def) + " of " + std::to_string(dips))
                .c_str(),
            recall.c_str());
        out << line;
      }
      // osprey: each seed's best threshold and F1 beside its F1 at the
      // default, and how often clean points are flagged (calibration).
      const DetectorRun& o = run.detectors.front();
      out << "osprey per seed (best thr: F1 / F1 default):";
      for (size_t i = 0; i < o.best[m].size(); ++i) {
        out << Fmt(" %.1f: %.3f / %.3f;", o.best[m][i].threshold, o.best[m][i].f1, o.at_default[m][i].f1);
      }
      out << "\nosprey mean F1 at severity";
      double top = -1, top_t = 0;
      for (size_t k = 0; k < kCurveThresholds.size(); ++k) {
        double sum = 0;
        for (const auto& c : o.curve[m]) sum += c[k];
        const double mean = o.curve[m].empty() ? 0 : sum / static_cast<double>(o.curve[m].size());
        if (mean > top) top = mean, top_t = kCurveThresholds[k];
        out << Fmt(" %.4g: %.3f;", kCurveThresholds[k], mean);
      }
      out << Fmt(" (one threshold for the cell: %.4g, F1 %.3f)", top_t, top);
      out << "\nosprey clean flags per series-hour at";
      for (size_t k = 0; k < kCalibrationThresholds.size(); ++k) {
        double sum = 0;
        for (const auto& r : o.clean_rates[m]) sum += r[k];
        const double mean = o.clean_rates[m].empty() ? 0 : sum / static_cast<double>(o.clean_rates[m].size());
        out << Fmt(" >=%.0f %.1e (nominal %.0e);", kCalibrationThresholds[k], mean,
                   std::pow(10.0, -kCalibrationThresholds[k] / 10.0));
      }
      out << "\n";
      if (m < o.node_incidents.size()) {
        const NodeIncidentCounts& c = o.node_incidents[m];
        out << "osprey at the roll-up nodes (each scored as a series of its own), at the default threshold: "
            << c.found << " of " << c.incidents << " incidents found at their root-cause node; "
            << Fmt("clean flags per node-hour %.1e\n", c.CleanFlagsPerNodeHour());
      }
    }
    out << "\nspeed " << run.family << "/" << run.setting << ": generator "
        << Fmt("%.2f s", run.generate_seconds);
    for (const DetectorRun& d : run.detectors) {
      out << "; " << d.name << " "
          << Fmt("%.2f s (%.2f M points/s)", d.seconds,
                 d.seconds > 0 ? static_cast<double>(d.points) / d.seconds / 1e6 : 0);
    }
    out << "\n";
  }
}

}  // namespace osprey::bench
