// Compact point storage shared by both state stores: a codec that packs one
// series' points of one span (a UTC day) into a block, and the rules that
// decide which points are stored as blocks and which as plain rows (the
// "head"), independent of the SQL dialect. The stores supply the SQL through
// PointTables; everything else is here, so both backends behave alike.
//
// Block format (version 1), fields in order, integers as LEB128 varints
// (signed ones zigzagged) or bit-packed columns:
//   version byte, point count n;
//   timestamps: first - span start, first delta, then delta-of-delta column
//     (a regular grid costs about four bytes per block);
//   five fields, each: presence (all / none / bitmap), then the present
//   entries:
//     value      exact: scaled integers (value x 10^k, k = 0..6, when every
//                value of the block is one) as deltas, else the XOR of each
//                float64 with the one before (leading and trailing zero bytes
//                left out);
//     expected,  quantized to the block's quantum q = 2^(e - 12) where
//     lower,     2^e <= the largest |expected|, |lower|, |upper| of the block
//     upper      < 2^(e+1); expected as deltas, lower and upper as their
//                distance to expected, as deltas. Each decodes within q / 2,
//                i.e. within 1/8192 of the block's largest magnitude;
//     severity   quantized to 0.01 (within 0.005), as deltas.
//   Non-finite numbers, and magnitudes the quantization cannot hold, fall
//   back to the exact XOR form for that field.
// Integer columns are bit-packed at the widest entry's width or written as
// varints, whichever is shorter; "deltas" are first differences or, when
// shorter (smooth curves), second differences.
#ifndef OSPREY_STORE_POINT_BLOCK_H_
#define OSPREY_STORE_POINT_BLOCK_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/store/store.h"

namespace osprey::store {

// Points of one series are sealed into one block per UTC day.
inline constexpr int64_t kPointBlockSpan = 86400;
// A block holds at most this many points (one a second for a day).
inline constexpr int64_t kMaxBlockPoints = kPointBlockSpan;
// Severity and the model's expected value and band lose this much at most:
// severity to kSeverityQuantum / 2, the others to 2^-13 of the block's
// largest magnitude (the value is exact).
inline constexpr double kSeverityScale = 100;  // severity is stored in hundredths
inline constexpr double kSeverityQuantum = 1 / kSeverityScale;
inline constexpr int kBandPrecisionBits = 12;

// The start of the span holding `ts`.
int64_t PointBlockStart(int64_t ts);

// Encodes `points` (one series, ts strictly increasing, all in the span that
// starts at `start_ts`). InvalidArgument when they are not. `exact`: no
// field is quantized (a block of a span still open).
Result<std::string> EncodePointBlock(std::span<const PointRecord> points, int64_t start_ts,
                                     bool exact = false);
// Appends the block's points (series_id set to `series_id`) to `out`.
// DataLoss naming the series and the block's start when the block is
// corrupt or of an unknown version; `out` is then unchanged.
Status DecodePointBlock(std::string_view data, int64_t series_id, int64_t start_ts,
                        std::vector<PointRecord>* out);

// One row of point_blocks.
struct StoredBlock {
  int64_t series_id = 0;
  int64_t start_ts = 0;  // span start
  int64_t end_ts = 0;    // the last point's ts
  int64_t n = 0;
  std::string data;
};

// Encodes one series' points of one span as a stored block.
Result<StoredBlock> MakeStoredBlock(std::span<const PointRecord> points, bool exact = false);

// The SQL half of point storage, one implementation per backend. Series
// lists are ascending; reads return rows in (series_id, ts / start_ts)
// order. All run in the caller's transaction.
class PointTables {
 public:
  virtual ~PointTables() = default;
  // The detector's series ids.
  virtual Status DetectorSeries(int64_t detector_id, std::vector<int64_t>* out) = 0;
  // Head rows of `series` with ts in [from, to).
  virtual Status ReadHead(const std::vector<int64_t>& series, int64_t from, int64_t to,
                          std::vector<PointRecord>* out) = 0;
  // Blocks of `series` with start_ts in [from, to).
  virtual Status ReadBlocks(const std::vector<int64_t>& series, int64_t from, int64_t to,
                            std::vector<StoredBlock>* out) = 0;
  virtual Status DeleteHead(const std::vector<int64_t>& series, int64_t from, int64_t to) = 0;
  // Inserts or replaces (series_id, start_ts).
  virtual Status PutBlocks(const std::vector<StoredBlock>& blocks) = 0;
  // Inserts or replaces (series_id, ts); `points` are in (series_id, ts)
  // order without repeats.
  virtual Status PutHead(const std::vector<PointRecord>& points) = 0;
};

// `tables` with DetectorSeries limited to `series` (sorted ids): WritePoints
// through it seals only those series' spans (one shard's of a detector whose
// other shards other workers write at the same time).
class ScopedPointTables final : public PointTables {
 public:
  ScopedPointTables(PointTables& tables, const std::vector<int64_t>& series)
      : tables_(tables), series_(series) {}
  Status DetectorSeries(int64_t, std::vector<int64_t>* out) override {
    out->insert(out->end(), series_.begin(), series_.end());
    return Status::Ok();
  }
  Status ReadHead(const std::vector<int64_t>& series, int64_t from, int64_t to,
                  std::vector<PointRecord>* out) override {
    return tables_.ReadHead(series, from, to, out);
  }
  Status ReadBlocks(const std::vector<int64_t>& series, int64_t from, int64_t to,
                    std::vector<StoredBlock>* out) override {
    return tables_.ReadBlocks(series, from, to, out);
  }
  Status DeleteHead(const std::vector<int64_t>& series, int64_t from, int64_t to) override {
    return tables_.DeleteHead(series, from, to);
  }
  Status PutBlocks(const std::vector<StoredBlock>& blocks) override { return tables_.PutBlocks(blocks); }
  Status PutHead(const std::vector<PointRecord>& points) override { return tables_.PutHead(points); }

 private:
  PointTables& tables_;
  const std::vector<int64_t>& series_;
};

// Writes the points of a chunk of the detector's intervals [first_ts,
// next_watermark). The spans the chunk closes (those that end by
// next_watermark and end after first_ts) are sealed: for every series of the
// detector, the chunk's points there are merged with what is stored for
// those spans (a block, head rows; the chunk's points win, then head rows)
// into one block per series and span, and the head rows deleted. Points of
// the still-open span go to the head, unless the chunk brings at least four
// per series there (a backtest's chunk): then the open span is written as a
// block the same way, and the next chunk extends it. Of two points with the
// same (series, ts) in `points` the later one wins.
Status WritePoints(PointTables& tables, int64_t detector_id, int64_t first_ts, int64_t next_watermark,
                   const std::vector<PointRecord>& points);

// Seals the detector's head rows in the spans before `before` (a multiple of
// kPointBlockSpan) with any block of their span. For stores written before
// blocks existed.
Status SealHead(PointTables& tables, int64_t detector_id, int64_t before);

// `block` without its points at or after `from_ts`, re-encoded exactly
// (its day is open again): nullopt when none is left (ResetFrom on a block
// straddling its time).
Result<std::optional<StoredBlock>> TruncateBlock(const StoredBlock& block, int64_t from_ts);

// ts - kPointBlockSpan, saturating: only blocks starting after it can hold
// points at ts or later.
int64_t SpanBefore(int64_t ts);

// Whether ForEachScoredPoint visits `p` (its value and severity filter).
bool MatchesScoredPointQuery(const ScoredPointQuery& q, const PointRecord& p);

// Streams of stored points for MergePoints: each sets *out and returns true,
// or returns false at its end. Blocks come in (series_id, start_ts) order,
// head rows in (series_id, ts) order.
using NextBlock = std::function<Result<bool>(StoredBlock* out)>;
using NextHead = std::function<Result<bool>(PointRecord* out)>;

// Calls `fn` for every stored point with ts in [from, to), in (series_id,
// ts) order: blocks decoded one at a time, merged with the head rows (a head
// row replaces a block's point of the same ts). Stops at the first error.
Status MergePoints(const NextBlock& blocks, const NextHead& head, int64_t from, int64_t to,
                   const std::function<Status(const PointRecord&)>& fn);
// The same over blocks and head rows already read, in those orders.
Status MergePoints(std::span<const StoredBlock> blocks, std::span<const PointRecord> head, int64_t from,
                   int64_t to, const std::function<Status(const PointRecord&)>& fn);

}  // namespace osprey::store

#endif  // OSPREY_STORE_POINT_BLOCK_H_
