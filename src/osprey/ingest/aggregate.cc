#include "osprey/ingest/aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace osprey::ingest {
namespace {

constexpr size_t kMaxExamples = 5;

std::string JsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<int>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

// A number from a cell: integers, reals and numeric text. nullopt for NULL;
// an error string for anything else.
std::optional<double> CellNumber(const Cell& c, std::string* error) {
  switch (c.type) {
    case Cell::Type::kNull: return std::nullopt;
    case Cell::Type::kInteger: return static_cast<double>(c.integer);
    case Cell::Type::kReal:
      if (!std::isfinite(c.real)) {
        *error = "not a finite number";
        return std::nullopt;
      }
      return c.real;
    case Cell::Type::kText: {
      std::string_view t = c.text;
      while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
      while (!t.empty() && t.back() == ' ') t.remove_suffix(1);
      double v = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
      if (t.empty() || ec != std::errc() || p != t.data() + t.size() || !std::isfinite(v)) {
        *error = fmt::format("'{}' is not a number", c.text.substr(0, 40));
        return std::nullopt;
      }
      return v;
    }
  }
  return std::nullopt;
}

std::string CellText(const Cell& c) {
  switch (c.type) {
    case Cell::Type::kText: return std::string(c.text);
    case Cell::Type::kInteger: return std::to_string(c.integer);
    case Cell::Type::kReal: return fmt::format("{}", c.real);
    case Cell::Type::kNull: break;
  }
  return {};
}

}  // namespace

std::optional<double> Aggregate::Value(config::Aggregation a) const {
  switch (a) {
    case config::Aggregation::kSum: return count > 0 ? std::optional<double>(sum) : std::nullopt;
    case config::Aggregation::kCount: return count;
    case config::Aggregation::kAvg: return count > 0 ? std::optional<double>(sum / count) : std::nullopt;
    case config::Aggregation::kMin: return count > 0 ? std::optional<double>(min) : std::nullopt;
    case config::Aggregation::kMax: return count > 0 ? std::optional<double>(max) : std::nullopt;
  }
  return std::nullopt;
}

bool SeriesKey::IsLeaf() const {
  return std::none_of(values.begin(), values.end(), [](int32_t v) { return v == kAll; });
}

SeriesCatalog::SeriesCatalog(const config::Detector& d)
    : dimensions_(d.dimensions),
      values_(d.dimensions.size()),
      ids_(d.dimensions.size()),
      guess_(d.dimensions.size()) {
  for (const auto& m : d.measures) measures_.push_back(m.name);
}

int32_t SeriesCatalog::Intern(size_t dimension, std::string_view value) {
  std::vector<std::string>& values = values_[dimension];
  Guess& guess = guess_[dimension];
  if (guess.misses == 0 || guess.misses % 64 == 0) {
    if (static_cast<size_t>(guess.next) < values.size() && values[static_cast<size_t>(guess.next)] == value) {
      guess.misses = 0;
      return guess.next++;
    }
  }
  ++guess.misses;
  auto& ids = ids_[dimension];
  auto it = ids.find(value);
  if (it != ids.end()) {
    guess.next = it->second + 1;
    return it->second;
  }
  int32_t id = static_cast<int32_t>(values.size());
  values.emplace_back(value);
  ids.emplace(std::string(value), id);
  guess.next = id + 1;
  return id;
}

void SeriesCatalog::Reserve(size_t values) {
  for (size_t d = 0; d < values_.size(); ++d) {
    values_[d].reserve(values);
    ids_[d].reserve(values);
  }
}

int32_t SeriesCatalog::Find(size_t dimension, std::string_view value) const {
  auto it = ids_[dimension].find(value);
  return it == ids_[dimension].end() ? -2 : it->second;
}

std::string SeriesCatalog::DimsJson(const SeriesKey& key) const {
  std::string out = "{";
  bool first = true;
  for (size_t d = 0; d < key.values.size(); ++d) {
    if (key.values[d] == kAll) continue;
    if (!first) out += ",";
    first = false;
    out += fmt::format("\"{}\":\"{}\"", JsonEscape(dimensions_[d]), JsonEscape(Value(d, key.values[d])));
  }
  out += "}";
  return out;
}

std::string SeriesCatalog::Label(const SeriesKey& key) const {
  std::string out = measures_[key.measure];
  if (key.values.empty()) return out;
  out += "{";
  for (size_t d = 0; d < key.values.size(); ++d) {
    if (d) out += ", ";
    out += dimensions_[d] + "=" + (key.values[d] == kAll ? std::string("ALL") : Value(d, key.values[d]));
  }
  out += "}";
  return out;
}

void DataQuality::Reject(int64_t row, const std::string& reason, int64_t count) {
  rows_rejected += count;
  rejected_by_reason[reason.substr(0, reason.find(':'))] += count;
  if (examples.size() < kMaxExamples) examples.push_back(fmt::format("row {}: {}", row, reason));
}

void DataQuality::Merge(const DataQuality& o) {
  rows_read += o.rows_read;
  rows_rejected += o.rows_rejected;
  rows_filtered += o.rows_filtered;
  for (const auto& [k, v] : o.rejected_by_reason) rejected_by_reason[k] += v;
  for (const auto& e : o.examples) {
    if (examples.size() < kMaxExamples) examples.push_back(e);
  }
}

Aggregator::Aggregator(const config::Detector& detector, const IntervalGrid& grid, SeriesCatalog& catalog,
                       Instant from, Instant to)
    : detector_(detector),
      grid_(grid),
      catalog_(catalog),
      from_(from),
      to_(to),
      format_(*TimestampFormat::Parse("epoch")) {
  auto f = TimestampFormat::Parse(detector.timestamp_format);
  if (f.ok()) format_ = *f;  // the loader has validated it
  for (const auto& m : detector.measures) {
    const std::optional<size_t> w = m.weight ? config::FindMeasure(detector, *m.weight) : std::nullopt;
    weight_of_.push_back(w ? static_cast<int>(*w) : -1);
  }
  for (Instant s : grid.Starts(from, to)) {
    intervals_.try_emplace(s, detector.dimensions.size(), detector.measures.size());
  }
  filter_values_.resize(detector.dimensions.size());
  for (const auto& filter : detector.filters) {
    auto it = std::find(detector.dimensions.begin(), detector.dimensions.end(), filter.dimension);
    if (it == detector.dimensions.end()) continue;
    auto& vals = filter_values_[static_cast<size_t>(it - detector.dimensions.begin())];
    vals.insert(vals.end(), filter.values.begin(), filter.values.end());
  }
}

Status Aggregator::OnColumns(const std::vector<std::string>& names) {
  auto find = [&](const std::string& want) -> int {
    for (size_t i = 0; i < names.size(); ++i) {
      if (names[i] == want) return static_cast<int>(i);
    }
    for (size_t i = 0; i < names.size(); ++i) {  // SQL folds case; accept that
      if (names[i].size() == want.size() &&
          std::equal(names[i].begin(), names[i].end(), want.begin(),
                     [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
        return static_cast<int>(i);
      }
    }
    return -1;
  };
  auto missing = [&](const std::string& what, const std::string& col) {
    std::string have;
    for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
    return InvalidArgument(fmt::format("detector '{}': the query returns no column '{}' ({}); it returns: {}",
                                       detector_.name, col, what, have));
  };
  timestamp_col_ = find(detector_.timestamp_column);
  if (timestamp_col_ < 0) return missing("timestamp column", detector_.timestamp_column);
  dimension_cols_.clear();
  for (const auto& d : detector_.dimensions) {
    int c = find(d);
    if (c < 0) return missing("dimension", d);
    dimension_cols_.push_back(c);
  }
  measure_cols_.clear();
  pushed_rows_col_ = find(std::string(kPushedRowsColumn));
  for (const auto& m : detector_.measures) {
    // A pushed-down query has the measures' aggregates instead (below).
    int c = pushed_rows_col_ >= 0 ? -1 : find(m.name);
    if (c < 0 && pushed_rows_col_ < 0) return missing("measure", m.name);
    measure_cols_.push_back(c);
  }
  pushed_cols_.clear();
  if (pushed_rows_col_ >= 0) {
    for (size_t m = 0; m < detector_.measures.size(); ++m) {
      std::array<int, 4> cols{};
      const std::string_view prefixes[] = {kPushedSumPrefix, kPushedCountPrefix, kPushedMinPrefix,
                                           kPushedMaxPrefix};
      for (size_t k = 0; k < 4; ++k) {
        const std::string name = fmt::format("{}{}", prefixes[k], m);
        cols[k] = find(name);
        if (cols[k] < 0) return missing("aggregate of a pushed-down query", name);
      }
      pushed_cols_.push_back(cols);
    }
  }
  return Status::Ok();
}

Status Aggregator::OnRow(const std::vector<Cell>& cells) {
  ++row_number_;
  int64_t n = 1;  // source rows this row stands for
  if (pushed_rows_col_ >= 0) {
    std::string error;
    auto rows = CellNumber(cells[static_cast<size_t>(pushed_rows_col_)], &error);
    if (!rows || !error.empty() || *rows < 1) {
      return InvalidArgument(
          fmt::format("detector '{}': a pushed-down group without a row count", detector_.name));
    }
    n = static_cast<int64_t>(*rows);
  }
  // Quality is counted on the interval the row belongs to; rows that cannot
  // be placed count on the first interval of the query.
  IntervalLeaves* fallback = intervals_.empty() ? nullptr : &intervals_.begin()->second;
  auto reject_unplaced = [&](const std::string& reason) {
    if (fallback) {
      fallback->quality.rows_read += n;
      fallback->quality.Reject(row_number_, reason, n);
    }
    return Status::Ok();
  };
  const Cell& tc = cells[static_cast<size_t>(timestamp_col_)];
  Instant ts, other;
  if (tc.type == Cell::Type::kNull) return reject_unplaced("timestamp is NULL");
  if (tc.type == Cell::Type::kText) {
    auto parsed = format_.ParseValue(tc.text, config::SourceZone(detector_), &other);
    if (!parsed.ok()) return reject_unplaced("bad timestamp: " + parsed.status().message());
    ts = *parsed;
  } else if (std::optional<Instant> t;
             tc.type == Cell::Type::kInteger && (t = format_.EpochValue(tc.integer)).has_value()) {
    // An epoch as a number: what ParseValue makes of its text, without it.
    ts = other = *t;
  } else {
    auto parsed = format_.ParseValue(CellText(tc), config::SourceZone(detector_), &other);
    if (!parsed.ok()) {
      return reject_unplaced("bad timestamp: a number where the format is '" + detector_.timestamp_format +
                             "'");
    }
    ts = *parsed;
  }
  // A naive local time that the source zone's clocks show twice (the hour
  // repeated when DST ends) or skip (the hour when it starts) can mean two
  // instants. Where they fall in different intervals, the row cannot be
  // placed: read as the first, fall-back's two 01:00 hours were summed into
  // one (a doubled hour, alerted on every series) and the other was empty.
  // The row is rejected, so both intervals are missing rather than wrong.
  if (other != ts && grid_.Floor(other) != grid_.Floor(ts)) {
    return reject_unplaced(fmt::format(
        "ambiguous local time: {} {} in {} (DST {}), and the two instants are in different intervals; "
        "store UTC or an offset and set timestamp.timezone",
        tc.type == Cell::Type::kText ? std::string(tc.text) : CellText(tc),
        ts < other ? "is shown twice" : "does not exist", config::SourceZone(detector_).name(),
        ts < other ? "ends" : "starts"));
  }
  if (ts < from_ || ts >= to_) {
    rows_outside_ += n;
    return reject_unplaced(
        fmt::format("timestamp outside the queried range: {} is not in [{}, {}) (does the query use "
                    "{{{{interval_start}}}} and {{{{interval_end}}}}?)",
                    FormatIso(ts), FormatIso(from_), FormatIso(to_)));
  }
  // Rows come mostly interval by interval: the interval of the row before
  // is tried first (an interval is the instants from its start up to the
  // next one's).
  if (current_ == nullptr || ts < current_start_ || ts >= current_end_) {
    current_start_ = grid_.Floor(ts);
    current_end_ = grid_.Next(current_start_);
    current_ = &intervals_.try_emplace(current_start_, detector_.dimensions.size(), detector_.measures.size())
                    .first->second;
  }
  IntervalLeaves& interval = *current_;
  interval.quality.rows_read += n;
  scratch_ids_.resize(dimension_cols_.size());
  for (size_t d = 0; d < dimension_cols_.size(); ++d) {
    const Cell& c = cells[static_cast<size_t>(dimension_cols_[d])];
    if (c.type == Cell::Type::kNull) {
      interval.quality.Reject(row_number_, "dimension is NULL: " + detector_.dimensions[d], n);
      return Status::Ok();
    }
    // Text cells are looked up as they are; only other types are rendered.
    std::string rendered;
    if (c.type != Cell::Type::kText) rendered = CellText(c);
    const std::string_view text = c.type == Cell::Type::kText ? c.text : std::string_view(rendered);
    if (!filter_values_[d].empty() &&
        std::find(filter_values_[d].begin(), filter_values_[d].end(), text) == filter_values_[d].end()) {
      interval.quality.rows_filtered += n;
      return Status::Ok();
    }
    scratch_ids_[d] = catalog_.Intern(d, text);
  }
  const size_t nm = measure_cols_.size();
  if (pushed_rows_col_ >= 0) {
    // The group's aggregates, merged as its rows would have been added.
    Aggregate* aggs = interval.leaves.Add(scratch_ids_.data());
    for (size_t m = 0; m < nm; ++m) {
      std::optional<double> parts[4];
      for (size_t k = 0; k < 4; ++k) {
        std::string error;
        parts[k] = CellNumber(cells[static_cast<size_t>(pushed_cols_[m][k])], &error);
        if (!error.empty()) {
          return InvalidArgument(fmt::format("detector '{}': pushed-down aggregate of {}: {}", detector_.name,
                                             detector_.measures[m].name, error));
        }
      }
      if (!parts[1] || *parts[1] <= 0) continue;  // no value in the group
      ingest::Aggregate a;
      a.sum = parts[0].value_or(0);
      a.count = *parts[1];
      a.min = parts[2].value_or(a.min);
      a.max = parts[3].value_or(a.max);
      aggs[m].Merge(a);
    }
    return Status::Ok();
  }
  scratch_values_.resize(nm);
  std::vector<double>& values = scratch_values_;
  for (size_t m = 0; m < nm; ++m) {
    std::string error;
    auto v = CellNumber(cells[static_cast<size_t>(measure_cols_[m])], &error);
    if (!error.empty()) {
      interval.quality.Reject(row_number_, "bad measure: " + detector_.measures[m].name + " " + error);
      return Status::Ok();
    }
    values[m] = v.value_or(std::numeric_limits<double>::quiet_NaN());
  }
  Aggregate* aggs = interval.leaves.Add(scratch_ids_.data());
  for (size_t m = 0; m < nm; ++m) {
    if (std::isnan(values[m])) continue;
    if (weight_of_[m] < 0) {
      aggs[m].Add(values[m]);
      continue;
    }
    // A row that averages no rows (or an unknown number) has no value to weigh.
    const double w = values[static_cast<size_t>(weight_of_[m])];
    if (w > 0) aggs[m].AddWeighted(values[m], w);
  }
  return Status::Ok();
}

std::vector<SeriesPoint> RollUp(const config::Detector& detector, const IntervalLeaves& leaves,
                                size_t dimension_count) {
  const size_t nd = dimension_count;
  const size_t nm = detector.measures.size();
  int depth = detector.rollup_depth < 0 ? static_cast<int>(nd) : detector.rollup_depth;
  const LeafTable& table = leaves.leaves;
  const std::vector<uint32_t> order = table.SortedOrder();
  // The roll-ups (masks other than 0) are summed in a map, adding the leaves
  // in key order; the leaves themselves are merged with the roll-ups below
  // instead of being copied into the map.
  std::map<DimValues, std::vector<Aggregate>> rollups;
  // One key buffer for every leaf, and the roll-up of the leaf before when
  // the key is the same (leaves in key order mostly share their roll-ups
  // with their neighbours): no allocation and no map search per leaf.
  DimValues key(nd, 0);
  for (uint32_t mask = 1; mask < (1u << nd); ++mask) {
    if (std::popcount(mask) > depth) continue;
    std::vector<Aggregate>* dst = nullptr;
    for (uint32_t leaf : order) {
      const int32_t* ids = table.Ids(leaf);
      bool same = dst != nullptr;
      for (size_t d = 0; d < nd; ++d) {
        const int32_t v = (mask & (1u << d)) ? kAll : ids[d];
        if (v != key[d]) {
          key[d] = v;
          same = false;
        }
      }
      if (!same) {
        auto it = rollups.find(key);
        if (it == rollups.end()) it = rollups.emplace(key, std::vector<Aggregate>(nm)).first;
        dst = &it->second;
      }
      const Aggregate* aggs = table.Aggregates(leaf);
      for (size_t m = 0; m < nm; ++m) (*dst)[m].Merge(aggs[m]);
    }
  }
  // A leaf and a roll-up never share a key (a roll-up has a kAll), so the
  // merged sequence is the sorted union.
  std::vector<SeriesPoint> out;
  out.reserve((order.size() + rollups.size()) * nm);
  for (uint32_t m = 0; m < nm; ++m) {
    const config::Aggregation aggregation = detector.measures[m].aggregation;
    const auto rows = [aggregation](const Aggregate& a) {
      return aggregation == config::Aggregation::kAvg && a.count > 0 ? std::optional<double>(a.count)
                                                                     : std::nullopt;
    };
    size_t next = 0;
    auto up = rollups.begin();
    while (next < order.size() || up != rollups.end()) {
      const int32_t* ids = next < order.size() ? table.Ids(order[next]) : nullptr;
      if (up == rollups.end() ||
          (ids && std::lexicographical_compare(ids, ids + nd, up->first.begin(), up->first.end()))) {
        // As a map of every series would hold it: the leaf merged into an
        // empty aggregate.
        Aggregate a;
        a.Merge(table.Aggregates(order[next])[m]);
        out.push_back({SeriesKey{m, DimValues(ids, ids + nd)}, a.Value(aggregation), rows(a)});
        ++next;
      } else {
        out.push_back({SeriesKey{m, up->first}, up->second[m].Value(aggregation), rows(up->second[m])});
        ++up;
      }
    }
  }
  return out;
}

uint64_t LeafTable::Hash(const int32_t* ids) const {
  uint64_t h = 0x9e3779b97f4a7c15ULL;
  for (size_t d = 0; d < nd_; ++d) {
    h ^= static_cast<uint32_t>(ids[d]);
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 32;
  }
  return h;
}

Aggregate* LeafTable::Add(const int32_t* ids, bool* added) {
  if (added) *added = false;
  if (nd_ == 1 && ids[0] >= 0) {
    // One dimension: its value id (the catalog's, dense from 0) is the
    // leaf's place in `direct_`, found without hashing or comparing.
    const size_t id = static_cast<size_t>(ids[0]);
    if (id >= direct_.size()) direct_.resize(std::max<size_t>({id + 1, direct_.size() * 2, 16}), 0);
    uint32_t& slot = direct_[id];
    if (slot != 0) return aggs_.data() + (slot - 1) * nm_;
    const size_t leaf = count_++;
    slot = static_cast<uint32_t>(leaf + 1);
    ids_.push_back(ids[0]);
    aggs_.resize(aggs_.size() + nm_);
    if (added) *added = true;
    return aggs_.data() + leaf * nm_;
  }
  if ((count_ + 1) * 2 > slots_.size()) Grow();
  const size_t mask = slots_.size() - 1;
  for (size_t i = Hash(ids) & mask;; i = (i + 1) & mask) {
    const uint32_t slot = slots_[i];
    if (slot == 0) {
      const size_t leaf = count_++;
      slots_[i] = static_cast<uint32_t>(leaf + 1);
      ids_.insert(ids_.end(), ids, ids + nd_);
      aggs_.resize(aggs_.size() + nm_);
      if (added) *added = true;
      return aggs_.data() + leaf * nm_;
    }
    if (std::equal(ids, ids + nd_, Ids(slot - 1))) return aggs_.data() + (slot - 1) * nm_;
  }
}

void LeafTable::Grow() {
  size_t size = std::max<size_t>(16, slots_.size() * 2);
  while (size < (count_ + 1) * 2) size *= 2;  // leaves in direct_ count too
  std::vector<uint32_t> slots(size, 0);
  const size_t mask = slots.size() - 1;
  for (size_t leaf = 0; leaf < count_; ++leaf) {
    if (nd_ == 1 && Ids(leaf)[0] >= 0) continue;  // in direct_
    size_t i = Hash(Ids(leaf)) & mask;
    while (slots[i] != 0) i = (i + 1) & mask;
    slots[i] = static_cast<uint32_t>(leaf + 1);
  }
  slots_ = std::move(slots);
}

std::vector<uint32_t> LeafTable::SortedOrder() const {
  std::vector<uint32_t> order(count_);
  for (size_t i = 0; i < count_; ++i) order[i] = static_cast<uint32_t>(i);
  auto before = [&](uint32_t a, uint32_t b) {
    return std::lexicographical_compare(Ids(a), Ids(a) + nd_, Ids(b), Ids(b) + nd_);
  };
  // A source that returns its rows in key order every interval adds the
  // leaves in that order (their ids interned in it): checked in one pass
  // instead of sorted (a sort of 100 k sorted leaves was 1 % of a
  // backtest). The keys are distinct, so either way the order is the one.
  if (std::is_sorted(order.begin(), order.end(), before)) return order;
  std::sort(order.begin(), order.end(), before);
  return order;
}

void LeafTable::Release() {
  count_ = 0;
  std::vector<int32_t>().swap(ids_);
  std::vector<Aggregate>().swap(aggs_);
  std::vector<uint32_t>().swap(slots_);
  std::vector<uint32_t>().swap(direct_);
}

}  // namespace osprey::ingest
