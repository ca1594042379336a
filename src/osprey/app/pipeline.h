// The pipeline: the one path every interval of a detector takes, whether it
// is backfilled, backtested or live — source query -> ingest (validation,
// aggregation, roll-ups) -> detect (per-series models) -> group per measure
// with contributions and root causes -> one store transaction per chunk of
// intervals (points, anomalies, groups, model state, watermark together).
// A DetectorRunner owns one detector's models; it is not thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "osprey/alerts/rules.h"
#include "osprey/base/status.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"
#include "osprey/connectors/source.h"
#include "osprey/detect/events.h"
#include "osprey/detect/feedback.h"
#include "osprey/detect/model.h"
#include "osprey/detect/rules.h"
#include "osprey/ingest/aggregate.h"
#include "osprey/rca/explain.h"
#include "osprey/rca/grouping.h"
#include "osprey/store/store.h"

namespace osprey::app {

struct RunStats {
  int64_t intervals = 0;
  int64_t rows_read = 0;
  int64_t rows_rejected = 0;
  int64_t points = 0;          // points with a value (scored)
  int64_t points_missing = 0;  // points stored as missing (not scored)
  int64_t anomalies = 0;
  int64_t groups = 0;
  int64_t alerts = 0;  // outbox messages written
  // Intervals whose query returned no rows at all ("no data"): nothing was
  // scored in them.
  int64_t no_data_intervals = 0;
  // With RunOptions::stop_at_data_end: where the run stopped because the
  // source has no rows after it (the interval after the last one with rows).
  std::optional<Instant> data_end;
};

// The most series points (series x intervals) one chunk holds in memory,
// or up to a third more (a chunk ends with a UTC day where one is near:
// DetectorRunner::ChunkEnd): a chunk of a detector with many series has
// fewer intervals than asked.
inline constexpr int64_t kChunkSeriesPoints = 2'000'000;

// A backtest saves its models' states, its alert states and the watermark
// together (a resume point) only with its last chunk or once this many
// series points were scored since the last one, not with every chunk: a
// state is ~3.5 KB a series, most of what a chunk of a large detector
// would write (RunOptions::resume_point_series_points).
inline constexpr int64_t kResumePointSeriesPoints = 50'000'000;

struct RunOptions {
  // Intervals read by one query and committed in one transaction. Bigger
  // chunks mean fewer queries and commits on backfill; live runs use 1.
  // Capped at kChunkSeriesPoints / series (a chunk may end up to a third
  // later, or earlier, at the end of a UTC day); the first chunk of a detector
  // without series is one interval.
  int64_t chunk_intervals = 168;
  // Called after each committed chunk with the next interval to process.
  std::function<void(Instant next, const RunStats&)> progress;
  // Evaluate the detector's alert rules and write outbox rows with each
  // chunk. Off for backtest and backfill: history raises no alerts unless
  // asked (rule streaks are still tracked, so an incident still in progress
  // when live runs begin triggers then). Live runs turn it on.
  bool alerts_enabled = false;
  // Save a snapshot of every model and alert state before each interval that
  // starts at or after this instant (restatement_window needs them), and
  // drop the detector's snapshots older than prune_snapshots_before.
  std::optional<Instant> snapshot_from;
  std::optional<Instant> prune_snapshots_before;
  // Stop after the last interval the source has rows for, instead of at
  // `to` (a backtest without an end): when a chunk ends in intervals without
  // rows and the source has no row from there to `to`, the run commits up to
  // the interval after the last row and stops. Off for live runs, where
  // trailing empty intervals are "no data".
  bool stop_at_data_end = false;
  // > 0, and alerts off, and not a shard: a chunk is a resume point (its
  // commit saves the models' and alert states and moves the watermark) only
  // when it is the run's last one or this many series points were scored
  // since the last resume point; the other chunks write their points,
  // groups and quality only. A run stopped in between (an error, a crash)
  // is redone from the last resume point by the next run, which rewrites
  // the same results. 0 (live runs and serve's backfill, whose crash test
  // kills it between chunks): every chunk is one. RunBacktest sets
  // kResumePointSeriesPoints.
  int64_t resume_point_series_points = 0;
};

// A detector with at least this many series keeps its models in memory
// only while it scores them (DetectorRunner, "paged"): each chunk reads the
// states of a block of series, scores their points, writes the states back
// and drops the models, in the chunk's transaction. A model takes ~5 KB in
// memory (5 GB at 1 M series); below this, every model stays in memory
// between chunks and intervals (no reading and restoring them each chunk).
inline constexpr int64_t kResidentModels = 200'000;
// The series a paged chunk restores and scores at a time (a block): it
// reads the next block's states while it scores this one.
inline constexpr size_t kPagedBlock = 16'384;

namespace internal {
// The (dimension, value) pairs of a series' stored dimensions, a flat JSON
// object of strings as osprey writes it (`{"item":"i0000001"}`), sorted by
// dimension as a JSON object keeps them, read without building a JSON
// document (start-up reads a million of them). false, with *out partly
// filled, for anything else (an escape, a byte that is not printable
// ASCII, a value that is not a string, a dimension twice): the caller then
// parses it as JSON. Internal to the pipeline; declared for its tests.
bool ReadFlatDims(std::string_view text, std::vector<std::pair<std::string_view, std::string_view>>* out);
}  // namespace internal

// A roll-up series of a SUM or COUNT measure with `missing: skip` is itself
// missing in an interval when its missing leaves carried more than this share
// of it (their last values against the roll-up's present sum): the sum of
// the present leaves would otherwise look like a dip.
// Only leaves with a value in the last kMissingLeafIntervals intervals count:
// a leaf gone for longer (a discontinued product) no longer holds its
// roll-ups back, and their drop is scored as it is.
inline constexpr double kMaxMissingRollupShare = 0.05;
inline constexpr int64_t kMissingLeafIntervals = 24;

// Which part of a sharded detector (config::Detector::shards) a runner
// does; docs/scheduling.md, "Shards". The default runs the whole detector.
struct ShardRole {
  int64_t shards = 1;
  // shards > 1: the shard whose series this runner scores and stores (its
  // points, model states and scores for the coordinator, under the shard's
  // own watermark) ...
  int64_t shard = 0;
  // ... or, when set, the coordinator: it scores nothing, but groups each
  // interval every shard has passed from the shards' stored scores (groups,
  // anomalies, incidents, alerts, data quality, the detector's watermark),
  // exactly as a runner of the whole detector would.
  bool coordinator = false;
};

// A std::deque allocated on first use: an empty std::deque already holds
// ~670 bytes of heap, and most series never keep a history (only a
// change_percent rule's do) — 0.7 GB at 1 M series.
template <typename T>
class LazyDeque {
 public:
  bool empty() const { return !d_ || d_->empty(); }
  const T& front() const { return d_->front(); }
  void pop_front() { d_->pop_front(); }
  void clear() {
    if (d_) d_->clear();
  }
  template <typename... Args>
  void emplace_back(Args&&... args) {
    if (!d_) d_ = std::make_unique<std::deque<T>>();
    d_->emplace_back(std::forward<Args>(args)...);
  }
  T& operator[](size_t i) { return (*d_)[i]; }

 private:
  std::unique_ptr<std::deque<T>> d_;
};

class DetectorRunner {
 public:
  // Registers the detector in the store (by name) and loads its series and
  // model state, so a run continues where the last one stopped.
  // With `resident_models` series or more (kResidentModels), the runner is
  // paged: its models are in memory only while a chunk scores them,
  // `paged_block` series at a time (kPagedBlock).
  static Result<std::unique_ptr<DetectorRunner>> Create(const config::Detector& detector,
                                                        const std::string& config_text, store::Store& store,
                                                        connectors::Source& source, ShardRole role = {},
                                                        int64_t resident_models = kResidentModels,
                                                        size_t paged_block = kPagedBlock);

  // Processes every interval starting in [from, to) in order. Each chunk is
  // committed in one transaction; on error, the chunks before it stay
  // committed and the failing one leaves nothing (the watermark says where
  // to resume).
  Status Run(Instant from, Instant to, const RunOptions& options, RunStats* stats);

  // Forgets models and results from `from` on, so Run replays from scratch.
  Status ResetFrom(Instant from);

  // Puts models and alert states back to the snapshot taken before interval
  // `ts` (RunOptions::snapshot_from), so Run can re-score [ts, ...) exactly
  // as if it ran for the first time. NotFound when there is no snapshot.
  Status RestoreSnapshot(Instant ts);

  int64_t detector_id() const { return detector_id_; }
  const IntervalGrid& grid() const { return grid_; }
  // The first interval not processed yet, if any was (a shard's: the first
  // it has not scored).
  Result<std::optional<Instant>> Watermark();
  const ShardRole& role() const { return role_; }
  // Whether the models are in memory only while a chunk scores them.
  bool paged() const { return paged_; }

 private:
  struct SeriesState {
    int64_t id = 0;
    std::unique_ptr<detect::Model> model;
    // For the change rule: (interval start, value) of the intervals from
    // the one `change_intervals` back (IntervalGrid::SeasonalLag) up to
    // history_next, oldest first (nullopt: no value). Read back from the
    // stored points whenever the next interval is not history_next (first
    // use, a restore, a gap), then kept up in memory.
    LazyDeque<std::pair<int64_t, std::optional<double>>> history;
    int64_t history_next = 0;
    // The series' latest value (for `missing: previous` and the roll-up
    // rule); read from the store on first need (LastValue).
    std::optional<double> last_value;
    int64_t last_ts = 0;  // the interval of last_value
    bool last_known = false;
    // Created by this runner: nothing was stored for it before the interval
    // it first appeared in, so there is no history to read back.
    bool created = false;
    // Scored by this runner (ShardRole); the others have no model here.
    bool owned = true;
  };
  // A shard's warm-up figures for one interval (WarmupJson).
  struct Warmup {
    int64_t warming = 0, seen = 0, needed = 0;
    double least = 2;  // the least advanced series' share seen / needed
  };

  // A measure's rules (config::EffectiveRules) in detect's terms.
  struct MeasureRules {
    detect::RuleOptions options;
    detect::CombineMode combine = detect::CombineMode::kMax;
    // False when nothing is configured: the model's score is used as is.
    bool active = false;
  };

  DetectorRunner(const config::Detector& d, IntervalGrid grid, store::Store& store,
                 connectors::Source& source, ShardRole role);
  // Whether this runner scores the series `key` (ShardRole).
  bool Owns(const ingest::SeriesKey& key) const;
  // The coordinator: reads the shards' scores of [from, to) into shard_scores_.
  Status LoadShardScores(Instant from, Instant to);
  // Where a chunk of up to `chunk` intervals from `start` ends (at most at
  // `to`): at the end of a span of point blocks (a UTC day,
  // store::kPointBlockSpan) in its second half, else at one within a
  // third of `chunk` intervals after it, else after `chunk` intervals. A
  // day's points are then written as one block, sealed once, rather than
  // written open, read back and rewritten by the next chunk.
  Instant ChunkEnd(Instant start, int64_t chunk, Instant to) const;
  // Commits the models' and alert states and the watermark `at`, without
  // points: the resume point of a run whose last chunk was not one.
  Status SaveResumePoint(Instant at);
  // The models' states, serialised one at a time as the store writes them,
  // in series id order.
  std::function<Status(const std::function<Status(int64_t, std::string_view)>&)> ModelStateWriter();
  // The alert states as the store keeps them (a chunk's, a snapshot's).
  std::vector<store::AlertStateRecord> AlertStateRecords() const;

  // A ratio measure: its position and its sides' positions in measures.
  struct RatioMeasure {
    uint32_t measure = 0, numerator = 0, denominator = 0;
  };
  // One series' point of an interval as scored.
  struct Scored {
    const ingest::SeriesPoint* point;
    int64_t series_id;
    detect::Score score;
    std::optional<double> denominator;  // ratio measures: the denominator's value
  };
  // A point to score with its series' model: its place in the interval's
  // points, its calendar event and its change rule's look-back value.
  struct ToScore {
    size_t index;
    const detect::EventOccurrence* event;
    std::optional<double> previous;
  };
  // One interval between the building of its points and their grouping:
  // PrepareInterval fills it, ScoreResident or ScorePaged score it,
  // FinishInterval groups it into the chunk.
  struct IntervalWork {
    Instant start;
    int64_t ts = 0, local = 0, end_ts = 0;
    bool no_data = false;
    int64_t series_seen = 0, series_missing = 0;
    const ingest::IntervalLeaves* leaves = nullptr;
    std::vector<ingest::SeriesPoint> points;
    std::vector<SeriesState*> states;  // per point
    std::vector<Scored> scored;        // per point
    std::vector<detect::EventOccurrence> events;
    std::vector<ToScore> to_score;
    // The warm-up of the runner's models once the interval is scored.
    Warmup warmup;
  };

  // From the current state, or from a snapshot when `snapshot` is set.
  Status LoadState(const store::SnapshotRecord* snapshot = nullptr);
  Result<store::SnapshotRecord> TakeSnapshot(Instant ts) const;
  Status LoadLastGroups(Instant start);
  // The points of an interval's leaves: roll-ups of the measures read from
  // the source, then the ratio measures' points from their sides; sorted.
  Result<std::vector<ingest::SeriesPoint>> BuildPoints(Instant start, ingest::IntervalLeaves& leaves);
  // The leaves of measure `m` in `scored`, as the explain stage takes them.
  std::vector<rca::Leaf> GroupLeaves(uint32_t m, const std::vector<Scored>& scored) const;
  // The change rules' look-back before `start` for every series, in one
  // store query (ValueBack would read it one series at a time).
  Status LoadRuleHistory(Instant start);
  // Reads the detector's feedback verdicts into feedback_ (done before every
  // Run, so a verdict given between runs applies to the next interval).
  Status LoadFeedback();
  void EvaluateAlerts(int64_t ts, int64_t end_ts, const std::vector<alerts::GroupView>& groups, bool emit,
                      store::ChunkResult& chunk);
  // Creates the series of the points that have no state yet (states[i]
  // null), in the points' order, and sets their states.
  Status CreateSeries(const std::vector<ingest::SeriesPoint>& points, std::vector<SeriesState*>& states);
  // The value `intervals` intervals before `start` of series `s` (nullopt
  // when unknown), reading s's history from the store when needed.
  Result<std::optional<double>> ValueBack(SeriesState& s, Instant start, int intervals);
  // The value a change rule of `measure` compares s's value at `start`
  // with (nullopt: none, or no such rule), keeping s's history up.
  Result<std::optional<double>> RuleLookBack(SeriesState& s, uint32_t measure, Instant start,
                                             std::optional<double> value);
  // Scores one point of interval `w` with its series' model: the model,
  // feedback, then the measure's rules (with the look-back value).
  // Thread-safe for different models (ScorePaged's helper thread).
  detect::Score ScoreWith(detect::Model& model, const IntervalWork& w, const ToScore& t) const;
  // The interval's points, their series, and what to score (nothing is
  // scored yet).
  Status PrepareInterval(Instant start, ingest::IntervalLeaves& leaves, IntervalWork& w);
  // Scores w's points with the models in memory (creating the missing ones).
  Status ScoreResident(IntervalWork& w);
  // Scores the points of every interval of a chunk a block of series at a
  // time: reads the block's states, restores them, scores each series'
  // points in time order (on two threads), writes the states back and
  // drops the models. The next block's states are read while this one is
  // scored, and the helper thread scores the next block while this thread
  // writes this one's states.
  Status ScorePaged(std::vector<IntervalWork>& works, store::Store::ModelStateAccess& states);
  // Groups the scored interval and adds everything it produced to `chunk`.
  Status FinishInterval(IntervalWork& w, store::ChunkResult& chunk, RunStats& stats, bool alerts_enabled);
  // Whether this runner may keep its models out of memory (not the
  // coordinator, which has none).
  bool CanPage() const { return !role_.coordinator; }
  // Adds the warm-up of one model to `w` (OwnWarmup, for one series).
  static void AddWarmup(const detect::Model& model, Warmup& w);
  // The latest value of `s` before `start` (nullopt when it never had one).
  Result<std::optional<double>> LastValue(SeriesState& s, Instant start);
  // Gives known leaves of `zero` and `previous` measures without a value a
  // leaf aggregate of 0 or of their last value, before roll-ups are built.
  Status FillMissingLeaves(Instant start, ingest::IntervalLeaves& leaves);
  // Applies kMaxMissingRollupShare to the roll-ups of `skip` SUM/COUNT
  // measures; `points` are sorted by key.
  Status MarkRollupsMissing(Instant start, std::vector<ingest::SeriesPoint>& points);
  // Whether the source has any row in [from, to) (stops at the first one).
  Result<bool> SourceHasRows(Instant from, Instant to);
  // The no-data notices of the alerts with no_data_after for one interval.
  void EvaluateNoData(int64_t ts, int64_t end_ts, bool no_data, bool emit, store::ChunkResult& chunk);
  // Warm-up of the detector's models as JSON (seen/needed of the least
  // advanced series, how many series are warming up, how many there are).
  // (`ts`: the interval whose figures the coordinator shows.)
  std::string WarmupJson(int64_t ts) const;
  Warmup OwnWarmup() const;

  config::Detector detector_;
  // The detector with only the measures read from the source (no ratio
  // measures), for ingest; source_measure_[i] is the position in detector_
  // of its measure i.
  config::Detector source_detector_;
  std::vector<uint32_t> source_measure_;
  std::vector<RatioMeasure> ratios_;
  IntervalGrid grid_;
  store::Store& store_;
  connectors::Source& source_;
  int64_t detector_id_ = 0;
  std::vector<detect::ModelOptions> model_options_;  // per measure
  std::vector<MeasureRules> rules_;                  // per measure
  ingest::SeriesCatalog catalog_;
  detect::EventCalendar calendar_;  // the detector's events (config::LoadEvents)
  std::map<ingest::SeriesKey, SeriesState> series_;
  // series_ in key order, walked in every interval (a map's walk chases its
  // nodes), and the leaves of `skip` SUM/COUNT measures among them
  // (MarkRollupsMissing). Emptied when series_ changes; Order() rebuilds.
  void Order();
  std::vector<std::pair<const ingest::SeriesKey*, SeriesState*>> ordered_;
  std::vector<std::pair<const ingest::SeriesKey*, SeriesState*>> skip_leaves_;
  // Per measure: the interval of its latest group and that group's incident.
  std::map<uint32_t, rca::LastGroup> last_group_;
  // alert name -> measure -> incident; saved with every chunk.
  std::map<std::string, std::map<std::string, alerts::IncidentState>> alert_states_;
  // series id -> verdicts, oldest first.
  std::map<int64_t, std::vector<detect::Verdict>> feedback_;
  ShardRole role_;
  // Paged (kResidentModels): the models are in memory only while ScorePaged
  // scores them; paged_warmup_ is their warm-up after the last chunk.
  int64_t resident_models_ = kResidentModels;
  size_t paged_block_ = kPagedBlock;
  bool paged_ = false;
  Warmup paged_warmup_;
  // The coordinator's view of the chunk being grouped: interval -> series
  // id -> the score its shard stored (ready scores only), and the shards'
  // warm-up combined per interval.
  std::map<int64_t, std::unordered_map<int64_t, detect::Score>> shard_scores_;
  std::map<int64_t, Warmup> shard_warmup_;
};

}  // namespace osprey::app
