#include "osprey/store/point_block.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <iterator>
#include <limits>
#include <optional>
#include <span>

#include "osprey/base/time.h"

namespace osprey::store {
namespace {

// Version 2 added kMirrored (version-1 blocks are read as they were).
constexpr uint8_t kVersion = 2;
// Presence of a field.
constexpr uint8_t kNone = 0, kAll = 1, kBitmap = 2;
// How a field's present entries are stored.
constexpr uint8_t kXor = 0, kScaled = 1, kQuantized = 2, kHundredths = 3;
// `upper` only, where `lower` is quantized at the same points: the band is
// mostly symmetric, so upper's distance to expected is stored as its
// difference from lower's (mostly 0); where lower is exactly 0 (a band cut
// at zero) upper's distance is stored as it is, in a column of its own.
constexpr uint8_t kMirrored = 4;
// A column's mode byte: its bit width (0..64) when bit-packed, kVarints when
// written as varints; plus kSecondOrder when a Deltas column holds the
// deltas of its deltas.
constexpr uint8_t kVarints = 0x7F;
constexpr uint8_t kSecondOrder = 0x80;
// Series a sealing pass reads at a time (their head rows of the closed
// days): a chunk's, and an old store's, whose rows may span years.
constexpr size_t kSealSeries = 1000;
constexpr size_t kSealOldSeries = 50;
// Points per series of the open span from which a chunk writes them as a
// block rather than head rows.
constexpr size_t kMinOpenBlockPoints = 4;
constexpr double kPow10[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
constexpr int kMaxScale = 6;
// |x| below this is held exactly by a double and fits an int64 with room.
constexpr double kMaxExactInt = 9007199254740992.0;  // 2^53

// Wrapping arithmetic: a corrupt block may hold any numbers.
int64_t Sub(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) - static_cast<uint64_t>(b));
}
int64_t Add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
// x * 2^e, as std::ldexp gives it: a product with a power of two is
// rounded once, as ldexp rounds, so where 2^e is a normal double the
// product is ldexp's result, at a fraction of its cost.
double Scale2(double x, int e) {
  if (e < -1022 || e > 1023) return std::ldexp(x, e);
  return x * std::bit_cast<double>(static_cast<uint64_t>(e + 1023) << 52);
}
uint64_t Zigzag(int64_t v) { return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63); }
int64_t Unzigzag(uint64_t v) { return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1); }

// Bytes a varint of `v` takes.
size_t VarintSize(uint64_t v) {
  return std::max<size_t>(1, (static_cast<size_t>(std::bit_width(v)) + 6) / 7);
}

// How a column of zigzagged integers is written: bit-packed at `width` bits
// or, when that is longer, as varints; `bytes` after the mode byte.
struct ColumnForm {
  int width = 0;
  bool varints = false;
  size_t bytes = 0;
};
ColumnForm FormOf(std::span<const uint64_t> zz) {
  uint64_t max = 0;
  for (uint64_t v : zz) max |= v;
  ColumnForm f;
  f.width = static_cast<int>(std::bit_width(max));
  const size_t packed = (zz.size() * static_cast<size_t>(f.width) + 7) / 8;
  f.bytes = packed;
  // Varints take a byte an entry at least: only a column wider than that
  // may be shorter as varints.
  if (packed <= zz.size()) return f;
  // A byte for each entry, and one more for each 7 bits above the first 7.
  size_t varint_bytes = zz.size();
  for (int shift = 7; shift < f.width; shift += 7) {
    for (uint64_t v : zz) varint_bytes += (v >> shift) != 0;
  }
  f.varints = packed > varint_bytes;
  if (f.varints) f.bytes = varint_bytes;
  return f;
}

class Writer {
 public:
  explicit Writer(std::string* out) : out_(*out) {}
  void Byte(uint8_t b) { out_.push_back(static_cast<char>(b)); }
  void Varint(uint64_t v) {
    char buf[10];
    size_t k = 0;
    while (v >= 0x80) {
      buf[k++] = static_cast<char>(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    buf[k++] = static_cast<char>(static_cast<uint8_t>(v));
    out_.append(buf, k);
  }
  void Signed(int64_t v) { Varint(Zigzag(v)); }
  // Zigzagged integers, bit-packed at the widest one's width or as
  // varints, whichever is shorter.
  void Column(std::span<const uint64_t> zz, uint8_t order = 0) { Column(zz, FormOf(zz), order); }
  void Column(std::span<const uint64_t> zz, const ColumnForm& form, uint8_t order) {
    if (zz.empty()) return;
    if (form.varints) {
      Byte(kVarints | order);
      for (uint64_t v : zz) Varint(v);
      return;
    }
    const int w = form.width;
    Byte(static_cast<uint8_t>(w | order));
    const size_t at = out_.size();
    out_.resize(at + form.bytes);
    auto* p = reinterpret_cast<unsigned char*>(out_.data() + at);
    // Each entry's bits after the last one's, low bits first: an
    // accumulator of fewer than 8 pending bits takes up to 56 more at once.
    uint64_t acc = 0;
    int pending = 0;
    auto put = [&](uint64_t bits, int count) {
      acc |= bits << pending;
      pending += count;
      while (pending >= 8) {
        *p++ = static_cast<unsigned char>(acc);
        acc >>= 8;
        pending -= 8;
      }
    };
    if (w <= 56) {
      for (uint64_t v : zz) put(v, w);
    } else {
      for (uint64_t v : zz) {
        put(v & 0xFFFFFFFFu, 32);
        put(v >> 32, w - 32);
      }
    }
    if (pending > 0) *p = static_cast<unsigned char>(acc);
  }
  // `xs` as Deltas writes it: the first one, then a column of the deltas or
  // of the deltas of the deltas (smooth curves), whichever is shorter.
  // Plan it to know its size, then write it.
  struct DeltaPlan {
    std::span<const int64_t> xs;
    std::vector<uint64_t> first, second;
    ColumnForm form;
    bool second_order = false;
    size_t bytes = 0;
  };
  static void Plan(std::span<const int64_t> xs, DeltaPlan* p) {
    p->xs = xs;
    p->bytes = 0;
    if (xs.empty()) return;
    p->bytes = VarintSize(Zigzag(xs[0]));
    if (xs.size() == 1) return;
    p->first.resize(xs.size() - 1);
    p->second.resize(xs.size() - 1);
    int64_t prev_d = 0;
    for (size_t i = 1; i < xs.size(); ++i) {
      const int64_t d = Sub(xs[i], xs[i - 1]);
      p->first[i - 1] = Zigzag(d);
      p->second[i - 1] = i == 1 ? Zigzag(d) : Zigzag(Sub(d, prev_d));
      prev_d = d;
    }
    const ColumnForm a = FormOf(p->first), b = FormOf(p->second);
    p->second_order = b.bytes < a.bytes;
    p->form = p->second_order ? b : a;
    p->bytes += 1 + p->form.bytes;
  }
  void Deltas(const DeltaPlan& p) {
    if (p.xs.empty()) return;
    Signed(p.xs[0]);
    if (p.xs.size() == 1) return;
    if (p.second_order) {
      Column(p.second, p.form, kSecondOrder);
    } else {
      Column(p.first, p.form, 0);
    }
  }
  void Deltas(std::span<const int64_t> xs) {
    thread_local DeltaPlan plan;
    Plan(xs, &plan);
    Deltas(plan);
  }
  // Exact doubles: each one's bits XOR the one before, without its leading
  // and trailing zero bytes (a header byte: leading zero bytes << 4 | length).
  void Xor(std::span<const double> xs) {
    uint64_t prev = 0;
    for (double x : xs) {
      const uint64_t bits = std::bit_cast<uint64_t>(x);
      const uint64_t d = bits ^ prev;
      prev = bits;
      if (d == 0) {
        Byte(0x80);
        continue;
      }
      const int lz = std::countl_zero(d) / 8, tz = std::countr_zero(d) / 8;
      const int len = 8 - lz - tz;
      char buf[9];
      buf[0] = static_cast<char>(static_cast<uint8_t>(lz << 4 | len));
      const uint64_t kept = d >> (8 * tz);  // its bytes, low first
      if constexpr (std::endian::native == std::endian::little) {
        std::memcpy(buf + 1, &kept, 8);
      } else {
        for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(static_cast<uint8_t>(kept >> (8 * i)));
      }
      out_.append(buf, static_cast<size_t>(1 + len));
    }
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view d) : d_(d) {}
  bool ok() const { return ok_; }
  bool done() const { return pos_ == d_.size(); }
  const char* error() const { return error_; }
  bool Fail(const char* why) {
    if (ok_) error_ = why;
    ok_ = false;
    return false;
  }
  uint8_t Byte() {
    if (pos_ >= d_.size()) {
      Fail("truncated");
      return 0;
    }
    return static_cast<uint8_t>(d_[pos_++]);
  }
  uint64_t Varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      const uint8_t b = Byte();
      if (!ok_) return 0;
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    Fail("varint too long");
    return 0;
  }
  int64_t Signed() { return Unzigzag(Varint()); }
  // A column of n entries; *second_order tells a Deltas column's order.
  bool Column(size_t n, std::vector<uint64_t>* zz, bool* second_order = nullptr) {
    zz->clear();
    if (n == 0) return ok_;
    uint8_t mode = Byte();
    if (!ok_) return false;
    if (mode & kSecondOrder) {
      if (second_order == nullptr) return Fail("unknown column encoding");
      *second_order = true;
      mode = static_cast<uint8_t>(mode & ~kSecondOrder);
    }
    if (mode == kVarints) {
      for (size_t i = 0; i < n && ok_; ++i) zz->push_back(Varint());
      return ok_;
    }
    if (mode > 64) return Fail("unknown column encoding");
    const int w = mode;
    const size_t packed = (n * static_cast<size_t>(w) + 7) / 8;
    if (d_.size() - pos_ < packed) return Fail("truncated column");
    const auto* p = reinterpret_cast<const unsigned char*>(d_.data() + pos_);
    const auto* end = p + packed;
    pos_ += packed;
    zz->resize(n);
    // The entries' bits, low bits first, through an accumulator topped up
    // a byte at a time (never past the column's last byte).
    uint64_t acc = 0;
    int have = 0;
    auto take = [&](int count) {
      while (have < count) {
        acc |= static_cast<uint64_t>(p < end ? *p++ : 0) << have;
        have += 8;
      }
      const uint64_t v = count == 64 ? acc : acc & ((uint64_t{1} << count) - 1);
      acc = count == 64 ? 0 : acc >> count;
      have -= count;
      return v;
    };
    if (w <= 56) {
      for (size_t i = 0; i < n; ++i) (*zz)[i] = take(w);
    } else {
      for (size_t i = 0; i < n; ++i) {
        const uint64_t low = take(32);
        (*zz)[i] = low | take(w - 32) << 32;
      }
    }
    return true;
  }
  bool Deltas(size_t n, std::vector<int64_t>* xs) {
    xs->clear();
    if (n == 0) return ok_;
    int64_t x = Signed();
    thread_local std::vector<uint64_t> zz;
    bool second = false;
    if (!ok_ || !Column(n - 1, &zz, &second)) return false;
    xs->resize(n);
    (*xs)[0] = x;
    int64_t d = 0;
    for (size_t i = 0; i < zz.size(); ++i) {
      d = second && i > 0 ? Add(d, Unzigzag(zz[i])) : Unzigzag(zz[i]);
      (*xs)[i + 1] = x = Add(x, d);
    }
    return true;
  }
  bool Xor(size_t n, std::vector<double>* xs) {
    xs->clear();
    uint64_t prev = 0;
    for (size_t i = 0; i < n; ++i) {
      const uint8_t h = Byte();
      if (!ok_) return false;
      const int lz = h >> 4, len = h & 0x0F;
      if (lz > 8 || len > 8 - lz || (len == 0 && lz != 8)) return Fail("bad float header");
      if (d_.size() - pos_ < static_cast<size_t>(len)) return Fail("truncated");
      uint64_t d = 0;
      const int tz = 8 - lz - len;
      for (int k = 0; k < len; ++k)
        d |= static_cast<uint64_t>(static_cast<uint8_t>(d_[pos_++])) << (8 * (tz + k));
      prev ^= d;
      xs->push_back(std::bit_cast<double>(prev));
    }
    return true;
  }

 private:
  std::string_view d_;
  size_t pos_ = 0;
  bool ok_ = true;
  const char* error_ = "";
};

using Field = std::optional<double> PointRecord::*;
constexpr Field kFields[] = {&PointRecord::value, &PointRecord::expected, &PointRecord::lower,
                             &PointRecord::upper, &PointRecord::severity};

// The smallest k with every x == round(x * 10^k) / 10^k exactly (sign of
// zero included); nullopt when there is none up to kMaxScale.
std::optional<int> ScaleOf(const std::vector<double>& xs, std::vector<int64_t>* ints) {
  for (int k = 0; k <= kMaxScale; ++k) {
    ints->clear();
    bool fits = true;
    for (double x : xs) {
      const double scaled = x * kPow10[k];
      if (!(std::fabs(scaled) < kMaxExactInt)) {
        fits = false;
        break;
      }
      // As the decoder computes it (an integer has no -0).
      const auto r = static_cast<int64_t>(std::nearbyint(scaled));
      if (std::bit_cast<uint64_t>(static_cast<double>(r) / kPow10[k]) != std::bit_cast<uint64_t>(x)) {
        fits = false;
        break;
      }
      ints->push_back(r);
    }
    if (fits) return k;
  }
  return std::nullopt;
}

bool AllFinite(const std::vector<double>& xs) {
  return std::all_of(xs.begin(), xs.end(), [](double x) { return std::isfinite(x); });
}

std::string Where(int64_t series_id, int64_t start_ts) {
  return fmt::format("point block of series {} starting {}", series_id, FormatIso(FromUnixSeconds(start_ts)));
}

Status Corrupt(int64_t series_id, int64_t start_ts, std::string_view why) {
  return DataLoss(fmt::format("{} is unreadable ({}); re-run the backtest over that day to rebuild it",
                              Where(series_id, start_ts), why));
}

bool Before(const PointRecord& a, const PointRecord& b) {
  return a.series_id != b.series_id ? a.series_id < b.series_id : a.ts < b.ts;
}

// A chunk's point, by reference (no copy of its millions of records) with
// its key beside it: ordering them and finding runs and spans then reads
// one array in order instead of the records all over the chunk.
struct PointRef {
  int64_t series_id = 0;
  int64_t ts = 0;
  const PointRecord* p = nullptr;
};
// A chunk's points in (series, ts) order.
using Ordered = std::span<const PointRef>;

// `base` with `newer` laid over it (both in ts order): a point of `newer`
// replaces the one of `base` with the same ts. `out` is work room.
void Overlay(std::vector<PointRecord>* base, std::span<const PointRecord> newer,
             std::vector<PointRecord>* out) {
  if (newer.empty()) return;
  if (base->empty()) {
    base->assign(newer.begin(), newer.end());
    return;
  }
  out->clear();
  out->reserve(base->size() + newer.size());
  size_t i = 0, j = 0;
  while (i < base->size() || j < newer.size()) {
    if (j == newer.size() || (i < base->size() && (*base)[i].ts < newer[j].ts)) {
      out->push_back((*base)[i++]);
    } else {
      if (i < base->size() && (*base)[i].ts == newer[j].ts) ++i;
      out->push_back(newer[j++]);
    }
  }
  base->swap(*out);
}

// The (series, span) a point belongs to.
std::pair<int64_t, int64_t> KeyOf(const PointRecord& p) { return {p.series_id, PointBlockStart(p.ts)}; }
std::pair<int64_t, int64_t> KeyOf(const PointRef& p) { return {p.series_id, PointBlockStart(p.ts)}; }

// Seals every (series, span) of `head` and `chunk` (both in (series, ts)
// order, all in [from, before)) with the stored block of that span.
Status Seal(PointTables& tables, int64_t from, int64_t before, int64_t exact_from,
            const std::vector<PointRecord>& head, Ordered chunk) {
  std::vector<int64_t> head_series, series;
  for (const PointRecord& p : head) {
    if (head_series.empty() || head_series.back() != p.series_id) head_series.push_back(p.series_id);
  }
  for (const PointRef& p : chunk) {
    if (series.empty() || series.back() != p.series_id) series.push_back(p.series_id);
  }
  std::vector<int64_t> both;
  std::set_union(head_series.begin(), head_series.end(), series.begin(), series.end(),
                 std::back_inserter(both));
  std::vector<StoredBlock> stored;
  if (!both.empty()) OSPREY_RETURN_IF_ERROR(tables.ReadBlocks(both, from, before, &stored));
  std::vector<StoredBlock> sealed;
  sealed.reserve(both.size());
  // One (series, span)'s points of the chunk, copied together to encode
  // them; the merge's work room.
  std::vector<PointRecord> run, merged, work;
  size_t ib = 0, ih = 0, ic = 0;
  while (ih < head.size() || ic < chunk.size()) {
    const auto key = ih == head.size()    ? KeyOf(chunk[ic])
                     : ic == chunk.size() ? KeyOf(head[ih])
                                          : std::min(KeyOf(head[ih]), KeyOf(chunk[ic]));
    while (ib < stored.size() && std::pair(stored[ib].series_id, stored[ib].start_ts) < key) ++ib;
    const size_t h0 = ih;
    run.clear();
    while (ih < head.size() && KeyOf(head[ih]) == key) ++ih;
    while (ic < chunk.size() && KeyOf(chunk[ic]) == key) run.push_back(*chunk[ic++].p);
    const bool has_block = ib < stored.size() && std::pair(stored[ib].series_id, stored[ib].start_ts) == key;
    if (!has_block && h0 == ih) {
      // The common case: only the chunk's points.
      OSPREY_ASSIGN_OR_RETURN(StoredBlock b, MakeStoredBlock(run, key.second >= exact_from));
      sealed.push_back(std::move(b));
      continue;
    }
    merged.clear();
    if (has_block) {
      OSPREY_RETURN_IF_ERROR(DecodePointBlock(stored[ib].data, key.first, key.second, &merged));
    }
    Overlay(&merged, std::span<const PointRecord>(head).subspan(h0, ih - h0), &work);
    Overlay(&merged, run, &work);
    OSPREY_ASSIGN_OR_RETURN(StoredBlock b, MakeStoredBlock(merged, key.second >= exact_from));
    sealed.push_back(std::move(b));
  }
  if (!head_series.empty()) OSPREY_RETURN_IF_ERROR(tables.DeleteHead(head_series, from, before));
  if (!sealed.empty()) OSPREY_RETURN_IF_ERROR(tables.PutBlocks(sealed));
  return Status::Ok();
}

// Seals the closed spans in [from, before) of every series of the detector
// with `closed` (the chunk's points there, in (series, ts) order), `batch`
// series at a time: memory holds their head rows, not every series'. Spans
// from exact_from on (still open) are encoded exactly.
Status SealRange(PointTables& tables, int64_t detector_id, int64_t from, int64_t before, int64_t exact_from,
                 Ordered closed, size_t batch) {
  std::vector<int64_t> all, chunk_series;
  OSPREY_RETURN_IF_ERROR(tables.DetectorSeries(detector_id, &all));
  for (const PointRef& p : closed) {
    if (chunk_series.empty() || chunk_series.back() != p.series_id) chunk_series.push_back(p.series_id);
  }
  std::vector<int64_t> series;
  std::set_union(all.begin(), all.end(), chunk_series.begin(), chunk_series.end(),
                 std::back_inserter(series));
  std::vector<PointRecord> head;
  size_t ic = 0;
  for (size_t i = 0; i < series.size(); i += batch) {
    const std::vector<int64_t> ids(
        series.begin() + static_cast<std::ptrdiff_t>(i),
        series.begin() + static_cast<std::ptrdiff_t>(std::min(series.size(), i + batch)));
    const size_t c0 = ic;
    while (ic < closed.size() && closed[ic].series_id <= ids.back()) ++ic;
    head.clear();
    OSPREY_RETURN_IF_ERROR(tables.ReadHead(ids, from, before, &head));
    if (head.empty() && c0 == ic) continue;
    OSPREY_RETURN_IF_ERROR(Seal(tables, from, before, exact_from, head, closed.subspan(c0, ic - c0)));
  }
  return Status::Ok();
}

// A block's expected and lower fields as the codec quantizes them, kept from
// block to block by the encoder and the decoder: expected's integer where
// quantized; lower's integer and its distance to expected, where quantized.
struct QuantizedFields {
  std::vector<int64_t> expected_ints, lower_ints, lower_dist;
  std::vector<uint8_t> expected_quantized, lower_quantized;

  void Reset(size_t n) {
    expected_ints.assign(n, 0);
    lower_ints.assign(n, 0);
    lower_dist.assign(n, 0);
    expected_quantized.assign(n, 0);
    lower_quantized.assign(n, 0);
  }
};

}  // namespace

int64_t PointBlockStart(int64_t ts) {
  int64_t q = ts / kPointBlockSpan;
  if (ts % kPointBlockSpan < 0) --q;
  return q * kPointBlockSpan;
}

int64_t SpanBefore(int64_t ts) {
  return ts < std::numeric_limits<int64_t>::min() + kPointBlockSpan ? std::numeric_limits<int64_t>::min()
                                                                    : ts - kPointBlockSpan;
}

bool MatchesScoredPointQuery(const ScoredPointQuery& q, const PointRecord& p) {
  return p.value && (q.with_unscored || (p.severity && *p.severity >= q.min_severity));
}

Result<std::string> EncodePointBlock(std::span<const PointRecord> points, int64_t start_ts, bool exact) {
  const size_t n = points.size();
  if (n == 0 || n > static_cast<size_t>(kMaxBlockPoints)) {
    return InvalidArgument(fmt::format("a point block holds 1 to {} points, not {}", kMaxBlockPoints, n));
  }
  for (size_t i = 0; i < n; ++i) {
    if (PointBlockStart(points[i].ts) != start_ts || (i > 0 && points[i].ts <= points[i - 1].ts) ||
        points[i].series_id != points[0].series_id) {
      return InvalidArgument(
          fmt::format("points of a block must be one series' in ts order within its span "
                      "(point {} at {})",
                      i, points[i].ts));
    }
  }
  // The work buffers are kept from block to block (a chunk encodes one or
  // two blocks per series): the block is written into `out` and copied out
  // at its size.
  thread_local struct {
    std::string out;
    std::vector<uint64_t> dod, mirrored;
    std::vector<double> xs;
    std::vector<int64_t> ints, cut;
    QuantizedFields q;
    Writer::DeltaPlan plain, cut_plan;
  } scratch;
  std::string& out = scratch.out;
  out.clear();
  Writer w(&out);
  w.Byte(kVersion);
  w.Varint(n);
  w.Signed(Sub(points[0].ts, start_ts));
  if (n > 1) w.Signed(Sub(points[1].ts, points[0].ts));
  {
    std::vector<uint64_t>& dod = scratch.dod;
    dod.clear();
    for (size_t i = 2; i < n; ++i) {
      dod.push_back(
          Zigzag(Sub(Sub(points[i].ts, points[i - 1].ts), Sub(points[i - 1].ts, points[i - 2].ts))));
    }
    w.Column(dod);
  }
  // One quantum for expected, lower and upper, so the band is stored as its
  // distance to expected.
  double max_abs = 0;
  for (const PointRecord& p : points) {
    for (Field f : {kFields[1], kFields[2], kFields[3]}) {
      if ((p.*f) && std::isfinite(*(p.*f))) max_abs = std::max(max_abs, std::fabs(*(p.*f)));
    }
  }
  int exp = 0;
  if (max_abs > 0) std::frexp(max_abs, &exp);  // 2^(exp-1) <= max_abs < 2^exp
  const int qexp = exp - 1 - kBandPrecisionBits;
  w.Signed(qexp);

  std::vector<double>& xs = scratch.xs;
  std::vector<int64_t>& ints = scratch.ints;
  scratch.q.Reset(n);
  std::vector<int64_t>& expected_ints = scratch.q.expected_ints;
  std::vector<int64_t>& lower_ints = scratch.q.lower_ints;
  std::vector<int64_t>& lower_dist = scratch.q.lower_dist;
  std::vector<uint8_t>& expected_quantized = scratch.q.expected_quantized;
  std::vector<uint8_t>& lower_quantized = scratch.q.lower_quantized;
  for (int fi = 0; fi < 5; ++fi) {
    const Field f = kFields[fi];
    xs.clear();
    size_t present = 0;
    for (const PointRecord& p : points) present += (p.*f).has_value();
    if (present == 0) {
      w.Byte(kNone);
      continue;
    }
    if (present == n) {
      w.Byte(kAll);
    } else {
      w.Byte(kBitmap);
      for (size_t i = 0; i < n; i += 8) {
        uint8_t b = 0;
        for (size_t k = 0; k < 8 && i + k < n; ++k)
          b = static_cast<uint8_t>(b | ((points[i + k].*f).has_value() << k));
        w.Byte(b);
      }
    }
    for (const PointRecord& p : points) {
      if (p.*f) xs.push_back(*(p.*f));
    }
    if (fi == 0) {
      if (std::optional<int> k = ScaleOf(xs, &ints)) {
        w.Byte(kScaled);
        w.Byte(static_cast<uint8_t>(*k));
        w.Deltas(ints);
      } else {
        w.Byte(kXor);
        w.Xor(xs);
      }
    } else if (fi <= 3) {
      if (exact || !AllFinite(xs)) {
        w.Byte(kXor);
        w.Xor(xs);
        continue;
      }
      ints.clear();
      std::vector<int64_t>& cut = scratch.cut;             // kMirrored: upper's distances where lower is 0
      std::vector<uint64_t>& mirrored = scratch.mirrored;  // ... and elsewhere their difference from lower's
      cut.clear();
      mirrored.clear();
      bool mirror = fi == 3;
      size_t j = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!(points[i].*f)) continue;
        const int64_t q = std::llround(Scale2(xs[j++], -qexp));
        if (fi == 1) {
          expected_ints[i] = q;
          expected_quantized[i] = 1;
          ints.push_back(q);
        } else {
          const int64_t ref = expected_quantized[i] ? expected_ints[i] : 0;
          const int64_t dist = fi == 2 ? Sub(ref, q) : Sub(q, ref);
          ints.push_back(dist);
          if (fi == 2) {
            lower_ints[i] = q;
            lower_dist[i] = dist;
            lower_quantized[i] = 1;
          } else if (!lower_quantized[i]) {
            mirror = false;
          } else if (lower_ints[i] == 0) {
            cut.push_back(dist);
          } else {
            mirrored.push_back(Zigzag(Sub(dist, lower_dist[i])));
          }
        }
      }
      // Mirrored only where lower is quantized at exactly upper's points.
      if (mirror) {
        for (size_t i = 0; i < n; ++i)
          mirror = mirror && (lower_quantized[i] != 0) == (points[i].*f).has_value();
      }
      // The shorter of the two forms (the plain one on a tie).
      Writer::Plan(ints, &scratch.plain);
      if (mirror) {
        Writer::Plan(cut, &scratch.cut_plan);
        const ColumnForm form = FormOf(mirrored);
        const size_t mirror_size =
            VarintSize(cut.size()) + scratch.cut_plan.bytes + (mirrored.empty() ? 0 : 1 + form.bytes);
        if (mirror_size < scratch.plain.bytes) {
          w.Byte(kMirrored);
          w.Varint(cut.size());
          w.Deltas(scratch.cut_plan);
          w.Column(mirrored, form, 0);
          continue;
        }
      }
      w.Byte(kQuantized);
      w.Deltas(scratch.plain);
    } else {
      bool fits = !exact;
      ints.clear();
      for (size_t k = 0; fits && k < xs.size(); ++k) {
        const double scaled = xs[k] * kSeverityScale;
        if (!(std::fabs(scaled) < kMaxExactInt)) {
          fits = false;
          break;
        }
        ints.push_back(std::llround(scaled));
      }
      if (fits) {
        w.Byte(kHundredths);
        w.Deltas(ints);
      } else {
        w.Byte(kXor);
        w.Xor(xs);
      }
    }
  }
  return std::string(out);
}

namespace {

// DecodePointBlock into `out`'s room for the block's points (its size
// grows by their count before the first one is decoded).
Status DecodeInto(std::string_view data, int64_t series_id, int64_t start_ts, std::vector<PointRecord>* out) {
  Reader r(data);
  const uint8_t version = r.Byte();
  if (!r.ok()) return Corrupt(series_id, start_ts, "empty");
  if (version < 1 || version > kVersion) {
    return DataLoss(
        fmt::format("{} has format version {}, unknown to this osprey (it reads {}); upgrade osprey",
                    Where(series_id, start_ts), version, kVersion));
  }
  const uint64_t count = r.Varint();
  if (!r.ok()) return Corrupt(series_id, start_ts, r.error());
  if (count == 0 || count > static_cast<uint64_t>(kMaxBlockPoints)) {
    return Corrupt(series_id, start_ts, fmt::format("{} points", count));
  }
  const size_t n = static_cast<size_t>(count);
  // The work buffers are kept from block to block.
  thread_local struct {
    std::vector<uint64_t> dod, diffs;
    std::vector<double> xs;
    std::vector<int64_t> ints, cut;
    std::vector<uint8_t> has;
    QuantizedFields q;
  } scratch;
  const size_t base = out->size();
  out->resize(base + n);
  PointRecord* points = out->data() + base;
  {
    int64_t ts = Add(start_ts, r.Signed());
    int64_t delta = n > 1 ? r.Signed() : 0;
    std::vector<uint64_t>& dod = scratch.dod;
    if (!r.ok() || !r.Column(n >= 2 ? n - 2 : 0, &dod)) return Corrupt(series_id, start_ts, r.error());
    for (size_t i = 0; i < n; ++i) {
      if (i >= 2) delta = Add(delta, Unzigzag(dod[i - 2]));
      if (i >= 1) ts = Add(ts, delta);
      if (PointBlockStart(ts) != start_ts || (i > 0 && ts <= points[i - 1].ts)) {
        return Corrupt(series_id, start_ts, "timestamps out of order or outside the day");
      }
      points[i].series_id = series_id;
      points[i].ts = ts;
    }
  }
  const int64_t qexp = r.Signed();
  if (!r.ok()) return Corrupt(series_id, start_ts, r.error());
  if (qexp < -1200 || qexp > 1200) return Corrupt(series_id, start_ts, "quantum out of range");
  std::vector<double>& xs = scratch.xs;
  std::vector<int64_t>& ints = scratch.ints;
  std::vector<uint8_t>& has = scratch.has;
  has.assign(n, 0);
  scratch.q.Reset(n);
  std::vector<int64_t>& expected_ints = scratch.q.expected_ints;
  std::vector<uint8_t>& expected_quantized = scratch.q.expected_quantized;
  std::vector<int64_t>& lower_ints = scratch.q.lower_ints;
  std::vector<int64_t>& lower_dist = scratch.q.lower_dist;
  std::vector<uint8_t>& lower_quantized = scratch.q.lower_quantized;
  for (int fi = 0; fi < 5; ++fi) {
    const uint8_t presence = r.Byte();
    if (!r.ok()) return Corrupt(series_id, start_ts, r.error());
    if (presence == kNone) continue;
    size_t m = n;
    if (presence == kAll) {
      std::fill(has.begin(), has.end(), uint8_t{1});
    } else if (presence == kBitmap) {
      m = 0;
      for (size_t i = 0; i < n; i += 8) {
        const uint8_t b = r.Byte();
        for (size_t k = 0; k < 8; ++k) {
          const bool bit = (b >> k) & 1;
          if (i + k < n) {
            has[i + k] = bit;
            m += bit;
          } else if (bit) {
            return Corrupt(series_id, start_ts, "presence bit past the last point");
          }
        }
      }
      if (!r.ok()) return Corrupt(series_id, start_ts, r.error());
    } else {
      return Corrupt(series_id, start_ts, "unknown presence encoding");
    }
    const uint8_t kind = r.Byte();
    if (!r.ok()) return Corrupt(series_id, start_ts, r.error());
    xs.clear();
    if (kind == kXor) {
      if (!r.Xor(m, &xs)) return Corrupt(series_id, start_ts, r.error());
    } else if (kind == kScaled && fi == 0) {
      const uint8_t k = r.Byte();
      if (!r.ok() || k > kMaxScale) return Corrupt(series_id, start_ts, "bad value scale");
      if (!r.Deltas(m, &ints)) return Corrupt(series_id, start_ts, r.error());
      for (int64_t v : ints) xs.push_back(static_cast<double>(v) / kPow10[k]);
    } else if (kind == kQuantized && fi >= 1 && fi <= 3) {
      if (!r.Deltas(m, &ints)) return Corrupt(series_id, start_ts, r.error());
      size_t j = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!has[i]) continue;
        int64_t q = ints[j++];
        if (fi == 1) {
          expected_ints[i] = q;
          expected_quantized[i] = 1;
        } else {
          const int64_t ref = expected_quantized[i] ? expected_ints[i] : 0;
          if (fi == 2) {
            lower_dist[i] = q;
            lower_quantized[i] = 1;
          }
          q = fi == 2 ? Sub(ref, q) : Add(q, ref);
          if (fi == 2) lower_ints[i] = q;
        }
        xs.push_back(Scale2(static_cast<double>(q), static_cast<int>(qexp)));
      }
    } else if (kind == kMirrored && fi == 3 && version >= 2) {
      const uint64_t cuts = r.Varint();
      if (!r.ok() || cuts > m) return Corrupt(series_id, start_ts, "bad mirrored band");
      std::vector<int64_t>& cut = scratch.cut;
      std::vector<uint64_t>& diffs = scratch.diffs;
      if (!r.Deltas(static_cast<size_t>(cuts), &cut) || !r.Column(m - static_cast<size_t>(cuts), &diffs)) {
        return Corrupt(series_id, start_ts, r.error());
      }
      size_t c = 0, k = 0;
      for (size_t i = 0; i < n; ++i) {
        if (!has[i]) continue;
        if (!lower_quantized[i]) return Corrupt(series_id, start_ts, "mirrored band without its lower edge");
        int64_t dist = 0;
        if (lower_ints[i] == 0) {
          if (c >= cut.size()) return Corrupt(series_id, start_ts, "bad mirrored band");
          dist = cut[c++];
        } else {
          if (k >= diffs.size()) return Corrupt(series_id, start_ts, "bad mirrored band");
          dist = Add(lower_dist[i], Unzigzag(diffs[k++]));
        }
        const int64_t ref = expected_quantized[i] ? expected_ints[i] : 0;
        xs.push_back(Scale2(static_cast<double>(Add(dist, ref)), static_cast<int>(qexp)));
      }
      if (c != cut.size() || k != diffs.size()) return Corrupt(series_id, start_ts, "bad mirrored band");
    } else if (kind == kHundredths && fi == 4) {
      if (!r.Deltas(m, &ints)) return Corrupt(series_id, start_ts, r.error());
      for (int64_t v : ints) xs.push_back(static_cast<double>(v) / kSeverityScale);
    } else {
      return Corrupt(series_id, start_ts, "unknown field encoding");
    }
    size_t j = 0;
    for (size_t i = 0; i < n; ++i) {
      if (has[i]) points[i].*kFields[fi] = xs[j++];
    }
  }
  if (!r.done()) return Corrupt(series_id, start_ts, "bytes after the last field");
  return Status::Ok();
}

}  // namespace

Status DecodePointBlock(std::string_view data, int64_t series_id, int64_t start_ts,
                        std::vector<PointRecord>* out) {
  const size_t size = out->size();
  Status s = DecodeInto(data, series_id, start_ts, out);
  if (!s.ok()) out->resize(size);
  return s;
}

Result<StoredBlock> MakeStoredBlock(std::span<const PointRecord> points, bool exact) {
  if (points.empty()) return InvalidArgument("an empty point block");
  StoredBlock b;
  b.series_id = points[0].series_id;
  b.start_ts = PointBlockStart(points[0].ts);
  b.end_ts = points.back().ts;
  b.n = static_cast<int64_t>(points.size());
  OSPREY_ASSIGN_OR_RETURN(b.data, EncodePointBlock(points, b.start_ts, exact));
  return b;
}

namespace {

// `points` in (series, ts) order, of equal (series, ts) the last one only
// (references to them): what a stable sort by Before and dropping all but
// the last of each run of equals gives. A chunk's points come interval by
// interval, every series once per interval, so the series' ids are dense
// and each series' points are already in ts order: one counting pass by
// series id places them (no comparison sort); a series' points out of ts
// order are then sorted among themselves, and sparse ids fall back to the
// sort.
std::vector<PointRef> SortedPoints(const std::vector<PointRecord>& points) {
  std::vector<PointRef> out;
  const size_t n = points.size();
  if (n == 0) return out;
  auto before = [](const PointRef& a, const PointRef& b) {
    return a.series_id != b.series_id ? a.series_id < b.series_id : a.ts < b.ts;
  };
  auto [lo, hi] = std::minmax_element(
      points.begin(), points.end(),
      [](const PointRecord& a, const PointRecord& b) { return a.series_id < b.series_id; });
  const int64_t min_id = lo->series_id;
  const uint64_t range = static_cast<uint64_t>(hi->series_id) - static_cast<uint64_t>(min_id);
  out.resize(n);
  if (range > 4 * static_cast<uint64_t>(n) + 1024) {
    for (size_t i = 0; i < n; ++i) out[i] = {points[i].series_id, points[i].ts, &points[i]};
    std::stable_sort(out.begin(), out.end(), before);
  } else {
    std::vector<size_t> at(static_cast<size_t>(range) + 2, 0);
    auto slot = [&](const PointRecord& p) {
      return static_cast<size_t>(static_cast<uint64_t>(p.series_id) - static_cast<uint64_t>(min_id));
    };
    for (const PointRecord& p : points) ++at[slot(p) + 1];
    for (size_t i = 1; i < at.size(); ++i) at[i] += at[i - 1];
    for (const PointRecord& p : points) out[at[slot(p)]++] = {p.series_id, p.ts, &p};
    // at[k] is now the end of series k's run.
    size_t begin = 0;
    for (size_t k = 0; k + 1 < at.size(); ++k) {
      const size_t end = at[k];
      bool ordered = true;
      for (size_t i = begin + 1; i < end && ordered; ++i) ordered = out[i - 1].ts <= out[i].ts;
      if (!ordered) {
        std::stable_sort(out.begin() + static_cast<std::ptrdiff_t>(begin),
                         out.begin() + static_cast<std::ptrdiff_t>(end), before);
      }
      begin = end;
    }
  }
  // The last of equal (series, ts) wins.
  size_t kept = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (i + 1 < out.size() && out[i].series_id == out[i + 1].series_id && out[i].ts == out[i + 1].ts) {
      continue;
    }
    out[kept++] = out[i];
  }
  out.resize(kept);
  return out;
}

}  // namespace

Status WritePoints(PointTables& tables, int64_t detector_id, int64_t first_ts, int64_t next_watermark,
                   const std::vector<PointRecord>& chunk_points) {
  std::vector<PointRef> points = SortedPoints(chunk_points);
  // Spans starting before `before` are closed; those from `from` on meet the
  // chunk, so this chunk closes them: sealed now, whichever series has
  // points there, so that how a range was cut into chunks does not matter.
  const int64_t closed_end = PointBlockStart(next_watermark);
  int64_t before = closed_end;
  int64_t from = PointBlockStart(first_ts);
  // A chunk of several intervals (a backtest) writes its points of the open
  // span as that span's block too, which the next chunk decodes and extends:
  // one blob per series instead of a row per point written, read back and
  // deleted. A chunk of an interval or two (live) writes head rows. Such a
  // block of the open span is exact (no field quantized): the span is
  // quantized once, when it closes, whatever chunks it was written in.
  {
    size_t open_points = 0, open_series = 0;
    int64_t last = before, prev_series = 0;
    for (const PointRef& p : points) {
      if (p.ts < before) continue;
      ++open_points;
      if (open_series == 0 || p.series_id != prev_series) ++open_series;
      prev_series = p.series_id;
      last = std::max(last, p.ts);
    }
    if (open_points > 0 && open_points >= kMinOpenBlockPoints * open_series) {
      before = PointBlockStart(last) + kPointBlockSpan;
    }
  }
  // The closed points stay in `points` (moved down in place), the open ones
  // are copied out.
  std::vector<PointRecord> open;
  size_t closed = 0;
  for (const PointRef& p : points) {
    if (p.ts < before) {
      from = std::min(from, PointBlockStart(p.ts));
      points[closed++] = p;
    } else {
      open.push_back(*p.p);
    }
  }
  points.resize(closed);
  if (from < before)
    OSPREY_RETURN_IF_ERROR(SealRange(tables, detector_id, from, before, closed_end, points, kSealSeries));
  if (!open.empty()) OSPREY_RETURN_IF_ERROR(tables.PutHead(open));
  return Status::Ok();
}

Status SealHead(PointTables& tables, int64_t detector_id, int64_t before) {
  return SealRange(tables, detector_id, std::numeric_limits<int64_t>::min(), before, before, {},
                   kSealOldSeries);
}

Result<std::optional<StoredBlock>> TruncateBlock(const StoredBlock& block, int64_t from_ts) {
  std::vector<PointRecord> points;
  OSPREY_RETURN_IF_ERROR(DecodePointBlock(block.data, block.series_id, block.start_ts, &points));
  auto cut = std::lower_bound(points.begin(), points.end(), from_ts,
                              [](const PointRecord& p, int64_t ts) { return p.ts < ts; });
  points.erase(cut, points.end());
  if (points.empty()) return std::optional<StoredBlock>();
  // The day is open again: exact, so it is quantized once when it closes.
  OSPREY_ASSIGN_OR_RETURN(StoredBlock b, MakeStoredBlock(points, /*exact=*/true));
  return std::optional<StoredBlock>(std::move(b));
}

Status MergePoints(const NextBlock& blocks, const NextHead& head, int64_t from, int64_t to,
                   const std::function<Status(const PointRecord&)>& fn) {
  std::vector<PointRecord> buf;
  size_t bi = 0;
  bool blocks_done = false;
  StoredBlock block;
  PointRecord h;
  OSPREY_ASSIGN_OR_RETURN(bool has_head, head(&h));
  for (;;) {
    while (bi == buf.size() && !blocks_done) {
      buf.clear();
      bi = 0;
      OSPREY_ASSIGN_OR_RETURN(bool more, blocks(&block));
      if (!more) {
        blocks_done = true;
        break;
      }
      OSPREY_RETURN_IF_ERROR(DecodePointBlock(block.data, block.series_id, block.start_ts, &buf));
      buf.erase(std::remove_if(buf.begin(), buf.end(),
                               [&](const PointRecord& p) { return p.ts < from || p.ts >= to; }),
                buf.end());
    }
    const bool has_block = bi < buf.size();
    if (!has_block && !has_head) return Status::Ok();
    if (has_head && (!has_block || !Before(buf[bi], h))) {
      if (has_block && buf[bi].series_id == h.series_id && buf[bi].ts == h.ts) ++bi;  // the head row wins
      if (h.ts >= from && h.ts < to) OSPREY_RETURN_IF_ERROR(fn(h));
      OSPREY_ASSIGN_OR_RETURN(has_head, head(&h));
    } else {
      OSPREY_RETURN_IF_ERROR(fn(buf[bi++]));
    }
  }
}

Status MergePoints(std::span<const StoredBlock> blocks, std::span<const PointRecord> head, int64_t from,
                   int64_t to, const std::function<Status(const PointRecord&)>& fn) {
  size_t bi = 0, hi = 0;
  return MergePoints(
      [&](StoredBlock* o) -> Result<bool> {
        if (bi == blocks.size()) return false;
        *o = blocks[bi++];
        return true;
      },
      [&](PointRecord* o) -> Result<bool> {
        if (hi == head.size()) return false;
        *o = head[hi++];
        return true;
      },
      from, to, fn);
}

}  // namespace osprey::store
