// The Store both backends share: every method whose SQL and logic are the
// same for SQLite and PostgreSQL, written once over the seam (sql_db.h).
// SqliteStore and PostgresStore derive from it and add only what differs:
// connection set-up, creating series, the point tables' bulk SQL
// (point_block.h), reading measure incidents in several ranges, and
// PostgreSQL's worker leases. Internal to src/osprey/store/.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "osprey/store/point_block.h"
#include "osprey/store/sql_db.h"
#include "osprey/store/store.h"

namespace osprey::store::internal {

// The point tables' SQL that both backends share (the detector's series);
// each backend adds its bulk statements.
class SqlPointTables : public PointTables {
 public:
  explicit SqlPointTables(SqlDb& db) : sql_db_(db) {}
  Status DetectorSeries(int64_t detector_id, std::vector<int64_t>* out) final;

 private:
  SqlDb& sql_db_;
};

class SqlStore : public Store {
 public:
  // `db` and `points` must outlive the store (they are the derived class's
  // members; the store only keeps the references).
  SqlStore(SqlDb& db, PointTables& points) : db_(db), points_(points) {}

  Result<int64_t> UpsertDetector(const std::string& name, const std::string& config) override;
  Result<DetectorRecord> GetDetector(const std::string& name) override;
  Result<std::vector<DetectorRecord>> ListDetectors() override;
  Status DeleteDetector(const std::string& name) override;
  Status SetDetectorActive(const std::string& name, bool active) override;
  Status SetDetectorOrigin(const std::string& name, const std::string& origin) override;
  Result<std::vector<SeriesRecord>> ListSeries(int64_t detector_id) override;
  Result<int64_t> CountSeries(int64_t detector_id) override;
  Status ForEachSeries(int64_t detector_id, const std::function<Status(const SeriesRecord&)>& fn) override;
  Status ForEachModelState(int64_t detector_id,
                           const std::function<Status(int64_t, std::string_view)>& fn) override;
  Result<std::optional<int64_t>> GetWatermark(int64_t detector_id) override;
  Status CommitChunk(const ChunkResult& chunk) override;
  Status CommitScoredChunk(ChunkResult& chunk,
                           const std::function<Status(ModelStateAccess&)>& score) override;
  Status ResetFrom(int64_t detector_id, int64_t from_ts) override;
  Result<std::vector<GroupRecord>> ListGroups(const GroupQuery& q) override;
  Result<int64_t> CountGroups(const GroupQuery& q) override;
  Result<GroupRecord> GetGroup(int64_t group_id) override;
  Result<std::vector<GroupRecord>> ListMeasureIncidents(const MeasureIncidentQuery& q) override;
  Result<std::vector<GroupRecord>> ListSevereIncidents(const SevereIncidentQuery& q) override;
  Result<int64_t> GetLongestMeasureIncident() override;
  Result<std::vector<AnomalyRecord>> ListAnomalies(int64_t group_id) override;
  Result<std::vector<PointRecord>> ListPoints(int64_t series_id, int64_t from_ts, int64_t to_ts) override;
  Status ForEachScoredPoint(const ScoredPointQuery& q,
                            const std::function<Status(const PointRecord&)>& fn) override;
  Result<std::vector<DataQualityRecord>> ListQuality(int64_t detector_id, int64_t from_ts,
                                                     int64_t to_ts) override;
  Result<std::vector<AlertStateRecord>> LoadAlertStates(int64_t detector_id) override;
  Result<std::vector<OutboxRecord>> ListOutbox(const OutboxQuery& q) override;
  Result<int64_t> CountOutbox(const OutboxQuery& q) override;
  Status UpdateOutbox(const OutboxRecord& r) override;
  Result<bool> QueueDetectorMessage(const OutboxRecord& r) override;
  Result<int64_t> AddFeedback(const FeedbackRecord& f) override;
  Result<std::vector<FeedbackRecord>> ListFeedback(int64_t detector_id) override;
  Result<std::vector<FeedbackRecord>> ListGroupFeedback(int64_t group_id) override;
  Result<StoreTotals> Totals() override;
  Result<int64_t> CreateToken(const TokenRecord& token) override;
  Result<std::vector<TokenRecord>> ListTokens() override;
  Status RevokeToken(int64_t id, int64_t at) override;
  Result<std::vector<int64_t>> ListSnapshotTimes(int64_t detector_id) override;
  Result<SnapshotRecord> LoadSnapshot(int64_t detector_id, int64_t ts) override;
  Status PutDetectorStatus(const DetectorStatusRecord& r) override;
  Result<std::vector<DetectorStatusRecord>> ListDetectorStatus() override;
  Result<int64_t> CreateSilence(const SilenceRecord& silence) override;
  Result<std::vector<SilenceRecord>> ListSilences() override;
  Status ExpireSilence(int64_t id, int64_t at) override;

  // Readers of point rows, shared with the backends' own statements.
  // Columns series_id, ts, value, expected, lower, upper, severity.
  static PointRecord ReadPoint(const SqlRow& r);
  // Columns series_id, start_ts, end_ts, n, data.
  static StoredBlock ReadBlock(const SqlRow& r);

 protected:
  // Runs before every write, in a transaction or not (SQLite commits the
  // series EnsureSeries keeps in an open transaction).
  virtual Status BeforeWrite() { return Status::Ok(); }
  // Measure incidents whose first interval lies in one of q.start_ranges:
  // each database's planner wants its own statement for that.
  virtual Result<std::vector<GroupRecord>> ListMeasureIncidentsInRanges(const MeasureIncidentQuery& q) = 0;
  // Runs in ResetFrom's transaction: deletes the detector's rows of the
  // tables only this backend has (PostgreSQL's shard tables).
  virtual Status ResetOwnTables(int64_t detector_id) {
    (void)detector_id;
    return Status::Ok();
  }

  // Brings the schema up to date (migrations.h); a store from before point
  // blocks seals the point rows it had when point_blocks is created.
  Status Migrate(std::string_view store);
  // Inserts the series, or updates its label; returns its id. The caller
  // holds a transaction (each backend commits new series its own way).
  Result<int64_t> InsertSeries(int64_t detector_id, const std::string& measure, const std::string& dims,
                               const std::string& label);

  // kGroupColumns.
  static GroupRecord ReadGroup(const SqlRow& r);
  Result<std::vector<GroupRecord>> ReadGroups(std::string_view sql, std::span<const SqlValue> args);

  // A group's columns; the incident's figures come from its incidents row.
  static constexpr std::string_view kGroupColumns =
      "g.id, g.detector_id, d.name, g.measure, g.ts, g.end_ts, g.severity, g.anomaly_count, "
      "g.contributions, g.root_causes, g.related, g.incident_ts, i.end_ts, i.intervals, i.severity";
  // Measure incidents with their top group.
  static constexpr std::string_view kMeasureIncidentJoin =
      "from incidents i join anomaly_groups g on g.id = i.top_group_id "
      "join detectors d on d.id = i.detector_id ";
  // The columns of ReadGroup from the incidents row alone.
  static constexpr std::string_view kSpanColumns =
      "i.top_group_id, i.detector_id, '', i.measure, i.incident_ts, i.end_ts, i.severity, cast(0 as bigint), "
      "'', '', '', i.incident_ts, i.end_ts, i.intervals, i.severity from incidents i";
  // The statement of a list of measure incidents read from `source` (columns
  // and tables, ending with the incidents table as i): q's filters (?1
  // detector, ?2 start_from, ?3 start_before), its order and limit (?4), with
  // MeasureIncidentArgs; ?5 on are the caller's.
  static std::string MeasureIncidentSql(const MeasureIncidentQuery& q, std::string_view source);
  std::vector<SqlValue> MeasureIncidentArgs(const MeasureIncidentQuery& q) const;
  // The source of the statement above without ranges.
  static std::string MeasureIncidentSource(const MeasureIncidentQuery& q);

  SqlDb& db_;
  PointTables& points_;
  // CommitScoredChunk's connection for reading model states (OpenReader),
  // opened with the first such chunk; nullptr where there is none.
  std::unique_ptr<SqlDb> reader_;
  bool reader_opened_ = false;

 private:
  Status InWriteTransaction(const std::function<Status()>& body);
  // One write statement; how many rows it changed.
  Result<int64_t> Write(std::string_view sql, std::initializer_list<SqlValue> args);
  // A change of the detector `name`; NotFound when there is none.
  Status ChangeDetector(std::string_view sql, const std::string& name, SqlValue arg);
  Status WriteChunk(const ChunkResult& c);
  // A shard's chunk (ChunkResult::shard): its series' points and model
  // states, its scores for the coordinator and its watermark.
  Status WriteShardChunk(const ChunkResult& c);
  Status WriteChunkPoints(const ChunkResult& c);
  Status WriteModelStates(const ChunkResult& c);
  Status WriteModelState(int64_t series_id, std::string_view state);
  Status WriteSnapshots(const ChunkResult& c);
  Status UpdateIncidents(int64_t detector_id, const std::set<std::pair<std::string, int64_t>>& keys);
  Status TruncatePointBlocks(int64_t detector_id, int64_t from_ts);
  Status SealOldPoints();
  Result<std::vector<FeedbackRecord>> ReadFeedback(std::string_view where, int64_t key);
};

}  // namespace osprey::store::internal
