#include "osprey/app/pipeline.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <condition_variable>
#include <cstring>
#include <exception>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <unordered_map>

#include "osprey/base/log.h"
#include "osprey/config/loader.h"
#include "osprey/rca/codec.h"
#include "osprey/rca/related.h"
#include "osprey/schedule/shards.h"
#include "osprey/store/point_block.h"

namespace osprey::app {
namespace {

using nlohmann::json;

// How many series ahead the walks over scattered series states and keys
// prefetch (MarkRollupsMissing, PrepareInterval, ScoreResident).
constexpr size_t kAhead = 4;

bool Additive(config::Aggregation a) {
  return a == config::Aggregation::kSum || a == config::Aggregation::kCount;
}

// Stops a query at its first row: Run's probe for rows after a range.
class FirstRow final : public RowHandler {
 public:
  Status OnColumns(const std::vector<std::string>&) override { return Status::Ok(); }
  Status OnRow(const std::vector<Cell>&) override {
    found = true;
    return AlreadyExists("a row was found");  // ends the query early
  }
  bool found = false;
};

detect::DirectionFilter ToDirectionFilter(config::RuleDirection d) {
  switch (d) {
    case config::RuleDirection::kUp: return detect::DirectionFilter::kUp;
    case config::RuleDirection::kDown: return detect::DirectionFilter::kDown;
    case config::RuleDirection::kBoth: break;
  }
  return detect::DirectionFilter::kBoth;
}

// A shard's scores of one interval (store::ShardScoresRecord::data), all
// numbers bit-exact in the machine's byte order: the warm-up figures
// (warming, seen, needed as int64), then per ready score the series id
// (int64), expected, lower, upper, severity (double), direction and
// explanation (one byte each). Not-ready scores are left out.
template <typename T>
void Put(std::string& out, T v) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.append(bytes, sizeof(T));
}

template <typename T>
bool Get(std::string_view& in, T* v) {
  if (in.size() < sizeof(T)) return false;
  std::memcpy(v, in.data(), sizeof(T));
  in.remove_prefix(sizeof(T));
  return true;
}

detect::CombineMode ToCombineMode(config::RuleCombine c) {
  switch (c) {
    case config::RuleCombine::kRulesOnly: return detect::CombineMode::kRulesOnly;
    case config::RuleCombine::kModelOnly: return detect::CombineMode::kModelOnly;
    case config::RuleCombine::kBoth: return detect::CombineMode::kBoth;
    case config::RuleCombine::kMax: break;
  }
  return detect::CombineMode::kMax;
}

}  // namespace

namespace internal {

// (Declared in pipeline.h.)
bool ReadFlatDims(std::string_view text, std::vector<std::pair<std::string_view, std::string_view>>* out) {
  out->clear();
  size_t i = 0;
  auto string = [&](std::string_view* s) {
    if (i >= text.size() || text[i] != '"') return false;
    const size_t from = ++i;
    while (i < text.size() && text[i] != '"') {
      const auto c = static_cast<unsigned char>(text[i]);
      if (c == '\\' || c < 0x20 || c >= 0x7f) return false;
      ++i;
    }
    if (i >= text.size()) return false;
    *s = text.substr(from, i - from);
    ++i;
    return true;
  };
  if (text.size() < 2 || text[i++] != '{') return false;
  if (text[i] == '}') return i + 1 == text.size();
  for (;;) {
    std::string_view key, value;
    if (!string(&key) || i >= text.size() || text[i++] != ':' || !string(&value)) return false;
    out->emplace_back(key, value);
    if (i >= text.size()) return false;
    if (text[i] == '}') break;
    if (text[i++] != ',') return false;
  }
  if (i + 1 != text.size()) return false;
  std::sort(out->begin(), out->end());
  for (size_t k = 1; k < out->size(); ++k) {
    if ((*out)[k].first == (*out)[k - 1].first) return false;
  }
  return true;
}

}  // namespace internal

Result<std::unique_ptr<DetectorRunner>> DetectorRunner::Create(const config::Detector& detector,
                                                               const std::string& config_text,
                                                               store::Store& store,
                                                               connectors::Source& source, ShardRole role,
                                                               int64_t resident_models, size_t paged_block) {
  OSPREY_ASSIGN_OR_RETURN(IntervalGrid grid, IntervalGrid::Create(detector.frequency, detector.timezone));
  auto runner = std::unique_ptr<DetectorRunner>(new DetectorRunner(detector, grid, store, source, role));
  runner->resident_models_ = resident_models;
  runner->paged_block_ = std::max<size_t>(paged_block, 1);
  Result<std::vector<detect::CalendarEvent>> events = config::LoadEvents(detector);
  if (!events.ok()) return events.status().WithContext(fmt::format("detector '{}'", detector.name));
  runner->calendar_ = detect::EventCalendar(*std::move(events), detector.timezone);
  OSPREY_ASSIGN_OR_RETURN(runner->detector_id_, store.UpsertDetector(detector.name, config_text));
  for (size_t m = 0; m < detector.measures.size(); ++m) {
    detect::ModelOptions o;
    o.interval_seconds = detector.frequency.NominalSeconds();
    o.sensitivity = config::ModelSensitivity(detector, m);
    o.mean_of_rows = detector.measures[m].aggregation == config::Aggregation::kAvg;
    runner->model_options_.push_back(o);
    const config::Rules r = config::EffectiveRules(detector, m);
    MeasureRules mr;
    mr.options.min = r.min;
    mr.options.max = r.max;
    mr.options.change_percent = r.change_percent;
    mr.options.change_intervals = static_cast<int>(r.change_intervals.value_or(1));
    mr.options.direction = ToDirectionFilter(r.direction.value_or(config::RuleDirection::kBoth));
    mr.options.sensitivity = r.sensitivity.value_or(50);
    mr.combine = ToCombineMode(r.combine.value_or(config::RuleCombine::kMax));
    mr.active = r.HasRule() || mr.options.direction != detect::DirectionFilter::kBoth;
    runner->rules_.push_back(mr);
  }
  OSPREY_RETURN_IF_ERROR(runner->LoadState());
  return runner;
}

DetectorRunner::DetectorRunner(const config::Detector& d, IntervalGrid grid, store::Store& store,
                               connectors::Source& source, ShardRole role)
    : detector_(d),
      source_detector_(d),
      grid_(std::move(grid)),
      store_(store),
      source_(source),
      catalog_(d),
      role_(role) {
  source_detector_.measures.clear();
  for (uint32_t m = 0; m < d.measures.size(); ++m) {
    const config::Measure& measure = d.measures[m];
    if (!measure.ratio) {
      source_detector_.measures.push_back(measure);
      source_measure_.push_back(m);
      continue;
    }
    // The loader checked that both sides are measures read from the source.
    ratios_.push_back({m, static_cast<uint32_t>(*config::FindMeasure(d, measure.ratio->numerator)),
                       static_cast<uint32_t>(*config::FindMeasure(d, measure.ratio->denominator))});
  }
}

bool DetectorRunner::Owns(const ingest::SeriesKey& key) const {
  if (role_.shards <= 1) return true;
  if (role_.coordinator) return false;
  return schedule::ShardOf(catalog_.MeasureName(key.measure), catalog_.DimsJson(key), role_.shards) ==
         role_.shard;
}

Status DetectorRunner::LoadState(const store::SnapshotRecord* snapshot) {
  series_.clear();
  ordered_.clear();
  skip_leaves_.clear();
  last_group_.clear();
  // The series to restore a model of: (series id, its measure, its key,
  // its state), sorted by id.
  struct Restore {
    int64_t id;
    uint32_t measure;
    const ingest::SeriesKey* key;
    SeriesState* state;
  };
  std::vector<Restore> restore;
  // The records come one at a time (their strings go into the catalog and
  // the keys), and most dimensions are read without a JSON document.
  std::vector<std::pair<std::string_view, std::string_view>> pairs;
  std::vector<std::string> parsed;  // the strings of a document parsed as JSON
  OSPREY_ASSIGN_OR_RETURN(const int64_t count, store_.CountSeries(detector_id_));
  catalog_.Reserve(static_cast<size_t>(count));
  OSPREY_RETURN_IF_ERROR(store_.ForEachSeries(detector_id_, [&](const store::SeriesRecord& r) -> Status {
    // A snapshot knows exactly the series that existed then.
    if (snapshot && !snapshot->model_states.count(r.id)) return Status::Ok();
    // Rebuild the key from the stored dimension values, so a restarted run
    // knows every series (needed to notice the ones that go missing).
    auto m = std::find_if(detector_.measures.begin(), detector_.measures.end(),
                          [&](const config::Measure& x) { return x.name == r.measure; });
    if (m == detector_.measures.end()) return Status::Ok();  // a measure no longer configured
    if (!internal::ReadFlatDims(r.dims, &pairs)) {
      json dims = json::parse(r.dims, nullptr, false);
      if (!dims.is_object()) return DataLoss(fmt::format("series {} has corrupt dimensions", r.id));
      pairs.clear();
      parsed.clear();
      bool strings = true;
      for (auto it = dims.begin(); it != dims.end() && strings; ++it) {
        strings = it.value().is_string();
        parsed.push_back(it.key());
        parsed.push_back(strings ? it.value().get<std::string>() : std::string());
      }
      for (size_t k = 0; k + 1 < parsed.size(); k += 2) pairs.emplace_back(parsed[k], parsed[k + 1]);
      // (A value that is not a string makes the series unknown, below.)
      if (!strings) pairs.back().first = std::string_view();
    }
    ingest::SeriesKey key;
    key.measure = static_cast<uint32_t>(m - detector_.measures.begin());
    key.values.assign(detector_.dimensions.size(), ingest::kAll);
    bool known = true;
    for (const auto& [name, value] : pairs) {
      auto d = std::find(detector_.dimensions.begin(), detector_.dimensions.end(), name);
      if (name.empty() || d == detector_.dimensions.end()) {
        known = false;  // a dimension no longer configured
        break;
      }
      size_t di = static_cast<size_t>(d - detector_.dimensions.begin());
      key.values[di] = catalog_.Intern(di, value);
    }
    if (!known || static_cast<int>(std::count(key.values.begin(), key.values.end(), ingest::kAll)) >
                      (detector_.rollup_depth < 0 ? 1 << 20 : detector_.rollup_depth)) {
      return Status::Ok();
    }
    SeriesState s;
    s.id = r.id;
    s.owned = Owns(key);
    const uint32_t measure = key.measure;
    // (Series are listed in id order, which is usually the order their
    // keys were first seen and so their values interned: each then goes
    // after the ones before, and the hint saves the search.)
    const size_t before = series_.size();
    auto placed = series_.emplace_hint(series_.end(), std::move(key), std::move(s));
    // (A second record of the same key is dropped, its state with it.)
    if (series_.size() > before && placed->second.owned) {
      restore.push_back({r.id, measure, &placed->first, &placed->second});
    }
    return Status::Ok();
  }));
  std::sort(restore.begin(), restore.end(), [](const Restore& a, const Restore& b) { return a.id < b.id; });
  // Many series: the models stay in the store until a chunk scores them
  // (kResidentModels). A snapshot's are restored (it is not the store's).
  paged_ = !snapshot && CanPage() && static_cast<int64_t>(restore.size()) >= resident_models_;
  paged_warmup_ = Warmup{};
  if (paged_) restore.clear();
  // The stored states, one at a time (they are as large as the models);
  // the coordinator has no models.
  auto restore_one = [&](int64_t id, std::string_view state) {
    auto it = std::lower_bound(restore.begin(), restore.end(), id,
                               [](const Restore& x, int64_t v) { return x.id < v; });
    if (it == restore.end() || it->id != id) return Status::Ok();
    auto model = detect::RestoreModel(model_options_[it->measure], state);
    if (model.ok()) {
      it->state->model = std::move(model).value();
    } else {
      Log(LogLevel::kWarn, fmt::format("detector '{}': series {}: {}; retraining it", detector_.name,
                                       catalog_.Label(*it->key), model.status().message()));
    }
    return Status::Ok();
  };
  if (snapshot) {
    for (const auto& [id, state] : snapshot->model_states) OSPREY_RETURN_IF_ERROR(restore_one(id, state));
  } else if (!role_.coordinator && !paged_) {
    OSPREY_RETURN_IF_ERROR(store_.ForEachModelState(detector_id_, restore_one));
  }
  for (const Restore& r : restore) {
    if (!r.state->model) {
      OSPREY_ASSIGN_OR_RETURN(r.state->model, detect::CreateModel(model_options_[r.measure]));
    }
  }
  alert_states_.clear();
  std::vector<store::AlertStateRecord> alert_states;
  if (snapshot) {
    alert_states = snapshot->alert_states;
  } else {
    OSPREY_ASSIGN_OR_RETURN(alert_states, store_.LoadAlertStates(detector_id_));
  }
  for (const auto& a : alert_states) {
    auto state = alerts::IncidentState::FromJson(a.state);
    if (!state.ok()) {
      Log(LogLevel::kWarn, fmt::format("detector '{}': alert '{}': {}; starting it afresh", detector_.name,
                                       a.alert, state.status().message()));
      continue;
    }
    alert_states_[a.alert][a.measure] = *state;
  }
  return LoadFeedback();
}

Status DetectorRunner::LoadFeedback() {
  feedback_.clear();
  OSPREY_ASSIGN_OR_RETURN(auto verdicts, store_.ListFeedback(detector_id_));
  for (const auto& f : verdicts) {
    detect::Verdict v;
    v.relevant = f.relevant;
    v.direction = f.direction == "up"     ? detect::Direction::kUp
                  : f.direction == "down" ? detect::Direction::kDown
                                          : detect::Direction::kNone;
    v.deviation = f.value - f.expected;
    feedback_[f.series_id].push_back(v);
  }
  return Status::Ok();
}

void DetectorRunner::EvaluateAlerts(int64_t ts, int64_t end_ts, const std::vector<alerts::GroupView>& groups,
                                    bool emit, store::ChunkResult& chunk) {
  std::vector<std::string> measures;
  for (const auto& m : detector_.measures) measures.push_back(m.name);
  for (const config::Alert& alert : detector_.alerts) {
    if (!alert.on_anomaly) continue;
    auto events =
        alerts::EvaluateInterval(alert, measures, ts, end_ts, groups, alert_states_[alert.name], emit);
    for (const alerts::AlertEvent& e : events) {
      store::OutboxRecord o;
      o.alert = alert.name;
      o.kind = std::string(alerts::EventKindName(e.kind));
      o.measure = e.measure;
      o.group_ts = e.group_ts;
      o.incident_ts = e.incident_ts;
      o.severity = e.severity;
      o.created_at = end_ts;
      chunk.outbox.push_back(std::move(o));
    }
  }
}

void DetectorRunner::EvaluateNoData(int64_t ts, int64_t end_ts, bool no_data, bool emit,
                                    store::ChunkResult& chunk) {
  for (const config::Alert& alert : detector_.alerts) {
    if (alert.no_data_after <= 0) continue;
    auto& states = alert_states_[alert.name];
    auto found = states.find(alerts::kNoDataStateKey);
    if (found == states.end()) {
      if (!no_data) continue;  // nothing to remember
      found = states.emplace(alerts::kNoDataStateKey, alerts::IncidentState{}).first;
    }
    for (const alerts::AlertEvent& e : alerts::EvaluateNoData(alert, ts, no_data, found->second, emit)) {
      store::OutboxRecord o;
      o.alert = alert.name;
      o.kind = std::string(alerts::EventKindName(e.kind));
      o.group_ts = e.group_ts;
      o.incident_ts = e.incident_ts;
      o.created_at = end_ts;
      chunk.outbox.push_back(std::move(o));
    }
  }
}

Result<std::optional<double>> DetectorRunner::LastValue(SeriesState& s, Instant start) {
  if (!s.last_known) {
    // Once per series and process: the newest stored value in the last
    // 1000 intervals before `start`.
    const int64_t to = ToUnixSeconds(start);
    const int64_t from = to - 1000 * detector_.frequency.NominalSeconds();
    OSPREY_ASSIGN_OR_RETURN(auto points, store_.ListPoints(s.id, from, to));
    for (auto it = points.rbegin(); it != points.rend(); ++it) {
      if (it->value) {
        s.last_value = it->value;
        s.last_ts = it->ts;
        break;
      }
    }
    s.last_known = true;
  }
  return s.last_value;
}

Status DetectorRunner::FillMissingLeaves(Instant start, ingest::IntervalLeaves& leaves) {
  // Nothing to fill unless a measure read from the source fills its gaps
  // (spares a walk over every series in each interval).
  if (std::none_of(detector_.measures.begin(), detector_.measures.end(), [](const config::Measure& m) {
        return m.missing != config::MissingPolicy::kSkip && !m.ratio;
      })) {
    return Status::Ok();
  }
  for (auto& [key, s] : series_) {
    if (!key.IsLeaf()) continue;
    const config::Measure& m = detector_.measures[key.measure];
    if (m.missing == config::MissingPolicy::kSkip || m.ratio) continue;
    bool absent = false;
    ingest::Aggregate* aggs = leaves.leaves.Add(key.values.data(), &absent);
    const size_t source_index = static_cast<size_t>(
        std::find(source_measure_.begin(), source_measure_.end(), key.measure) - source_measure_.begin());
    ingest::Aggregate& a = aggs[source_index];
    if (a.count > 0) continue;
    // A row without a value still counts 0 for COUNT: only an absent leaf
    // is filled there.
    if (m.aggregation == config::Aggregation::kCount && !absent) continue;
    std::optional<double> v = 0.0;
    if (m.missing == config::MissingPolicy::kPrevious) {
      OSPREY_ASSIGN_OR_RETURN(v, LastValue(s, start));
    }
    if (!v) continue;  // no earlier value to repeat: missing
    if (m.aggregation == config::Aggregation::kCount) {
      a.count = *v;
    } else {
      a.Add(*v);
    }
  }
  return Status::Ok();
}

Status DetectorRunner::MarkRollupsMissing(Instant start, std::vector<ingest::SeriesPoint>& points) {
  const size_t nd = detector_.dimensions.size();
  if (nd == 0) return Status::Ok();
  const int depth = detector_.rollup_depth < 0 ? static_cast<int>(nd) : detector_.rollup_depth;
  auto find = [&](const ingest::SeriesKey& key) -> ingest::SeriesPoint* {
    auto it =
        std::lower_bound(points.begin(), points.end(), key,
                         [](const ingest::SeriesPoint& p, const ingest::SeriesKey& k) { return p.key < k; });
    return it != points.end() && it->key == key ? &*it : nullptr;
  };
  const int64_t recent = ToUnixSeconds(start) - kMissingLeafIntervals * detector_.frequency.NominalSeconds();
  // The last values of the missing leaves each present roll-up covers.
  std::map<ingest::SeriesPoint*, double> missing;
  // series_ and points are both sorted by key: a cursor finds each leaf's
  // point without a search.
  size_t cursor = 0;
  Order();
  // The leaves' keys are in the series map's nodes: prefetched kAhead ahead.
  for (size_t j = 0; j < skip_leaves_.size(); ++j) {
    if (j + 2 * kAhead < skip_leaves_.size()) __builtin_prefetch(skip_leaves_[j + 2 * kAhead].first);
    if (j + kAhead < skip_leaves_.size()) __builtin_prefetch(skip_leaves_[j + kAhead].first->values.data());
    const ingest::SeriesKey& key = *skip_leaves_[j].first;
    SeriesState& s = *skip_leaves_[j].second;
    while (cursor < points.size() && points[cursor].key < key) ++cursor;
    const ingest::SeriesPoint* leaf =
        cursor < points.size() && points[cursor].key == key ? &points[cursor] : nullptr;
    if (leaf && leaf->value) continue;
    OSPREY_ASSIGN_OR_RETURN(std::optional<double> last, LastValue(s, start));
    if (!last || *last == 0 || s.last_ts < recent) continue;
    // The roll-ups over the leaf: each non-empty subset of its dimensions
    // replaced by ALL, within rollup_depth.
    for (uint32_t mask = 1; mask < (1u << nd); ++mask) {
      if (std::popcount(mask) > depth) continue;
      ingest::SeriesKey up = key;
      for (size_t d = 0; d < nd; ++d) {
        if (mask & (1u << d)) up.values[d] = ingest::kAll;
      }
      ingest::SeriesPoint* p = find(up);
      if (p && p->value) missing[p] += std::abs(*last);
    }
  }
  for (auto& [p, lost] : missing) {
    if (lost / (lost + std::abs(*p->value)) > kMaxMissingRollupShare) p->value.reset();
  }
  return Status::Ok();
}

Result<bool> DetectorRunner::SourceHasRows(Instant from, Instant to) {
  FirstRow probe;
  Status q = source_.Query({from, to}, probe);
  if (probe.found) return true;
  if (!q.ok()) {
    return q.WithContext(fmt::format("detector '{}', looking for rows in [{}, {})", detector_.name,
                                     FormatIso(from), FormatIso(to)));
  }
  return false;
}

DetectorRunner::Warmup DetectorRunner::OwnWarmup() const {
  if (paged_) return paged_warmup_;  // as of the last chunk (ScorePaged)
  Warmup out;
  for (const auto& [key, s] : series_) {
    if (s.model) AddWarmup(*s.model, out);  // no model: another shard's series
  }
  return out;
}

std::string DetectorRunner::WarmupJson(int64_t ts) const {
  Warmup w;
  if (role_.coordinator) {
    if (auto it = shard_warmup_.find(ts); it != shard_warmup_.end()) w = it->second;
  } else {
    w = OwnWarmup();
  }
  return json{
      {"series", series_.size()}, {"series_warming", w.warming}, {"seen", w.seen}, {"needed", w.needed}}
      .dump();
}

Status DetectorRunner::CreateSeries(const std::vector<ingest::SeriesPoint>& points,
                                    std::vector<SeriesState*>& states) {
  std::vector<size_t> fresh;
  std::vector<store::SeriesRecord> records;
  for (size_t i = 0; i < points.size(); ++i) {
    if (states[i]) continue;
    const ingest::SeriesKey& key = points[i].key;
    fresh.push_back(i);
    records.push_back({0, catalog_.MeasureName(key.measure), catalog_.DimsJson(key), catalog_.Label(key)});
  }
  if (fresh.empty()) return Status::Ok();
  OSPREY_RETURN_IF_ERROR(store_.EnsureSeriesMany(detector_id_, records));
  for (size_t k = 0; k < fresh.size(); ++k) {
    const ingest::SeriesKey& key = points[fresh[k]].key;
    SeriesState s;
    s.id = records[k].id;
    s.owned = Owns(key);  // its model is created when it is first scored
    s.created = true;
    s.last_known = true;  // no stored value before now
    states[fresh[k]] = &series_.emplace(key, std::move(s)).first->second;
  }
  ordered_.clear();  // Order() rebuilds them
  skip_leaves_.clear();
  return Status::Ok();
}

void DetectorRunner::Order() {
  if (ordered_.size() == series_.size()) return;
  ordered_.clear();
  skip_leaves_.clear();
  ordered_.reserve(series_.size());
  for (auto& [key, s] : series_) {
    ordered_.emplace_back(&key, &s);
    const config::Measure& m = detector_.measures[key.measure];
    if (key.IsLeaf() && m.missing == config::MissingPolicy::kSkip && !m.ratio && Additive(m.aggregation)) {
      skip_leaves_.emplace_back(&key, &s);
    }
  }
}

Result<std::optional<double>> DetectorRunner::ValueBack(SeriesState& s, Instant start, int intervals) {
  const int64_t ts = ToUnixSeconds(start);
  // The interval compared with: the same local time whole days back when
  // `intervals` make whole days, else that many intervals back.
  const std::optional<Instant> lag = grid_.SeasonalLag(start, std::max(intervals, 1));
  if (!lag) return std::optional<double>();  // that local time did not exist
  const int64_t back = ToUnixSeconds(*lag);
  if (s.history_next == ts) {
    while (!s.history.empty() && s.history.front().first < back) s.history.pop_front();
  }
  if (s.history_next != ts || s.history.empty() || s.history.front().first != back) {
    // The stored points are the values of every processed interval, so
    // they are the history (none for a series new in this interval).
    std::vector<store::PointRecord> points;
    if (!s.created || s.history_next != 0) {
      OSPREY_ASSIGN_OR_RETURN(points, store_.ListPoints(s.id, back, ts));
    }
    std::map<int64_t, std::optional<double>> by_ts;
    for (const auto& p : points) by_ts[p.ts] = p.value;
    s.history.clear();
    for (Instant t : grid_.Starts(FromUnixSeconds(back), start)) {
      auto it = by_ts.find(ToUnixSeconds(t));
      s.history.emplace_back(ToUnixSeconds(t), it == by_ts.end() ? std::nullopt : it->second);
    }
    s.history_next = ts;
  }
  return s.history.empty() ? std::nullopt : s.history.front().second;
}

Result<std::optional<double>> DetectorRunner::RuleLookBack(SeriesState& s, uint32_t measure, Instant start,
                                                           std::optional<double> value) {
  const MeasureRules& mr = rules_[measure];
  if (!mr.active || !mr.options.change_percent) return std::optional<double>();
  OSPREY_ASSIGN_OR_RETURN(std::optional<double> previous, ValueBack(s, start, mr.options.change_intervals));
  s.history.emplace_back(ToUnixSeconds(start), value);
  s.history_next = ToUnixSeconds(grid_.Next(start));
  return previous;
}

Result<std::optional<Instant>> DetectorRunner::Watermark() {
  if (role_.shards > 1 && !role_.coordinator) {
    OSPREY_ASSIGN_OR_RETURN(auto shards, store_.ShardWatermarks(detector_id_, role_.shards));
    auto it = shards.find(role_.shard);
    if (it == shards.end()) return std::optional<Instant>();
    return std::optional<Instant>(FromUnixSeconds(it->second));
  }
  OSPREY_ASSIGN_OR_RETURN(auto wm, store_.GetWatermark(detector_id_));
  if (!wm) return std::optional<Instant>();
  return std::optional<Instant>(FromUnixSeconds(*wm));
}

Status DetectorRunner::ResetFrom(Instant from) {
  OSPREY_RETURN_IF_ERROR(store_.ResetFrom(detector_id_, ToUnixSeconds(from)));
  return LoadState();
}

Status DetectorRunner::RestoreSnapshot(Instant ts) {
  OSPREY_ASSIGN_OR_RETURN(store::SnapshotRecord snap, store_.LoadSnapshot(detector_id_, ToUnixSeconds(ts)));
  return LoadState(&snap);
}

Result<store::SnapshotRecord> DetectorRunner::TakeSnapshot(Instant ts) const {
  store::SnapshotRecord snap;
  snap.ts = ToUnixSeconds(ts);
  if (paged_) {
    // The models are the store's (saved with the chunk before `ts`).
    std::set<int64_t> owned;
    for (const auto& [key, s] : series_) {
      if (s.owned) owned.insert(s.id);
    }
    OSPREY_RETURN_IF_ERROR(store_.ForEachModelState(detector_id_, [&](int64_t id, std::string_view state) {
      if (owned.count(id)) snap.model_states.emplace_hint(snap.model_states.end(), id, state);
      return Status::Ok();
    }));
  } else {
    for (const auto& [key, s] : series_) {
      if (s.model) snap.model_states[s.id] = s.model->SaveState();
    }
  }
  snap.alert_states = AlertStateRecords();
  return snap;
}

Status DetectorRunner::Run(Instant from, Instant to, const RunOptions& options, RunStats* stats) {
  RunStats local;
  RunStats& st = stats ? *stats : local;
  Instant start = grid_.Floor(from);
  if (start < from) start = grid_.Next(start);
  OSPREY_RETURN_IF_ERROR(LoadFeedback());
  if (start < to) OSPREY_RETURN_IF_ERROR(LoadRuleHistory(start));
  // Series points scored since the last resume point
  // (RunOptions::resume_point_series_points).
  int64_t unsaved = 0;
  // A chunk's commit runs on another thread while this one reads the next
  // chunk from the source (the store is that thread's until it is joined,
  // right after the query; the source and the catalog are this one's). A
  // paged runner's commit scores the chunk and runs here.
  struct Committing {
    store::ChunkResult result;
    Instant end;
    Status status;
    std::thread thread;
  };
  std::unique_ptr<Committing> committing;
  // The points of the chunk committed last, emptied, for the next chunk to
  // fill: a chunk's points are up to kChunkSeriesPoints records (190 MB),
  // and fresh memory for them was the kernel's to map and clear every chunk.
  std::vector<store::PointRecord> spare_points;
  auto committed = [&](store::ChunkResult& result, Instant end) {
    st.groups += static_cast<int64_t>(result.groups.size());
    st.anomalies += static_cast<int64_t>(result.anomalies.size());
    st.alerts += static_cast<int64_t>(result.outbox.size());
    spare_points = std::move(result.points);
    spare_points.clear();
    if (options.progress) options.progress(end, st);
  };
  auto join = [&]() -> Status {
    if (!committing) return Status::Ok();
    committing->thread.join();
    std::unique_ptr<Committing> done = std::move(committing);
    OSPREY_RETURN_IF_ERROR(done->status);
    committed(done->result, done->end);
    return Status::Ok();
  };
  // (Joined on every way out; an error of its own is then lost to the
  // error being returned.)
  struct JoinOnExit {
    std::unique_ptr<Committing>& c;
    ~JoinOnExit() {
      if (c) c->thread.join();
    }
  } join_on_exit{committing};
  while (start < to) {
    // A chunk holds every series' points of its intervals in memory (rows,
    // aggregates, results) until it commits: at most kChunkSeriesPoints of
    // them, so memory does not grow with series x chunk. A detector with no
    // series yet reads one interval first to learn how many it has.
    int64_t chunk = std::max<int64_t>(options.chunk_intervals, 1);
    const int64_t series = static_cast<int64_t>(series_.size());
    chunk = std::min(chunk, series == 0 ? 1 : std::max<int64_t>(kChunkSeriesPoints / series, 1));
    // A snapshot before an interval holds the models as the interval
    // before left them: a paged runner has them only once it is committed.
    if (paged_ && options.snapshot_from) chunk = 1;
    Instant end = ChunkEnd(start, chunk, to);
    ingest::Aggregator agg(source_detector_, grid_, catalog_, start, end);
    Status q = source_.Query({start, end}, agg);
    OSPREY_RETURN_IF_ERROR(join());  // the chunk before is committed
    // A paged runner writes its models with every chunk (they are not in
    // memory to be written later), so every chunk is a resume point.
    const bool defer_resume =
        options.resume_point_series_points > 0 && !options.alerts_enabled && role_.shards <= 1 && !paged_;
    OSPREY_RETURN_IF_ERROR(LoadLastGroups(start));
    if (!q.ok()) {
      return q.WithContext(
          fmt::format("detector '{}', intervals [{}, {})", detector_.name, FormatIso(start), FormatIso(end)));
    }
    bool last_chunk = false;
    if (options.stop_at_data_end) {
      std::optional<Instant> last;  // the chunk's last interval with rows
      for (const auto& [t, l] : agg.intervals()) {
        if (l.quality.rows_read > 0) last = t;
      }
      const Instant cut = last ? grid_.Next(*last) : start;
      bool more = false;
      if (cut < end && end < to) {
        OSPREY_ASSIGN_OR_RETURN(more, SourceHasRows(end, to));
      }
      if (cut < end && !more) {
        // The source has no rows from `cut` on: the data ends there.
        st.data_end = cut;
        if (cut == start) {
          if (unsaved > 0) OSPREY_RETURN_IF_ERROR(SaveResumePoint(start));
          break;
        }
        for (auto it = agg.intervals().lower_bound(cut); it != agg.intervals().end();) {
          it = agg.intervals().erase(it);
        }
        end = cut;
        last_chunk = true;
      }
    }
    store::ChunkResult result;
    result.detector_id = detector_id_;
    result.first_ts = ToUnixSeconds(start);
    result.next_watermark = ToUnixSeconds(end);
    if (options.prune_snapshots_before) {
      result.prune_snapshots_before = ToUnixSeconds(*options.prune_snapshots_before);
    }
    // Every known series has a point in every interval: room for them all
    // up front instead of growing (and copying) the chunk's largest vector.
    const bool shard = role_.shards > 1 && !role_.coordinator;
    if (role_.coordinator) {
      OSPREY_RETURN_IF_ERROR(LoadShardScores(start, end));
      result.drop_shard_scores = true;
      result.seal_series.emplace();  // the shards write (and seal) the points
    } else {
      const size_t need = series_.size() * agg.intervals().size();
      // (Not a much larger one: a run's short last chunk holds its points
      // while the models' states are written.)
      if (spare_points.capacity() <= 2 * need) result.points = std::move(spare_points);
      std::vector<store::PointRecord>().swap(spare_points);
      result.points.reserve(need);
    }
    // A runner whose models are all in memory scores each interval as it
    // comes; a paged one prepares them all and scores them in the commit.
    // A runner without models yet (a new detector) that reaches
    // kResidentModels series with its first interval is paged from there.
    std::vector<IntervalWork> works;
    works.reserve(agg.intervals().size());
    for (auto& [interval_start, leaves] : agg.intervals()) {
      if (options.snapshot_from && interval_start >= *options.snapshot_from) {
        OSPREY_ASSIGN_OR_RETURN(store::SnapshotRecord snap, TakeSnapshot(interval_start));
        result.snapshots.push_back(std::move(snap));
      }
      IntervalWork& w = works.emplace_back();
      OSPREY_RETURN_IF_ERROR(PrepareInterval(interval_start, leaves, w));
      leaves.leaves.Release();  // the interval's points are in w now
      if (!paged_ && CanPage() && static_cast<int64_t>(series_.size()) >= resident_models_ &&
          std::none_of(series_.begin(), series_.end(),
                       [](const auto& o) { return o.second.model != nullptr; })) {
        paged_ = true;
      }
      if (paged_) continue;
      OSPREY_RETURN_IF_ERROR(ScoreResident(w));
      OSPREY_RETURN_IF_ERROR(FinishInterval(w, result, st, options.alerts_enabled));
      works.pop_back();
    }
    // What completes the chunk once its intervals are scored.
    bool page_out = false;
    auto complete = [&]() -> Status {
      for (IntervalWork& w : works)
        OSPREY_RETURN_IF_ERROR(FinishInterval(w, result, st, options.alerts_enabled));
      unsaved += static_cast<int64_t>(series_.size() * agg.intervals().size());
      // A runner that has grown to kResidentModels series saves its models
      // with this chunk and is paged from the next one on.
      page_out = !paged_ && CanPage() && static_cast<int64_t>(series_.size()) >= resident_models_;
      result.resume_point = !defer_resume || last_chunk || end >= to || page_out ||
                            unsaved >= options.resume_point_series_points;
      if (result.resume_point) {
        // (A paged runner's models were written as they were scored.)
        if (!paged_) result.write_model_states = ModelStateWriter();
        unsaved = 0;
      }
      if (shard) {
        result.shard = role_.shard;
        result.shards = role_.shards;
        std::vector<int64_t>& own = result.seal_series.emplace();
        for (const auto& [key, s] : series_) {
          if (s.owned) own.push_back(s.id);
        }
        std::sort(own.begin(), own.end());
      } else if (result.resume_point) {
        result.alert_states = AlertStateRecords();
      }
      if (!result.quality.empty()) {
        // The models' warm-up as of the chunk's end, for status displays.
        json details = json::parse(result.quality.back().details);
        details["warmup"] = json::parse(WarmupJson(result.quality.back().ts));
        result.quality.back().details = details.dump();
      }
      return Status::Ok();
    };
    if (paged_) {
      auto score = [&](store::Store::ModelStateAccess& io) -> Status {
        OSPREY_RETURN_IF_ERROR(ScorePaged(works, io));
        return complete();
      };
      OSPREY_RETURN_IF_ERROR(store_.CommitScoredChunk(result, score));
      committed(result, end);
    } else {
      OSPREY_RETURN_IF_ERROR(complete());
      if (page_out) {
        OSPREY_RETURN_IF_ERROR(store_.CommitChunk(result));
        committed(result, end);
        paged_warmup_ = OwnWarmup();
        paged_ = true;
        for (auto& [key, s] : series_) s.model.reset();
      } else {
        committing = std::make_unique<Committing>();
        committing->result = std::move(result);
        committing->end = end;
        Committing* c = committing.get();
        c->thread = std::thread([this, c] { c->status = store_.CommitChunk(c->result); });
      }
    }
    start = end;
    if (last_chunk) break;
  }
  return join();
}

Instant DetectorRunner::ChunkEnd(Instant start, int64_t chunk, Instant to) const {
  // The interval starts up to a third past `chunk` intervals; of those
  // that start a span of point blocks, the last one up to `chunk` and the
  // first one after it.
  const int64_t reach = chunk + chunk / 3;
  Instant end = start, at_chunk = start;
  std::optional<Instant> span_before, span_after;
  int64_t before = 0;
  for (int64_t i = 1; i <= reach && end < to; ++i) {
    end = grid_.Next(end);
    if (i <= chunk) at_chunk = end;
    if (ToUnixSeconds(end) % store::kPointBlockSpan != 0) continue;
    if (i <= chunk) {
      span_before = end;
      before = i;
    } else if (!span_after) {
      span_after = end;
    }
  }
  if (span_before && before > chunk / 2) return *span_before;
  if (span_after) return *span_after;
  return at_chunk;
}

std::function<Status(const std::function<Status(int64_t, std::string_view)>&)>
DetectorRunner::ModelStateWriter() {
  return [this](const std::function<Status(int64_t, std::string_view)>& write) {
    std::vector<std::pair<int64_t, const detect::Model*>> models;
    models.reserve(series_.size());
    for (const auto& [key, s] : series_) {
      if (s.model) models.emplace_back(s.id, s.model.get());
    }
    std::sort(models.begin(), models.end());
    for (const auto& [id, model] : models) OSPREY_RETURN_IF_ERROR(write(id, model->SaveState()));
    return Status::Ok();
  };
}

Status DetectorRunner::SaveResumePoint(Instant at) {
  store::ChunkResult result;
  result.detector_id = detector_id_;
  result.first_ts = result.next_watermark = ToUnixSeconds(at);
  result.write_model_states = ModelStateWriter();
  result.alert_states = AlertStateRecords();
  return store_.CommitChunk(result);
}

std::vector<store::AlertStateRecord> DetectorRunner::AlertStateRecords() const {
  std::vector<store::AlertStateRecord> out;
  for (const auto& [alert, measures] : alert_states_) {
    for (const auto& [measure, state] : measures) out.push_back({alert, measure, state.ToJson()});
  }
  return out;
}

Status DetectorRunner::LoadShardScores(Instant from, Instant to) {
  shard_scores_.clear();
  shard_warmup_.clear();
  OSPREY_ASSIGN_OR_RETURN(auto records,
                          store_.LoadShardScores(detector_id_, ToUnixSeconds(from), ToUnixSeconds(to)));
  std::map<int64_t, int64_t> shards_seen;  // interval -> shards with scores
  for (const store::ShardScoresRecord& r : records) {
    auto corrupt = [&] {
      return DataLoss(fmt::format("detector '{}': the scores of shard {} at {} are corrupt", detector_.name,
                                  r.shard, FormatIso(FromUnixSeconds(r.ts))));
    };
    std::string_view in = r.data;
    Warmup w;
    if (!Get(in, &w.warming) || !Get(in, &w.seen) || !Get(in, &w.needed)) return corrupt();
    if (w.warming > 0 && w.needed > 0) w.least = static_cast<double>(w.seen) / static_cast<double>(w.needed);
    Warmup& all = shard_warmup_[r.ts];
    all.warming += w.warming;
    if (w.warming > 0 && w.least < all.least) {
      all.least = w.least;
      all.seen = w.seen;
      all.needed = w.needed;
    }
    auto& scores = shard_scores_[r.ts];
    while (!in.empty()) {
      int64_t id = 0;
      detect::Score sc;
      uint8_t direction = 0, explanation = 0;
      if (!Get(in, &id) || !Get(in, &sc.expected) || !Get(in, &sc.lower) || !Get(in, &sc.upper) ||
          !Get(in, &sc.severity) || !Get(in, &direction) || !Get(in, &explanation)) {
        return corrupt();
      }
      sc.ready = true;
      sc.direction = static_cast<detect::Direction>(direction);
      sc.explanation = static_cast<detect::Explanation>(explanation);
      scores[id] = sc;
    }
    ++shards_seen[r.ts];
  }
  // Grouping an interval before every shard has scored it would lose the
  // anomalies of the missing shard: the caller runs only up to the shards'
  // watermarks, so a gap here is an error, not something to skip.
  for (Instant t = from; t < to; t = grid_.Next(t)) {
    if (shards_seen[ToUnixSeconds(t)] != role_.shards) {
      return Internal(fmt::format("detector '{}': {} of {} shards have scores for {}", detector_.name,
                                  shards_seen[ToUnixSeconds(t)], role_.shards, FormatIso(t)));
    }
  }
  return Status::Ok();
}

Status DetectorRunner::LoadRuleHistory(Instant start) {
  int longest = 0;
  for (const MeasureRules& mr : rules_) {
    if (mr.active && mr.options.change_percent) longest = std::max({longest, mr.options.change_intervals, 1});
  }
  if (longest == 0 || series_.empty() || role_.coordinator) return Status::Ok();
  // The longest look-back covers every measure's; ValueBack drops what a
  // measure does not need.
  const std::optional<Instant> lag = grid_.SeasonalLag(start, longest);
  if (!lag) return Status::Ok();  // ValueBack reads it series by series
  const int64_t ts = ToUnixSeconds(start);
  std::vector<int64_t> starts;
  for (Instant t : grid_.Starts(*lag, start)) starts.push_back(ToUnixSeconds(t));
  std::unordered_map<int64_t, SeriesState*> by_id;
  for (auto& [key, s] : series_) {
    const MeasureRules& mr = rules_[key.measure];
    if (!mr.active || !mr.options.change_percent || !s.owned) continue;
    s.history.clear();
    for (int64_t t : starts) s.history.emplace_back(t, std::nullopt);
    s.history_next = ts;
    by_id[s.id] = &s;
  }
  store::ScoredPointQuery q;
  q.detector_id = detector_id_;
  q.with_unscored = true;
  q.since = ToUnixSeconds(*lag);
  q.until = ts;
  return store_.ForEachScoredPoint(q, [&](const store::PointRecord& p) {
    auto s = by_id.find(p.series_id);
    auto at = std::lower_bound(starts.begin(), starts.end(), p.ts);
    if (s != by_id.end() && at != starts.end() && *at == p.ts) {
      s->second->history[static_cast<size_t>(at - starts.begin())].second = p.value;
    }
    return Status::Ok();
  });
}

Status DetectorRunner::LoadLastGroups(Instant start) {
  if (role_.shards > 1 && !role_.coordinator) return Status::Ok();  // a shard does not group
  // Incidents continue across chunks and restarts: learn which measures had a
  // group in the interval before `start` unless this runner saw it itself.
  const int64_t prev_ts = ToUnixSeconds(grid_.Prev(start));
  for (uint32_t m = 0; m < detector_.measures.size(); ++m) {
    auto it = last_group_.find(m);
    if (it != last_group_.end() && it->second.ts == prev_ts) continue;
    store::GroupQuery q;
    q.detector = detector_.name;
    q.measure = detector_.measures[m].name;
    q.since = prev_ts;
    q.until = prev_ts + 1;
    q.limit = 1;
    OSPREY_ASSIGN_OR_RETURN(auto groups, store_.ListGroups(q));
    if (groups.empty()) {
      last_group_.erase(m);
    } else {
      last_group_[m] = rca::LastGroup{prev_ts, groups[0].incident_ts};
    }
  }
  return Status::Ok();
}

Result<std::vector<ingest::SeriesPoint>> DetectorRunner::BuildPoints(Instant start,
                                                                     ingest::IntervalLeaves& leaves) {
  OSPREY_RETURN_IF_ERROR(FillMissingLeaves(start, leaves));
  std::vector<ingest::SeriesPoint> points =
      ingest::RollUp(source_detector_, leaves, detector_.dimensions.size());
  // Measure positions from the source's to the detector's (an increasing
  // map, so the points stay sorted).
  for (auto& p : points) p.key.measure = source_measure_[p.key.measure];
  OSPREY_RETURN_IF_ERROR(MarkRollupsMissing(start, points));
  if (ratios_.empty()) return points;
  // A ratio's point in every series its sides have: SUM(numerator) /
  // SUM(denominator), missing when either is missing or the denominator is 0.
  std::map<std::pair<uint32_t, ingest::DimValues>, std::optional<double>> by_key;
  for (const auto& p : points) by_key[{p.key.measure, p.key.values}] = p.value;
  const size_t n = points.size();
  for (const RatioMeasure& r : ratios_) {
    for (size_t i = 0; i < n; ++i) {
      if (points[i].key.measure != r.numerator) continue;
      auto den = by_key.find({r.denominator, points[i].key.values});
      std::optional<double> value;
      if (points[i].value && den != by_key.end() && den->second && *den->second != 0) {
        value = *points[i].value / *den->second;
      }
      points.push_back({ingest::SeriesKey{r.measure, points[i].key.values}, value});
    }
  }
  std::sort(points.begin(), points.end(),
            [](const ingest::SeriesPoint& a, const ingest::SeriesPoint& b) { return a.key < b.key; });
  return points;
}

std::vector<rca::Leaf> DetectorRunner::GroupLeaves(uint32_t m, const std::vector<Scored>& scored) const {
  const size_t nd = detector_.dimensions.size();
  const RatioMeasure* ratio = nullptr;
  for (const RatioMeasure& r : ratios_) {
    if (r.measure == m) ratio = &r;
  }
  // A ratio's sides by leaf, with their own forecasts.
  std::map<std::pair<uint32_t, ingest::DimValues>, const Scored*> sides;
  if (ratio) {
    for (const Scored& s : scored) {
      const uint32_t sm = s.point->key.measure;
      if ((sm == ratio->numerator || sm == ratio->denominator) && s.point->key.IsLeaf()) {
        sides[{sm, s.point->key.values}] = &s;
      }
    }
  }
  std::vector<rca::Leaf> leaves;
  for (const Scored& s : scored) {
    if (s.point->key.measure != m || !s.point->key.IsLeaf() || !s.point->value) continue;
    rca::Leaf leaf;
    for (size_t d = 0; d < nd; ++d) leaf.values.push_back(catalog_.Value(d, s.point->key.values[d]));
    leaf.actual = *s.point->value;
    leaf.expected = s.score.ready ? s.score.expected : leaf.actual;
    // The band is four of the model's noise scales on each side.
    leaf.noise = s.score.ready ? (s.score.upper - s.score.lower) / 8 : 0;
    if (ratio) {
      auto num = sides.find({ratio->numerator, s.point->key.values});
      auto den = sides.find({ratio->denominator, s.point->key.values});
      if (num == sides.end() || den == sides.end()) continue;  // cannot happen: a ratio has both sides
      auto forecast = [](const Scored& x) { return x.score.ready ? x.score.expected : *x.point->value; };
      leaf.ratio = rca::RatioSides{detector_.measures[ratio->numerator].name,
                                   detector_.measures[ratio->denominator].name,
                                   *num->second->point->value,
                                   forecast(*num->second),
                                   *den->second->point->value,
                                   forecast(*den->second)};
    }
    leaves.push_back(std::move(leaf));
  }
  return leaves;
}

Status DetectorRunner::PrepareInterval(Instant start, ingest::IntervalLeaves& leaves, IntervalWork& w) {
  w.start = start;
  w.leaves = &leaves;
  // No rows at all: the feed is out ("no data"), not every series at 0 —
  // unless every measure says absence means zero.
  const bool all_zero = std::all_of(
      detector_.measures.begin(), detector_.measures.end(),
      [](const config::Measure& m) { return m.ratio || m.missing == config::MissingPolicy::kZero; });
  w.no_data = leaves.quality.rows_read == 0 && !all_zero;
  std::vector<ingest::SeriesPoint>& points = w.points;
  if (!w.no_data) {
    OSPREY_ASSIGN_OR_RETURN(points, BuildPoints(start, leaves));
  }
  // Series seen before but without a point now are missing (stored as such).
  // The same walk over the (sorted) points and series finds each point's
  // series state, so scoring needs no lookup by key.
  std::vector<SeriesState*>& states = w.states;
  states.assign(points.size(), nullptr);
  {
    size_t i = 0;
    std::vector<ingest::SeriesPoint> absent;
    std::vector<SeriesState*> absent_states;
    Order();
    for (size_t j = 0; j < ordered_.size(); ++j) {
      // The keys live in the series map's nodes, scattered in memory: ask
      // for the ones a few steps ahead while comparing this one.
      if (j + kAhead < ordered_.size()) {
        const ingest::SeriesKey* ahead = ordered_[j + kAhead].first;
        __builtin_prefetch(ahead);
        if (j + 2 * kAhead < ordered_.size()) __builtin_prefetch(ordered_[j + 2 * kAhead].first);
        __builtin_prefetch(ahead->values.data());
      }
      const ingest::SeriesKey* key = ordered_[j].first;
      SeriesState* s = ordered_[j].second;
      while (i < points.size() && points[i].key < *key) ++i;
      if (i < points.size() && points[i].key == *key) {
        states[i] = s;
        continue;
      }
      absent.push_back({*key, std::nullopt});
      absent_states.push_back(s);
    }
    points.insert(points.end(), absent.begin(), absent.end());
    states.insert(states.end(), absent_states.begin(), absent_states.end());
  }
  // The series new in this interval, created together.
  OSPREY_RETURN_IF_ERROR(CreateSeries(points, states));
  w.series_missing =
      std::count_if(points.begin(), points.end(), [](const ingest::SeriesPoint& p) { return !p.value; });
  w.series_seen = static_cast<int64_t>(points.size()) - w.series_missing;
  const int64_t ts = w.ts = ToUnixSeconds(start);
  w.local = detector_.timezone.ToLocal(start);
  w.end_ts = ToUnixSeconds(grid_.Next(start));

  // Every series' point, to score through its model and the measure's rules.
  std::vector<Scored>& scored = w.scored;
  scored.reserve(points.size());
  // The denominators of ratio points, from the denominator's point of the
  // same series.
  std::map<std::pair<uint32_t, ingest::DimValues>, double> denominators;
  for (const RatioMeasure& r : ratios_) {
    for (const auto& p : points) {
      if (p.key.measure == r.denominator && p.value) denominators[{r.measure, p.key.values}] = *p.value;
    }
  }
  // The events this interval overlaps; each series gets the one whose scope
  // it is in (docs/configuration.md, "events").
  w.events = calendar_.Overlapping(start, FromUnixSeconds(w.end_ts));
  const std::vector<detect::EventOccurrence>& events = w.events;
  for (size_t i = 0; i < points.size(); ++i) {
    // Each point's series state is somewhere else in memory: fetch those of
    // the points a few steps ahead while this one is looked at.
    if (i + kAhead < points.size() && states[i + kAhead]) {
      const char* state = reinterpret_cast<const char*>(states[i + kAhead]);
      __builtin_prefetch(state);
      __builtin_prefetch(state + sizeof(SeriesState) - 1);  // it spans cache lines
    }
    const ingest::SeriesPoint& p = points[i];
    SeriesState* s = states[i];
    const detect::EventOccurrence* event = nullptr;
    if (!events.empty()) {
      auto value_of = [&](size_t d) -> std::optional<std::string_view> {
        if (p.key.values[d] == ingest::kAll) return std::nullopt;
        return catalog_.Value(d, p.key.values[d]);
      };
      event = detect::EventCalendar::Choose(
          events, [&](const detect::CalendarEvent& e) { return detect::InScope(e, value_of); });
    }
    std::optional<double> denominator;
    if (auto den = denominators.find({p.key.measure, p.key.values}); den != denominators.end()) {
      denominator = den->second;
    } else if (detector_.measures[p.key.measure].weight) {
      // A weighted mean is a ratio of sums over its weights: the model
      // judges it as one while it is a proportion (an error-rate column).
      denominator = p.rows;
    }
    detect::Score sc;
    if (role_.coordinator) {
      // The score the series' shard stored (none: not ready).
      const auto& stored = shard_scores_[ts];
      if (auto it = stored.find(s->id); it != stored.end()) sc = it->second;
      if (!p.value) sc = detect::Score{};
    } else if (s->owned) {
      OSPREY_ASSIGN_OR_RETURN(std::optional<double> previous,
                              RuleLookBack(*s, p.key.measure, start, p.value));
      w.to_score.push_back({i, event, previous});
    }
    if (p.value) {
      s->last_value = p.value;
      s->last_ts = ts;
      s->last_known = true;
    }
    scored.push_back({&p, s->id, sc, denominator});
  }
  return Status::Ok();
}

void DetectorRunner::AddWarmup(const detect::Model& model, Warmup& w) {
  const detect::WarmupStatus status = model.Warmup();
  if (status.ready()) return;
  ++w.warming;
  const double share = static_cast<double>(status.seen) / static_cast<double>(status.needed);
  if (share < w.least) {
    w.least = share;
    w.seen = status.seen;
    w.needed = status.needed;
  }
}

Status DetectorRunner::ScoreResident(IntervalWork& w) {
  for (size_t k = 0; k < w.to_score.size(); ++k) {
    // Each point's series state and model are somewhere else in memory:
    // fetch those of the points a few steps ahead while this one is scored.
    if (k + 2 * kAhead < w.to_score.size()) {
      const char* state = reinterpret_cast<const char*>(w.states[w.to_score[k + 2 * kAhead].index]);
      __builtin_prefetch(state);
      __builtin_prefetch(state + sizeof(SeriesState) - 1);  // it spans cache lines
    }
    if (k + kAhead < w.to_score.size()) {
      const SeriesState* ahead = w.states[w.to_score[k + kAhead].index];
      if (ahead->model) {
        const char* model = reinterpret_cast<const char*>(ahead->model.get());
        for (int line = 0; line < 4; ++line) __builtin_prefetch(model + 64 * line);
      }
    }
    const ToScore& t = w.to_score[k];
    SeriesState& s = *w.states[t.index];
    if (!s.model) {
      OSPREY_ASSIGN_OR_RETURN(s.model, detect::CreateModel(model_options_[w.points[t.index].key.measure]));
    }
    w.scored[t.index].score = ScoreWith(*s.model, w, t);
  }
  return Status::Ok();
}

Status DetectorRunner::ScorePaged(std::vector<IntervalWork>& works, store::Store::ModelStateAccess& io) {
  // Every point to score, by series id and then time (the works are in time
  // order, and a stable sort keeps it).
  struct Item {
    int64_t id;
    uint32_t work;
    uint32_t k;  // in the work's to_score
  };
  std::vector<Item> items;
  size_t total = 0;
  for (const IntervalWork& w : works) total += w.to_score.size();
  items.reserve(total);
  for (uint32_t wi = 0; wi < works.size(); ++wi) {
    const IntervalWork& w = works[wi];
    for (uint32_t k = 0; k < w.to_score.size(); ++k) {
      items.push_back({w.states[w.to_score[k].index]->id, wi, k});
    }
  }
  std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) { return a.id < b.id; });
  for (IntervalWork& w : works) w.warmup = Warmup{};
  // The warm-up's least advanced series is the first in key order among
  // equals (OwnWarmup walks the series by key): its key per interval.
  std::vector<const ingest::SeriesKey*> least_key(works.size(), nullptr);
  // The blocks: items [bounds[k], bounds[k + 1]), up to paged_block_ series.
  std::vector<size_t> bounds = {0};
  for (size_t i = 0, in_block = 0; i < items.size(); ++i) {
    if (i > 0 && items[i].id != items[i - 1].id && ++in_block == paged_block_) {
      bounds.push_back(i);
      in_block = 0;
    }
  }
  if (items.empty()) return Status::Ok();
  bounds.push_back(items.size());
  const size_t blocks = bounds.size() - 1;
  // One block's series between its read and its write (two in turn, their
  // buffers reused block after block).
  struct Block {
    size_t begin = 0, end = 0;         // its items
    std::vector<int64_t> ids;          // its series
    std::vector<size_t> first;         // per series: its first item
    std::vector<std::string_view> in;  // per series: its stored state (valid until the Read after next)
    std::vector<uint8_t> stored;       // per series: whether it has a stored state
    std::vector<std::string> out;      // per series: its new state
    std::vector<store::Store::ModelStateAccess::Prepared> prepared;  // per series: out as the store writes it
    std::vector<std::string> warnings;                               // per series: why it was not restored
    std::vector<detect::WarmupStatus> statuses;                      // per item: its model's warm-up after it
    std::atomic<size_t> next{0};                                     // the next series a thread takes
    std::atomic<size_t> done{0};                                     // series scored and saved
  };
  Block slots[2];
  auto layout = [&](size_t k, Block& b) {
    b.begin = bounds[k];
    b.end = bounds[k + 1];
    b.ids.clear();
    b.first.clear();
    for (size_t i = b.begin; i < b.end; ++i) {
      if (b.ids.empty() || b.ids.back() != items[i].id) {
        b.ids.push_back(items[i].id);
        b.first.push_back(i);
      }
    }
    b.first.push_back(b.end);
    const size_t n = b.ids.size();
    b.in.assign(n, std::string_view());
    b.out.resize(n);
    b.prepared.resize(n);
    b.stored.assign(n, 0);
    b.warnings.assign(n, std::string());
    b.statuses.resize(b.end - b.begin);
    b.next.store(0);
    b.done.store(0);
  };
  auto read = [&](Block& b) {
    return io.Read(b.ids.front(), b.ids.back(), [&](int64_t id, std::string_view state) {
      auto at = std::lower_bound(b.ids.begin(), b.ids.end(), id);
      if (at == b.ids.end() || *at != id) return Status::Ok();  // another detector's, or not scored here
      const size_t j = static_cast<size_t>(at - b.ids.begin());
      b.in[j] = state;
      b.stored[j] = 1;
      return Status::Ok();
    });
  };
  std::mutex mu;
  std::condition_variable cv;
  size_t readied = 0;      // blocks whose states are read (under mu)
  size_t helper_left = 0;  // blocks the helper has stopped taking series of (under mu)
  size_t written = 0;      // blocks whose states this thread has written (under mu)
  bool stop = false;       // (under mu)
  Status failed;           // the first error of a thread scoring or reading (under mu)
  // Takes series of `b` a few at a time until none is left: restores (or
  // creates) each model, scores its points in time order and saves it.
  // Each thread restores its series one after the other into one model per
  // measure (RestoreModelInto), not a new model each.
  auto work = [&](Block& b, std::vector<std::unique_ptr<detect::Model>>& models) {
    constexpr size_t kTake = 32;
    const size_t n = b.ids.size();
    for (;;) {
      const size_t j0 = b.next.fetch_add(kTake);
      if (j0 >= n) return;
      const size_t j1 = std::min(n, j0 + kTake);
      Status s;
      try {
        for (size_t j = j0; j < j1 && s.ok(); ++j) {
          const Item& head = items[b.first[j]];
          const uint32_t measure =
              works[head.work].points[works[head.work].to_score[head.k].index].key.measure;
          std::unique_ptr<detect::Model>& model = models[measure];
          bool restored = false;
          if (b.stored[j]) {
            Status r = detect::RestoreModelInto(model_options_[measure], b.in[j], &model);
            if (r.ok()) {
              restored = true;
            } else {
              b.warnings[j] = r.message();
            }
          }
          if (!restored) {
            auto created = detect::CreateModel(model_options_[measure]);
            if (!created.ok()) {
              s = created.status();
              break;
            }
            model = std::move(*created);
          }
          for (size_t i = b.first[j]; i < b.first[j + 1]; ++i) {
            IntervalWork& w = works[items[i].work];
            const ToScore& t = w.to_score[items[i].k];
            w.scored[t.index].score = ScoreWith(*model, w, t);
            b.statuses[i - b.begin] = model->Warmup();
          }
          model->SaveStateInto(&b.out[j]);
          io.Prepare(b.ids[j], b.out[j], &b.prepared[j]);  // (while out[j] is in the cache)
        }
      } catch (const std::exception& e) {
        s = Internal(fmt::format("scoring series: {}", e.what()));
      }
      const bool last = b.done.fetch_add(j1 - j0) + (j1 - j0) == n;
      if (!s.ok() || last) {
        std::lock_guard<std::mutex> l(mu);
        if (!s.ok() && failed.ok()) failed = s;
      }
      if (last) cv.notify_all();
    }
  };
  // The models are independent of each other: a helper thread restores,
  // scores and saves series of each block beside this thread, and goes on
  // to the next block (read meanwhile) while this one writes the states of
  // the last (the store is this thread's alone). Where the store reads
  // with a connection of its own (ReadsBeside), a reader thread reads each
  // block's states while this thread scores and writes the block before;
  // else this thread reads the next block before it scores one.
  const bool helper = std::thread::hardware_concurrency() > 1;
  const bool reader = helper && io.ReadsBeside();
  std::thread helper_thread, reader_thread;
  if (helper) {
    helper_thread = std::thread([&] {
      std::vector<std::unique_ptr<detect::Model>> models(model_options_.size());
      for (size_t k = 0; k < blocks; ++k) {
        {
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [&] { return stop || readied > k; });
          if (stop) return;
        }
        work(slots[k % 2], models);
        {
          std::lock_guard<std::mutex> l(mu);
          helper_left = k + 1;
        }
        cv.notify_all();
      }
    });
  }
  if (reader) {
    reader_thread = std::thread([&] {
      for (size_t k = 0; k < blocks; ++k) {
        {
          // Block k goes into the buffers of block k - 2: written, and
          // left by the helper.
          std::unique_lock<std::mutex> l(mu);
          cv.wait(l, [&] { return stop || k < 2 || (written + 1 >= k && helper_left + 1 >= k); });
          if (stop) return;
        }
        Status s;
        try {
          layout(k, slots[k % 2]);
          s = read(slots[k % 2]);
        } catch (const std::exception& e) {
          s = Internal(fmt::format("reading model states: {}", e.what()));
        }
        {
          std::lock_guard<std::mutex> l(mu);
          if (s.ok()) {
            readied = k + 1;
          } else if (failed.ok()) {
            failed = s;
          }
        }
        cv.notify_all();
        if (!s.ok()) return;
      }
    });
  }
  // (Stopped and joined on every way out, before the blocks go.)
  struct StopThreads {
    std::thread& helper;
    std::thread& reader;
    std::mutex& mu;
    std::condition_variable& cv;
    bool& stop;
    ~StopThreads() {
      {
        std::lock_guard<std::mutex> l(mu);
        stop = true;
      }
      cv.notify_all();
      if (helper.joinable()) helper.join();
      if (reader.joinable()) reader.join();
    }
  } stop_threads{helper_thread, reader_thread, mu, cv, stop};
  auto readied_up_to = [&](size_t k) {
    {
      std::lock_guard<std::mutex> l(mu);
      readied = k;
    }
    cv.notify_all();
  };
  if (!reader) {
    layout(0, slots[0]);
    OSPREY_RETURN_IF_ERROR(read(slots[0]));
    readied_up_to(1);
  }
  std::vector<std::unique_ptr<detect::Model>> models(model_options_.size());
  for (size_t k = 0; k < blocks; ++k) {
    Block& b = slots[k % 2];
    if (reader) {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return readied > k || !failed.ok(); });
      OSPREY_RETURN_IF_ERROR(failed);
    } else if (k + 1 < blocks) {
      // The next block's states, read while the helper scores this one,
      // into the buffers of the block before (written, and left by the
      // helper).
      if (helper) {
        std::unique_lock<std::mutex> l(mu);
        cv.wait(l, [&] { return helper_left >= k; });
      }
      Block& next = slots[(k + 1) % 2];
      layout(k + 1, next);
      OSPREY_RETURN_IF_ERROR(read(next));
      readied_up_to(k + 2);
    }
    const size_t n = b.ids.size();
    work(b, models);
    {
      std::unique_lock<std::mutex> l(mu);
      cv.wait(l, [&] { return b.done.load() == n; });
      OSPREY_RETURN_IF_ERROR(failed);
    }
    for (size_t j = 0; j < n; ++j) {
      if (b.warnings[j].empty()) continue;
      const Item& head = items[b.first[j]];
      Log(LogLevel::kWarn,
          fmt::format("detector '{}': series {}: {}; retraining it", detector_.name,
                      catalog_.Label(works[head.work].points[works[head.work].to_score[head.k].index].key),
                      b.warnings[j]));
    }
    // The warm-up after each interval (every owned series has a point in
    // every interval, so each is counted once).
    for (size_t i = b.begin; i < b.end; ++i) {
      const detect::WarmupStatus& status = b.statuses[i - b.begin];
      if (status.ready()) continue;
      const Item& it = items[i];
      const IntervalWork& w = works[it.work];
      Warmup& wu = works[it.work].warmup;
      const double share = static_cast<double>(status.seen) / static_cast<double>(status.needed);
      const ingest::SeriesKey& key = w.points[w.to_score[it.k].index].key;
      ++wu.warming;
      if (share < wu.least || (share == wu.least && key < *least_key[it.work])) {
        wu.least = share;
        wu.seen = status.seen;
        wu.needed = status.needed;
        least_key[it.work] = &key;
      }
    }
    for (size_t j = 0; j < n; ++j)
      OSPREY_RETURN_IF_ERROR(io.WritePrepared(b.ids[j], b.out[j], b.prepared[j]));
    {
      std::lock_guard<std::mutex> l(mu);
      written = k + 1;
    }
    cv.notify_all();
  }
  if (!works.empty()) paged_warmup_ = works.back().warmup;
  return Status::Ok();
}

detect::Score DetectorRunner::ScoreWith(detect::Model& model, const IntervalWork& w, const ToScore& t) const {
  const ingest::SeriesPoint& p = w.points[t.index];
  const Scored& sp = w.scored[t.index];
  detect::Observation obs{w.ts, w.local, p.value};
  obs.denominator = sp.denominator;
  obs.rows = p.rows;
  if (t.event) {
    obs.event = detect::EventId(t.event->event->name);
    obs.event_effect = t.event->event->effect;
  }
  detect::Score sc = model.Observe(obs);
  if (!p.value) return detect::Score{};  // a missing point is never scored: the model only advanced time
  if (auto fb = feedback_.find(sp.series_id); fb != feedback_.end()) {
    sc.severity = detect::ApplyFeedback(sc, fb->second);
  }
  const MeasureRules& mr = rules_[p.key.measure];
  if (!mr.active) return sc;
  const std::optional<double>& previous = t.previous;
  const std::optional<double> value = p.value;
  detect::RuleVerdict verdict;
  if (value) verdict = detect::EvaluateRules(mr.options, *value, previous);
  const bool model_ready = sc.ready;
  detect::Score out = detect::CombineScores(sc, verdict, mr.combine, mr.options.direction);
  if (out.ready && !model_ready) {
    // A rule fired before the model has a band: show the rule's own bounds.
    if (verdict.explanation == detect::Explanation::kChange && previous) {
      const double step = std::abs(*previous) * *mr.options.change_percent / 100;
      out.expected = *previous;
      out.lower = *previous - step;
      out.upper = *previous + step;
    } else {
      out.expected = verdict.limit;
      out.lower = mr.options.min.value_or(verdict.limit);
      out.upper = mr.options.max.value_or(verdict.limit);
    }
  }
  return out;
}

Status DetectorRunner::FinishInterval(IntervalWork& w, store::ChunkResult& chunk, RunStats& stats,
                                      bool alerts_enabled) {
  const size_t nd = detector_.dimensions.size();
  const Instant start = w.start;
  const ingest::IntervalLeaves& leaves = *w.leaves;
  const bool no_data = w.no_data;
  const int64_t series_seen = w.series_seen, series_missing = w.series_missing;
  const int64_t ts = w.ts, end_ts = w.end_ts;
  const std::vector<Scored>& scored = w.scored;
  const std::vector<SeriesState*>& states = w.states;
  const bool shard = role_.shards > 1 && !role_.coordinator;
  std::string shard_scores;  // a shard's scores of the interval, for the coordinator
  if (shard) {
    const Warmup warmup = paged_ ? w.warmup : OwnWarmup();
    Put(shard_scores, warmup.warming);
    Put(shard_scores, warmup.seen);
    Put(shard_scores, warmup.needed);
  }
  for (size_t i = 0; i < scored.size(); ++i) {
    const Scored& sp = scored[i];
    if (role_.coordinator || (shard && !states[i]->owned)) continue;  // stored by its shard
    if (shard && sp.score.ready) {
      Put(shard_scores, sp.series_id);
      Put(shard_scores, sp.score.expected);
      Put(shard_scores, sp.score.lower);
      Put(shard_scores, sp.score.upper);
      Put(shard_scores, sp.score.severity);
      Put(shard_scores, static_cast<uint8_t>(sp.score.direction));
      Put(shard_scores, static_cast<uint8_t>(sp.score.explanation));
    }
    store::PointRecord rec{sp.series_id, ts, sp.point->value, {}, {}, {}, {}};
    if (sp.score.ready) {
      rec.expected = sp.score.expected;
      rec.lower = sp.score.lower;
      rec.upper = sp.score.upper;
      rec.severity = sp.score.severity;
    }
    chunk.points.push_back(rec);
  }
  stats.points += series_seen;
  stats.points_missing += series_missing;
  stats.intervals += 1;
  if (no_data) stats.no_data_intervals += 1;
  stats.rows_read += leaves.quality.rows_read;
  stats.rows_rejected += leaves.quality.rows_rejected;
  if (shard) {
    // Grouping, alerts and data quality are the coordinator's.
    chunk.shard_scores.push_back({role_.shard, ts, std::move(shard_scores)});
    return Status::Ok();
  }

  // Group: one group per measure with anomalies in this interval.
  std::vector<rca::PointScore> facts;
  facts.reserve(scored.size());
  for (const Scored& s : scored) {
    facts.push_back({s.point->key.measure, s.point->value.has_value(), s.score.ready, s.score.severity});
  }
  const std::vector<rca::Group> groups =
      rca::GroupAnomalies(facts, detector_.measures.size(), detector_.min_severity);
  const int64_t prev_ts = ToUnixSeconds(grid_.Prev(start));
  std::vector<alerts::GroupView> views;
  std::vector<rca::GroupFacts> related_facts;
  std::vector<size_t> group_index;  // in the chunk, per group
  for (const rca::Group& group : groups) {
    const uint32_t m = group.measure;
    store::GroupRecord g;
    g.detector_id = detector_id_;
    g.measure = detector_.measures[m].name;
    g.ts = ts;
    g.end_ts = end_ts;
    g.anomaly_count = static_cast<int64_t>(group.members.size());
    g.severity = group.severity;
    // Incident: a group right after one of the same measure continues it.
    auto last = last_group_.find(m);
    g.incident_ts = rca::IncidentStart(
        last == last_group_.end() ? std::nullopt : std::optional<rca::LastGroup>(last->second), prev_ts, ts);
    last_group_[m] = rca::LastGroup{ts, g.incident_ts};
    rca::GroupFacts rf;
    rf.measure = m;
    rf.incident_ts = g.incident_ts;
    // Explain: contributions and root causes over the measure's leaves.
    if (nd > 0) {
      const std::vector<rca::Leaf> group_leaves = GroupLeaves(m, scored);
      OSPREY_ASSIGN_OR_RETURN(rca::Explanation ex, rca::ExplainGroup(detector_.dimensions, group_leaves));
      if (!group_leaves.empty()) {
        g.contributions = rca::EncodeContributions(ex.contributions);
        g.root_causes = rca::EncodeRootCauses(ex.root_causes);
      }
      rf.actual = ex.actual;
      rf.expected = ex.expected;
      for (const rca::CauseElement& c : ex.root_causes) rf.causes.push_back(c.element);
    }
    related_facts.push_back(std::move(rf));
    alerts::GroupView view;
    view.measure = g.measure;
    view.ts = ts;
    view.severity = g.severity;
    for (size_t i : group.members) {
      const Scored& s = scored[i];
      alerts::AnomalyView av;
      av.severity = s.score.severity;
      for (size_t d = 0; d < nd; ++d) {
        if (s.point->key.values[d] == ingest::kAll) continue;
        av.dims[detector_.dimensions[d]] = catalog_.Value(d, s.point->key.values[d]);
      }
      view.anomalies.push_back(std::move(av));
    }
    views.push_back(std::move(view));
    const int64_t index = static_cast<int64_t>(chunk.groups.size());
    group_index.push_back(chunk.groups.size());
    chunk.groups.push_back(std::move(g));
    for (size_t i : group.members) {
      const Scored& s = scored[i];
      store::AnomalyRecord a;
      a.series_id = s.series_id;
      a.ts = ts;
      a.value = *s.point->value;
      a.expected = s.score.expected;
      a.lower = s.score.lower;
      a.upper = s.score.upper;
      a.severity = s.score.severity;
      a.direction = std::string(detect::DirectionName(s.score.direction));
      a.explanation = std::string(detect::ExplanationName(s.score.explanation));
      a.group_index = index;
      chunk.anomalies.push_back(std::move(a));
    }
  }

  // Relate: the other measures' groups over the same slice.
  std::vector<std::string> measure_names;
  for (const auto& m : detector_.measures) measure_names.push_back(m.name);
  const auto related = rca::RelateMeasures(related_facts, measure_names);
  for (size_t i = 0; i < related.size(); ++i) {
    chunk.groups[group_index[i]].related = rca::EncodeRelated(related[i]);
  }
  // In an interval without data open incidents stay as they are: no data
  // says nothing about whether the anomaly is over.
  if (!detector_.alerts.empty() && !no_data) EvaluateAlerts(ts, end_ts, views, alerts_enabled, chunk);
  EvaluateNoData(ts, end_ts, no_data, alerts_enabled, chunk);

  store::DataQualityRecord q;
  q.ts = ts;
  q.rows_read = leaves.quality.rows_read;
  q.rows_rejected = leaves.quality.rows_rejected;
  q.rows_filtered = leaves.quality.rows_filtered;
  q.series_seen = series_seen;
  q.series_missing = series_missing;
  json details = {{"rejected_by_reason", leaves.quality.rejected_by_reason},
                  {"examples", leaves.quality.examples}};
  if (no_data) details["no_data"] = true;
  q.details = details.dump();
  chunk.quality.push_back(std::move(q));
  return Status::Ok();
}

}  // namespace osprey::app
