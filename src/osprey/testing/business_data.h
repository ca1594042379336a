// Labelled synthetic business data for detection benchmarks and tests.
// Two families, both deterministic for a given seed (own RNG and samplers, no
// std:: distributions, whose output differs between standard libraries):
//
// - "hourly": hourly orders (an overdispersed count) and revenue (a sum of
//   heavy-tailed lognormal prices) for region x channel x category leaves in
//   America/New_York, generated in local wall-clock time (daily x weekly
//   profiles per dimension value, a store channel closed at night with exact
//   zeros, regional trends, mild yearly seasonality, holidays given as an
//   event calendar, missing rows, an ETL gap, a category launched late).
// - "ops": 5-minute operational KPIs (requests, errors, mean latency, and
//   the error rate, errors over requests) for service x region x endpoint
//   leaves in Europe/Berlin, with planned maintenance windows given as
//   events.
//
// Every point carries the true expectation and true noise sd of its measure
// (what the series would be without injected anomalies), so an oracle can
// score against them. Injected anomalies are labelled per measure only when
// their total effect exceeds the noise: |sum of (anomalous - normal
// expectation)| / sqrt(sum of normal variances) over the affected present
// points >= BusinessParams::label_z. Test-only code; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "osprey/base/status.h"

namespace osprey::testing {

enum class AnomalyKind { kSpike = 0, kDip, kOutage, kShift, kDrift, kPriceGlitch, kIncident };
inline constexpr int kAnomalyKinds = 7;
std::string_view AnomalyKindName(AnomalyKind kind);

// How a measure rolls up over leaves: a sum (counts, money), a mean
// weighted by another measure (latency weighted by requests), or a ratio
// of two sums (the error rate: errors over requests).
enum class MeasureKind { kCount, kMoney, kMean, kRatio };

struct MeasureInfo {
  std::string name;
  MeasureKind kind = MeasureKind::kCount;
  int weight_measure = -1;     // kMean: the measure weighting the mean; kRatio: the denominator
  int numerator_measure = -1;  // kRatio: the numerator
};

// One measure of one leaf series, a value per grid point.
struct MeasureData {
  std::vector<std::optional<double>> value;  // nullopt: no row (missing, not zero)
  std::vector<double> expected;              // true expectation without injected anomalies
  std::vector<double> sd;                    // true noise sd around it
};

struct LeafSeries {
  std::vector<std::string> dims;  // one value per dimension, in Dataset::dimensions order
  std::vector<MeasureData> measures;
};

// A calendar event in local wall-clock time, [local_start, local_end) in
// local seconds since 1970-01-01 00:00. `recurrence` names the recurring
// event (every year's Thanksgiving shares "thanksgiving"): models learn it
// under that name. An empty scope applies to every series, otherwise to the
// series whose dimension values match every (dimension index, value) pair.
// planned: a planned interruption (maintenance) rather than a holiday.
struct CalendarEvent {
  std::string name;
  std::string recurrence;
  int64_t local_start = 0;
  int64_t local_end = 0;
  std::vector<std::pair<int, std::string>> scope;
  bool planned = false;
};

// One injected anomaly. It acts on `series` over grid points [begin, end).
// labelled[m] says whether measure m carries it as a labelled event (its
// effect exceeds the noise there); effect_z[m] is that effect in sd units
// (0 for a measure it does not touch). root_cause: the dimension values an
// incident shares (empty for a single-series anomaly).
struct Anomaly {
  AnomalyKind kind = AnomalyKind::kSpike;
  std::vector<int> series;
  int64_t begin = 0;
  int64_t end = 0;
  std::vector<bool> labelled;
  std::vector<double> effect_z;
  std::vector<std::pair<int, std::string>> root_cause;
  double size = 0;  // the multiplier or relative change that was injected
};

struct Dataset {
  std::string family;  // "hourly" or "ops"
  std::string setting;
  uint64_t seed = 0;
  std::string zone;  // IANA zone of the local times
  int64_t interval_seconds = 3600;
  std::vector<int64_t> times;        // interval starts, Unix seconds (UTC)
  std::vector<int64_t> local_times;  // the same instants as local wall-clock seconds
  std::vector<std::string> dimensions;
  std::vector<MeasureInfo> measures;
  std::vector<LeafSeries> series;
  std::vector<CalendarEvent> events;
  std::vector<Anomaly> anomalies;
  // Points before this index are history for every detector: no anomaly is
  // injected there and no evaluation scores them.
  int64_t warmup_points = 0;

  size_t points() const { return times.size(); }
  // The calendar event covering point t of series s, or null.
  const CalendarEvent* EventAt(size_t s, size_t t) const;
};

// Generator parameters. Rates are counts of anomalies per dataset.
struct BusinessParams {
  std::string family = "hourly";
  std::string setting = "base";
  uint64_t seed = 1;
  int days = 400;        // hourly: ~13 months; ops: 35
  int warmup_days = 56;  // history shared by every detector
  double volume = 1.0;   // scales every expected count
  // Dispersion: counts are gamma-Poisson with shape k per series drawn
  // log-uniformly from [dispersion_min, dispersion_max]: Var = mu + mu^2 / k.
  double dispersion_min = 8;
  double dispersion_max = 40;
  int store_open_hour = 7;    // hourly: the store channel's first open local hour
  int store_close_hour = 22;  // ... and the first closed one (exact zeros until open)
  double missing_share = 0.01;
  int etl_gap_hours = 8;  // one block where every row is absent (hours)
  int launch_day = 150;   // hourly: the late category's first day (no rows before)
  // Anomaly counts per dataset.
  int spikes = 12, dips = 10, outages = 6, shifts = 4, drifts = 4, glitches = 6, incidents = 6;
  double incident_min = 0.2;  // relative change of a dimension-wide incident
  double incident_max = 0.4;
  double label_z = 5.0;  // label threshold on |total effect| / sqrt(total variance)
  // ops: dispersion of error counts, per-request latency log-sd, common latency jitter.
  double error_dispersion = 3;
  // ops: errors are failed requests (each request fails at the interval's
  // rate, err_p times a Gamma(error_dispersion) draw, plus a burst's share;
  // at most all of them), labelled where a burst's typical count is rare
  // under the normal count's own distribution. Off: errors drawn around the
  // expected requests, independently of them (a burst on a quiet leaf
  // outnumbers its requests; the error rate is capped at 1), as the quality
  // floors and the tables of bench/business/README.md before its section on
  // failed requests were measured.
  bool failed_requests = false;
  double latency_sigma = 0.5;
  double latency_jitter = 0.03;
};

// The named settings of a family: hourly "base", "noisy", "sparse"; ops
// "base", "noisy", "sparse". quick shortens the data (tests).
std::vector<std::string> SettingNames(std::string_view family);
// Fails with InvalidArgument naming the family or setting when unknown.
Result<BusinessParams> SettingParams(std::string_view family, std::string_view setting, uint64_t seed,
                                     bool quick);

// Fails with InvalidArgument on inconsistent parameters (no days after the
// warm-up, an unknown family).
Result<Dataset> GenerateBusinessData(const BusinessParams& params);

}  // namespace osprey::testing
