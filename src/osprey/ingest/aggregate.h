// Ingest: turns a source's rows into per-interval series points. Rows are
// validated (a naive timestamp read in the source zone, config::SourceZone;
// one with an offset by its offset; measures numeric,
// dimensions present); bad rows are counted with their reason and skipped,
// never fatal. Each row is added to its interval's leaf aggregate, one per
// combination of dimension values; roll-up series ("ALL" for a dimension)
// are built from the leaves per interval. Not thread-safe; one per query.
#pragma once

#include <algorithm>
#include <array>
#include <compare>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "osprey/base/row.h"
#include "osprey/base/time.h"
#include "osprey/config/detector.h"

namespace osprey::ingest {

inline constexpr int32_t kAll = -1;  // a roll-up over every value of a dimension

// Running aggregate of one measure in one series and interval. AVG rolls up
// from sum and count, never by averaging averages.
struct Aggregate {
  double sum = 0;
  double count = 0;  // rows with a non-null value
  double min = std::numeric_limits<double>::infinity();
  double max = -std::numeric_limits<double>::infinity();

  void Add(double v) {
    sum += v;
    count += 1;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // A row that is itself an average over `weight` (> 0) rows of its own
  // (a weighted AVG, config::Measure::weight): it counts as that many rows
  // of value v, so the mean is weighted and the count is the rows behind it.
  void AddWeighted(double v, double weight) {
    sum += v * weight;
    count += weight;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  void Merge(const Aggregate& o) {
    sum += o.sum;
    count += o.count;
    if (o.min < min) min = o.min;
    if (o.max > max) max = o.max;
  }
  // The measure's value; nullopt when no row had a value (except COUNT,
  // which counts them: 0 then). A missing value is not a zero: what a series
  // without a value becomes is the measure's `missing` policy (app/pipeline).
  std::optional<double> Value(config::Aggregation a) const;
};

// A series' dimension value ids, one per dimension: up to kInline of them
// held in place (no allocation for the key of every point of every
// interval; a detector has a handful of dimensions), more on the heap.
class DimValues {
 public:
  static constexpr size_t kInline = 6;

  DimValues() = default;
  DimValues(size_t n, int32_t v) { assign(n, v); }
  DimValues(const int32_t* first, const int32_t* last) { Copy(first, static_cast<size_t>(last - first)); }
  DimValues(std::initializer_list<int32_t> v) { Copy(v.begin(), v.size()); }
  DimValues(const DimValues& o) { Copy(o.data(), o.size_); }
  DimValues(DimValues&& o) noexcept { Take(o); }
  DimValues& operator=(const DimValues& o) {
    if (this != &o) {
      Free();
      Copy(o.data(), o.size_);
    }
    return *this;
  }
  DimValues& operator=(DimValues&& o) noexcept {
    if (this != &o) {
      Free();
      Take(o);
    }
    return *this;
  }
  ~DimValues() { Free(); }

  void assign(size_t n, int32_t v) {
    Free();
    int32_t* d = Reserve(n);
    std::fill(d, d + n, v);
  }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  int32_t* data() { return size_ > kInline ? heap_ : inline_; }
  const int32_t* data() const { return size_ > kInline ? heap_ : inline_; }
  int32_t& operator[](size_t i) { return data()[i]; }
  int32_t operator[](size_t i) const { return data()[i]; }
  int32_t* begin() { return data(); }
  int32_t* end() { return data() + size_; }
  const int32_t* begin() const { return data(); }
  const int32_t* end() const { return data() + size_; }

  friend bool operator==(const DimValues& a, const DimValues& b) {
    return a.size_ == b.size_ && std::equal(a.begin(), a.end(), b.begin());
  }
  friend std::strong_ordering operator<=>(const DimValues& a, const DimValues& b) {
    return std::lexicographical_compare_three_way(a.begin(), a.end(), b.begin(), b.end());
  }

 private:
  // Room for n values (the object holds none); where they go.
  int32_t* Reserve(size_t n) {
    size_ = static_cast<uint32_t>(n);
    if (n <= kInline) return inline_;
    heap_ = new int32_t[n];
    return heap_;
  }
  void Copy(const int32_t* v, size_t n) { std::copy(v, v + n, Reserve(n)); }
  void Take(DimValues& o) {
    size_ = o.size_;
    if (size_ > kInline) {
      heap_ = o.heap_;
    } else {
      std::copy(o.inline_, o.inline_ + size_, inline_);
    }
    o.size_ = 0;
  }
  void Free() {
    if (size_ > kInline) delete[] heap_;
    size_ = 0;
  }

  uint32_t size_ = 0;
  union {
    int32_t inline_[kInline];
    int32_t* heap_;
  };
};

// A series: one measure over one combination of dimension values, where a
// value may be kAll. Value ids index SeriesCatalog's per-dimension lists.
struct SeriesKey {
  uint32_t measure = 0;
  DimValues values;
  auto operator<=>(const SeriesKey&) const = default;
  bool IsLeaf() const;
};

// Interns dimension values and names series.
class SeriesCatalog {
 public:
  explicit SeriesCatalog(const config::Detector& d);
  int32_t Intern(size_t dimension, std::string_view value);
  // Makes room for `values` values of each dimension (a runner about to
  // intern its stored series': the hash tables then never rehash).
  void Reserve(size_t values);
  const std::string& Value(size_t dimension, int32_t id) const { return values_[dimension][id]; }
  size_t DimensionCount() const { return dimensions_.size(); }
  const std::vector<std::string>& dimensions() const { return dimensions_; }
  const std::string& MeasureName(uint32_t m) const { return measures_[m]; }
  // {"platform":"pc_web"}: dimensions at kAll are left out. Keys are sorted
  // in dimension order; values JSON-escaped.
  std::string DimsJson(const SeriesKey& key) const;
  // "views{platform=pc_web, marketplace=ALL}" for people.
  std::string Label(const SeriesKey& key) const;
  // Finds the id of a value, or -2 when unknown.
  int32_t Find(size_t dimension, std::string_view value) const;

 private:
  std::vector<std::string> dimensions_;
  std::vector<std::string> measures_;
  // Hashes a string and a string_view alike, so a lookup builds no string.
  struct TextHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::vector<std::vector<std::string>> values_;
  std::vector<std::unordered_map<std::string, int32_t, TextHash, std::equal_to<>>> ids_;
  // Per dimension, the id after the last one Intern returned: a source
  // that returns its rows in the same order every interval asks for the
  // values in the order they were interned, so a comparison with that one
  // value finds most of them without hashing (a hash lookup of 100 k
  // values misses the cache). After a wrong guess only every 64th lookup
  // guesses, until one is right again.
  struct Guess {
    int32_t next = 0;
    uint32_t misses = 0;
  };
  std::vector<Guess> guess_;
};

// Data-quality figures of one interval (or of a whole query).
struct DataQuality {
  int64_t rows_read = 0;
  int64_t rows_rejected = 0;
  int64_t rows_filtered = 0;  // dropped by the detector's dimension filters
  std::map<std::string, int64_t> rejected_by_reason;
  std::vector<std::string> examples;  // the first few rejections, "row N: reason"
  // Counts `count` rejected rows (a pushed-down group counts for its rows).
  void Reject(int64_t row, const std::string& reason, int64_t count = 1);
  void Merge(const DataQuality& o);
};

// The leaves of one interval: for each combination of dimension value ids,
// one Aggregate per measure. Flat (every leaf's ids in one vector, its
// aggregates in another, an open-addressing index over them; with one
// dimension, an index by its value id): a leaf costs no allocation of its
// own, which matters with many series x intervals.
class LeafTable {
 public:
  LeafTable(size_t dimensions, size_t measures) : nd_(dimensions), nm_(measures) {}
  // The measures' aggregates of the leaf `ids` (nd values), added with empty
  // aggregates when absent (then *added is set). Valid until the next Add.
  Aggregate* Add(const int32_t* ids, bool* added = nullptr);
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  size_t dimensions() const { return nd_; }
  const int32_t* Ids(size_t leaf) const { return ids_.data() + leaf * nd_; }
  const Aggregate* Aggregates(size_t leaf) const { return aggs_.data() + leaf * nm_; }
  // Leaf positions in the order of their ids (lexicographic).
  std::vector<uint32_t> SortedOrder() const;
  // Frees the leaves (after the interval is processed).
  void Release();

 private:
  uint64_t Hash(const int32_t* ids) const;
  void Grow();
  size_t nd_, nm_;
  size_t count_ = 0;
  std::vector<int32_t> ids_;     // count_ x nd_
  std::vector<Aggregate> aggs_;  // count_ x nm_
  std::vector<uint32_t> slots_;  // leaf + 1, or 0 for an empty slot
  // One dimension: leaf + 1 (0: none) by value id, for ids >= 0; other
  // leaves are in slots_.
  std::vector<uint32_t> direct_;
};

struct IntervalLeaves {
  IntervalLeaves(size_t dimensions, size_t measures) : leaves(dimensions, measures) {}
  LeafTable leaves;
  DataQuality quality;
};

struct SeriesPoint {
  SeriesKey key;
  std::optional<double> value;
  // An AVG measure's point: how many rows it averages (the aggregate's
  // count), which tells the model how noisy the mean is. Unset otherwise.
  std::optional<double> rows = std::nullopt;
};

// Collects rows of one query over [from, to) into intervals of `grid`.
class Aggregator final : public RowHandler {
 public:
  Aggregator(const config::Detector& detector, const IntervalGrid& grid, SeriesCatalog& catalog, Instant from,
             Instant to);

  // Fails with InvalidArgument when a configured column is missing from the
  // result, naming it and the columns the query returned.
  Status OnColumns(const std::vector<std::string>& names) override;
  // Never fails for a bad row: the row is counted as rejected. A row of a
  // pushed-down query counts for the group of rows it aggregates.
  Status OnRow(const std::vector<Cell>& cells) override;

  // Every interval start in [from, to), with its leaves (possibly none).
  std::map<Instant, IntervalLeaves>& intervals() {
    current_ = nullptr;  // the caller may erase intervals
    return intervals_;
  }
  int64_t rows_outside_range() const { return rows_outside_; }

 private:
  const config::Detector& detector_;
  const IntervalGrid& grid_;
  SeriesCatalog& catalog_;
  Instant from_, to_;
  TimestampFormat format_;
  int timestamp_col_ = -1;
  std::vector<int> dimension_cols_;
  std::vector<int> measure_cols_;
  // Per measure: the index of the measure weighing it (config::Measure::
  // weight), or -1.
  std::vector<int> weight_of_;
  // A pushed-down query (base/row.h, kPushedRowsColumn): the column of each
  // group's row count, and per measure its sum, count, min and max columns.
  int pushed_rows_col_ = -1;
  std::vector<std::array<int, 4>> pushed_cols_;
  std::vector<std::vector<bool>> filter_allows_;  // per dimension, per value id; empty = all
  std::vector<std::vector<std::string>> filter_values_;
  std::map<Instant, IntervalLeaves> intervals_;
  // The interval of the last row placed, [current_start_, current_end_).
  IntervalLeaves* current_ = nullptr;
  Instant current_start_, current_end_;
  int64_t row_number_ = 0;
  int64_t rows_outside_ = 0;
  std::vector<int32_t> scratch_ids_;
  std::vector<double> scratch_values_;
};

// The points of one interval: every leaf, plus roll-ups over up to
// `rollup_depth` dimensions (-1: all subsets). Sorted by key.
std::vector<SeriesPoint> RollUp(const config::Detector& detector, const IntervalLeaves& leaves,
                                size_t dimension_count);

}  // namespace osprey::ingest
