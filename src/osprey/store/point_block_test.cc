// The point block codec (point_block.h): exact values, bounded precision of
// the model's fields, nulls kept, and corrupt blocks refused without a crash.
#include "osprey/store/point_block.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>

namespace osprey::store {
namespace {

constexpr int64_t kDay = 1704067200;  // 2024-01-01T00:00:00Z, a span start

uint64_t Bits(double x) { return std::bit_cast<uint64_t>(x); }

// A point with only a value (or none).
PointRecord P(int64_t series, int64_t ts, std::optional<double> value = std::nullopt) {
  PointRecord p;
  p.series_id = series;
  p.ts = ts;
  p.value = value;
  return p;
}

std::vector<PointRecord> RoundTrip(const std::vector<PointRecord>& in) {
  auto data = EncodePointBlock(in, PointBlockStart(in[0].ts));
  EXPECT_TRUE(data.ok()) << data.status().ToString();
  std::vector<PointRecord> out;
  Status s = DecodePointBlock(*data, in[0].series_id, PointBlockStart(in[0].ts), &out);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(out.size(), in.size());
  return out;
}

// Every value bit for bit, every field's presence, and the quantized fields
// within their documented bound.
void ExpectClose(const std::vector<PointRecord>& in, const std::vector<PointRecord>& out) {
  ASSERT_EQ(in.size(), out.size());
  double max_abs = 0;
  for (const PointRecord& p : in) {
    for (auto f : {&PointRecord::expected, &PointRecord::lower, &PointRecord::upper}) {
      if (p.*f) max_abs = std::max(max_abs, std::fabs(*(p.*f)));
    }
  }
  const double bound = max_abs * std::ldexp(1.0, -(kBandPrecisionBits + 1));
  for (size_t i = 0; i < in.size(); ++i) {
    SCOPED_TRACE(testing::Message() << "point " << i);
    EXPECT_EQ(out[i].series_id, in[i].series_id);
    EXPECT_EQ(out[i].ts, in[i].ts);
    ASSERT_EQ(out[i].value.has_value(), in[i].value.has_value());
    if (in[i].value) {
      EXPECT_EQ(Bits(*out[i].value), Bits(*in[i].value)) << *in[i].value << " " << *out[i].value;
    }
    for (auto f : {&PointRecord::expected, &PointRecord::lower, &PointRecord::upper}) {
      ASSERT_EQ((out[i].*f).has_value(), (in[i].*f).has_value());
      if (in[i].*f) {
        EXPECT_LE(std::fabs(*(out[i].*f) - *(in[i].*f)), bound);
      }
    }
    ASSERT_EQ(out[i].severity.has_value(), in[i].severity.has_value());
    if (in[i].severity) {
      EXPECT_LE(std::fabs(*out[i].severity - *in[i].severity), kSeverityQuantum / 2 + 1e-12);
    }
  }
}

// One day of hourly points of series 7 with `value(i)`.
template <typename F>
std::vector<PointRecord> Day(F value) {
  std::vector<PointRecord> v;
  for (int i = 0; i < 24; ++i) {
    const double e = 1000 + 400 * std::sin(i / 24.0 * 6.283);
    v.push_back({7, kDay + i * 3600, value(i), e, e - 80.5, e + 81.25, std::fabs(std::sin(i * 1.7)) * 3});
  }
  return v;
}

TEST(PointBlockTest, CountsCentsAndArbitraryDoublesRoundTripExactly) {
  ExpectClose(Day([](int i) { return 1000.0 + i * 7 % 13; }),
              RoundTrip(Day([](int i) { return 1000.0 + i * 7 % 13; })));
  auto cents = Day([](int i) { return 12.34 + i * 0.01 - (i % 3) * 0.1; });
  ExpectClose(cents, RoundTrip(cents));
  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> u(-1e6, 1e6);
  auto arbitrary = Day([&](int) { return u(rng); });
  ExpectClose(arbitrary, RoundTrip(arbitrary));
  // Awkward values: signed zero, extremes, non-finite, subnormal.
  std::vector<double> odd = {-0.0,
                             0.0,
                             1e300,
                             -1e-300,
                             5e-324,
                             std::numeric_limits<double>::infinity(),
                             std::numeric_limits<double>::quiet_NaN(),
                             0.1,
                             9007199254740993.0};
  std::vector<PointRecord> v;
  for (size_t i = 0; i < odd.size(); ++i) v.push_back(P(7, kDay + static_cast<int64_t>(i) * 60, odd[i]));
  auto back = RoundTrip(v);
  for (size_t i = 0; i < odd.size(); ++i) EXPECT_EQ(Bits(*back[i].value), Bits(odd[i])) << i;
  // -0.0 alone must not come back as +0.0 through the integer form.
  auto zero = RoundTrip({P(7, kDay, -0.0)});
  EXPECT_TRUE(std::signbit(*zero[0].value));
}

TEST(PointBlockTest, MissingIsNeverZeroAndIrregularTimesSurvive) {
  std::vector<PointRecord> v;
  // A local-time grid around a DST change, and gaps.
  const int64_t offsets[] = {0, 3600, 7200, 14400, 18000, 18001, 21600, 50000, 86399};
  for (size_t i = 0; i < std::size(offsets); ++i) {
    PointRecord p = P(3, kDay + offsets[i]);
    if (i % 3 != 1) p.value = static_cast<double>(i);  // missing values
    if (i >= 4) {                                      // warm-up: no model view yet
      p.expected = 5.0 + static_cast<double>(i);
      p.lower = i == 6 ? std::nullopt : std::optional<double>(1.0);
      p.upper = 9.5;
      p.severity = i == 7 ? std::nullopt : std::optional<double>(0.25 * static_cast<double>(i));
    }
    v.push_back(p);
  }
  ExpectClose(v, RoundTrip(v));
  // Only missing fields.
  std::vector<PointRecord> empty = {P(3, kDay + 10), P(3, kDay + 20)};
  ExpectClose(empty, RoundTrip(empty));
}

TEST(PointBlockTest, ModelFieldsStayWithinTheirPrecisionAtEveryScale) {
  std::mt19937_64 rng(7);
  for (double scale : {1e-9, 1e-3, 1.0, 37.0, 1e6, 1e15, 1e300}) {
    SCOPED_TRACE(scale);
    std::normal_distribution<double> n(0, 1);
    std::vector<PointRecord> v;
    for (int i = 0; i < 288; ++i) {
      const double e = scale * (2 + n(rng));
      v.push_back({1, kDay + i * 300, e, e, e - scale * std::fabs(n(rng)), e + scale * std::fabs(n(rng)),
                   n(rng) * 40});
    }
    ExpectClose(v, RoundTrip(v));
  }
}

TEST(PointBlockTest, ARegularDayOfCountsIsSmall) {
  // Counts around 1,000 with noise, a smooth expected value and band, and
  // severities of a few units: what the store holds for most series.
  std::mt19937_64 rng(3);
  std::normal_distribution<double> n(0, 30);
  auto v = Day([&](int i) { return std::round(1000 + 400 * std::sin(i / 24.0 * 6.283) + n(rng)); });
  auto data = *EncodePointBlock(v, kDay);
  EXPECT_LE(data.size(), 8u * v.size()) << data.size() << " bytes for " << v.size() << " points";
}

// A day of counts whose band is symmetric around the expected value except
// where its lower edge is cut at zero (quiet night hours): what the model
// stores for most count series (its width moves with the learnt noise of
// each hour). `skew` moves each upper edge by a random fraction of the
// band, so that nothing mirrors.
std::vector<PointRecord> CountDay(double skew) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<PointRecord> v;
  for (int i = 0; i < 24; ++i) {
    const double e = 5 + 200 * std::exp(-std::pow((i - 14) / 5.0, 2));
    const double w = 4.4 * std::sqrt(e + 0.01 * e * e) * (1 + 0.3 * u(rng));
    v.push_back({7, kDay + i * 3600, std::round(e), e, std::max(0.0, e - w), e + w * (1 + skew * u(rng)),
                 std::fabs(std::sin(i * 1.7)) * 3});
  }
  return v;
}

TEST(PointBlockTest, ASymmetricBandIsStoredOnceAndAZeroCutKeepsItsUpperEdge) {
  const auto mirrored = CountDay(0), skewed = CountDay(1);
  ExpectClose(mirrored, RoundTrip(mirrored));
  ExpectClose(skewed, RoundTrip(skewed));
  const size_t a = EncodePointBlock(mirrored, kDay)->size(), b = EncodePointBlock(skewed, kDay)->size();
  std::printf("a day of counts: %zu bytes with a symmetric band, %zu with a skewed one\n", a, b);
  // The upper edges of the day's uncut points cost two bits each instead of
  // a byte or more.
  EXPECT_LE(a + 12, b);
  // Where the lower edge is cut at 0 the upper one is kept as it is.
  for (const auto& p : RoundTrip(mirrored)) {
    if (*p.lower == 0) {
      EXPECT_GT(*p.upper, 2 * *p.expected);
    }
  }
}

TEST(PointBlockTest, VersionOneBlocksAreStillRead) {
  // A version-1 block is a version-2 block without kMirrored: a day whose
  // band is a constant distance from the expected value (its upper edges
  // cost nothing as deltas) with its version byte set to 1.
  const auto day = Day([](int i) { return 1000.0 + i; });
  std::string v1 = *EncodePointBlock(day, kDay);
  v1[0] = 1;
  std::vector<PointRecord> out;
  const Status read = DecodePointBlock(v1, 7, kDay, &out);
  ASSERT_TRUE(read.ok()) << read.ToString();
  ExpectClose(day, out);
  // A mirrored band in a version-1 block is corrupt, not misread.
  std::string bad = *EncodePointBlock(CountDay(0), kDay);
  bad[0] = 1;
  out.clear();
  const Status s = DecodePointBlock(bad, 7, kDay, &out);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("unknown field encoding"), std::string::npos) << s.message();
}

TEST(PointBlockTest, EncodingRefusesPointsOutOfOrderOrOutsideTheDay) {
  EXPECT_FALSE(EncodePointBlock({}, kDay).ok());
  EXPECT_FALSE(EncodePointBlock(std::vector<PointRecord>{P(1, kDay + 60), P(1, kDay)}, kDay).ok());
  EXPECT_FALSE(EncodePointBlock(std::vector<PointRecord>{P(1, kDay), P(1, kDay)}, kDay).ok());
  EXPECT_FALSE(
      EncodePointBlock(std::vector<PointRecord>{P(1, kDay), P(1, kDay + kPointBlockSpan)}, kDay).ok());
  EXPECT_FALSE(EncodePointBlock(std::vector<PointRecord>{P(1, kDay), P(2, kDay + 60)}, kDay).ok());
}

TEST(PointBlockTest, CorruptBlocksAreRefusedWithTheirSeriesAndDay) {
  auto v = Day([](int i) { return 0.5 * i + 1e-7 * i * i; });
  v[3].value.reset();
  v[5].expected.reset();
  const std::string good = *EncodePointBlock(v, kDay);
  std::vector<PointRecord> out;
  // Every strict prefix is incomplete.
  for (size_t len = 0; len < good.size(); ++len) {
    Status s = DecodePointBlock(good.substr(0, len), 7, kDay, &out);
    ASSERT_EQ(s.code(), StatusCode::kDataLoss) << len;
    EXPECT_NE(s.message().find("series 7 starting 2024-01-01T00:00:00Z"), std::string::npos) << s.message();
  }
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(DecodePointBlock(good + '\0', 7, kDay, &out).code(), StatusCode::kDataLoss);
  std::string future = good;
  future[0] = 9;
  Status s = DecodePointBlock(future, 7, kDay, &out);
  EXPECT_EQ(s.code(), StatusCode::kDataLoss);
  EXPECT_NE(s.message().find("version 9"), std::string::npos) << s.message();
  // Any byte changed, and random bytes: an error or points, never a crash.
  std::mt19937_64 rng(11);
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      out.clear();
      if (DecodePointBlock(bad, 7, kDay, &out).ok()) {
        for (size_t k = 1; k < out.size(); ++k) EXPECT_LT(out[k - 1].ts, out[k].ts);
      }
    }
  }
  for (int round = 0; round < 2000; ++round) {
    std::string junk(static_cast<size_t>(rng() % 64), '\0');
    for (char& c : junk) c = static_cast<char>(rng());
    if (!junk.empty()) junk[0] = 1;
    out.clear();
    (void)DecodePointBlock(junk, 7, kDay, &out);
  }
}

TEST(PointBlockTest, TruncatingKeepsOnlyEarlierPoints) {
  auto v = Day([](int i) { return static_cast<double>(i); });
  StoredBlock b = *MakeStoredBlock(v);
  EXPECT_EQ(b.start_ts, kDay);
  EXPECT_EQ(b.end_ts, kDay + 23 * 3600);
  EXPECT_EQ(b.n, 24);
  auto t = *TruncateBlock(b, kDay + 10 * 3600 + 1);
  ASSERT_TRUE(t.has_value());
  EXPECT_EQ(t->n, 11);
  EXPECT_EQ(t->end_ts, kDay + 10 * 3600);
  EXPECT_FALSE(TruncateBlock(b, kDay)->has_value());
}

TEST(PointBlockTest, MergeLetsHeadRowsReplaceBlockPointsInSeriesAndTimeOrder) {
  std::vector<StoredBlock> blocks = {
      *MakeStoredBlock(std::vector<PointRecord>{P(1, kDay, 1.0), P(1, kDay + 60, 2.0)}),
      *MakeStoredBlock(std::vector<PointRecord>{P(2, kDay + 30, 3.0)})};
  std::vector<PointRecord> head = {P(1, kDay + 60, 20.0), P(1, kDay + 120, 30.0), P(2, kDay, 4.0)};
  std::vector<std::pair<int64_t, double>> seen;
  Status s = MergePoints(std::span<const StoredBlock>(blocks), std::span<const PointRecord>(head), kDay,
                         kDay + 100, [&](const PointRecord& p) {
                           seen.push_back({p.series_id * 1000 + (p.ts - kDay), *p.value});
                           return Status::Ok();
                         });
  ASSERT_TRUE(s.ok()) << s.ToString();
  const std::vector<std::pair<int64_t, double>> want = {{1000, 1.0}, {1060, 20.0}, {2000, 4.0}, {2030, 3.0}};
  EXPECT_EQ(seen, want);
}

// Point tables in memory that keep what WritePoints puts (nothing stored
// before: no head rows, no blocks).
class RecordingTables final : public PointTables {
 public:
  explicit RecordingTables(std::vector<int64_t> series) : series_(std::move(series)) {}
  Status DetectorSeries(int64_t, std::vector<int64_t>* out) override {
    out->insert(out->end(), series_.begin(), series_.end());
    return Status::Ok();
  }
  Status ReadHead(const std::vector<int64_t>&, int64_t, int64_t, std::vector<PointRecord>*) override {
    return Status::Ok();
  }
  Status ReadBlocks(const std::vector<int64_t>&, int64_t, int64_t, std::vector<StoredBlock>*) override {
    return Status::Ok();
  }
  Status DeleteHead(const std::vector<int64_t>&, int64_t, int64_t) override { return Status::Ok(); }
  Status PutBlocks(const std::vector<StoredBlock>& blocks) override {
    for (const StoredBlock& b : blocks) {
      Status s = DecodePointBlock(b.data, b.series_id, b.start_ts, &blocks_);
      if (!s.ok()) return s;
    }
    return Status::Ok();
  }
  Status PutHead(const std::vector<PointRecord>& points) override {
    head_.insert(head_.end(), points.begin(), points.end());
    return Status::Ok();
  }
  // (series * 1e6 + hours since kDay, value) of the blocks' points, then
  // the head's.
  std::vector<std::pair<int64_t, double>> Seen() const {
    std::vector<std::pair<int64_t, double>> out;
    for (const auto* v : {&blocks_, &head_}) {
      for (const PointRecord& p : *v) out.push_back({p.series_id * 1000000 + (p.ts - kDay) / 3600, *p.value});
    }
    return out;
  }

 private:
  std::vector<int64_t> series_;
  std::vector<PointRecord> blocks_, head_;
};

// The encoder's bytes for a fixed set of blocks covering every form (scaled
// and XOR values, quantized, mirrored and cut bands, bit-packed and varint
// columns of every width, first and second differences, presence bitmaps,
// irregular times, exact blocks): the format is stored, so the same points
// must give the same bytes whatever the encoder's implementation. Each
// block also decodes to what was encoded (exact blocks bit for bit).
TEST(PointBlockTest, TheEncoderWritesTheSameBytesForTheSameBlocks) {
  uint64_t rng = 0x9e3779b97f4a7c15ULL;
  auto next = [&] {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return rng >> 11;  // 53 random bits
  };
  auto unit = [&] { return static_cast<double>(next()) / 9007199254740992.0; };
  uint64_t hash = 1469598103934665603ULL;  // FNV-1a over every block's bytes
  int blocks = 0;
  for (int c = 0; c < 600; ++c) {
    SCOPED_TRACE(testing::Message() << "case " << c);
    const size_t sizes[] = {1, 2, 3, 5, 8, 9, 17, 24, 60, 200, 900};
    const size_t n = sizes[static_cast<size_t>(c) % std::size(sizes)];
    const int64_t step = n > 200 ? 60 : 3600 * 24 / static_cast<int64_t>(n + 1);
    const int value_kind = c % 5, band_kind = (c / 5) % 6, presence = (c / 30) % 3;
    const double scale = std::ldexp(1.0, static_cast<int>(next() % 80) - 20);
    std::vector<PointRecord> v;
    int64_t ts = kDay + static_cast<int64_t>(next() % 600);
    for (size_t i = 0; i < n; ++i) {
      PointRecord p;
      p.series_id = 7;
      p.ts = ts;
      ts += c % 7 == 3 ? step - 30 + static_cast<int64_t>(next() % 60) : step;  // irregular
      const double x = static_cast<double>(i);
      switch (value_kind) {
        case 0: p.value = std::floor(unit() * scale); break;                                        // counts
        case 1: p.value = static_cast<double>(static_cast<int64_t>(next() % 100000)) / 100; break;  // cents
        case 2: p.value = (unit() - 0.5) * scale; break;                                // arbitrary
        case 3: p.value = 1000 + x * 3 + (i % 50 == 7 ? std::floor(scale) : 0); break;  // a line, spikes
        default: p.value = i % 5 == 4 ? std::numeric_limits<double>::infinity() : unit(); break;
      }
      const double e = scale * (1 + 0.3 * x / static_cast<double>(n)) + (band_kind == 3 ? unit() * scale : 0);
      const double w = scale * 0.1 * (1 + unit() * (band_kind == 1 ? 0 : 1));
      p.expected = e;
      switch (band_kind) {
        case 0:
        case 1:
          p.lower = e - w;
          p.upper = e + w;
          break;  // mirrored when symmetric
        case 2:
          p.lower = 0.0;
          p.upper = e + w;
          break;  // cut at zero
        case 3:
          p.lower = e - w * unit();
          p.upper = e + w * 3;
          break;
        case 4: p.upper = e + w; break;  // no lower
        default: p.lower = e - w; p.upper = i % 3 == 0 ? -std::numeric_limits<double>::infinity() : e + w;
      }
      p.severity =
          band_kind == 5 ? unit() * 1e20 : std::floor(unit() * 10000) / 100 + (c % 4 == 0 ? 0.003 : 0);
      if (presence >= 1 && next() % 4 == 0) p.value.reset();
      if (presence == 2 && next() % 3 == 0) {
        p.expected.reset();
        p.severity.reset();
        if (i % 2 == 0) {
          p.lower.reset();
        } else {
          p.upper.reset();
        }
      }
      v.push_back(p);
    }
    for (bool exact : {false, true}) {
      auto data = EncodePointBlock(v, kDay, exact);
      ASSERT_TRUE(data.ok()) << data.status().ToString();
      for (unsigned char b : *data) hash = (hash ^ b) * 1099511628211ULL;
      ++blocks;
      std::vector<PointRecord> back;
      Status s = DecodePointBlock(*data, 7, kDay, &back);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_EQ(back.size(), v.size());
      if (!exact) continue;
      for (size_t i = 0; i < n; ++i) {
        for (auto f : {&PointRecord::value, &PointRecord::expected, &PointRecord::lower, &PointRecord::upper,
                       &PointRecord::severity}) {
          ASSERT_EQ((back[i].*f).has_value(), (v[i].*f).has_value());
          if (v[i].*f) {
            EXPECT_EQ(Bits(*(back[i].*f)), Bits(*(v[i].*f))) << i;
          }
        }
      }
    }
  }
  EXPECT_EQ(blocks, 1200);
  EXPECT_EQ(hash, 0x6ff3cc02af3a7915ULL) << std::hex << hash;
}

// WritePoints orders a chunk's points by series and time, and of two points
// with the same (series, ts) keeps the later one, whether the ids are dense
// (placed by id) or sparse (sorted), and whether or not a series' points
// come in time order.
TEST(PointBlockTest, WritePointsOrdersByTimeWithinSeriesAndTheLaterOfEqualPointsWins) {
  for (int64_t far : {int64_t{3}, int64_t{1} << 40}) {
    SCOPED_TRACE(testing::Message() << "third series id " << far);
    // Interval by interval, as the pipeline gives them, over two days and a
    // few hours of the third (still open at the watermark).
    std::vector<PointRecord> in;
    for (int h = 0; h < 50; ++h) {
      for (int64_t s : {far, int64_t{2}, int64_t{1}})
        in.push_back(P(s, kDay + h * 3600, h * 10.0 + static_cast<double>(s)));
    }
    in.push_back(P(2, kDay + 5 * 3600, -1.0));     // replaces series 2's hour 5
    in.push_back(P(1, kDay + 3 * 3600, -2.0));     // replaces series 1's hour 3, out of order
    in.push_back(P(far, kDay + 49 * 3600, -3.0));  // replaces the open hour 49 of the third
    RecordingTables tables({1, 2, far});
    Status s = WritePoints(tables, 1, kDay, kDay + 50 * 3600, in);
    ASSERT_TRUE(s.ok()) << s.ToString();
    std::vector<std::pair<int64_t, double>> want;
    for (int64_t id : {int64_t{1}, int64_t{2}, far}) {  // blocks: the two closed days
      for (int h = 0; h < 48; ++h) {
        double v = h * 10.0 + static_cast<double>(id);
        if (id == 2 && h == 5) v = -1;
        if (id == 1 && h == 3) v = -2;
        want.push_back({id * 1000000 + h, v});
      }
    }
    for (int64_t id : {int64_t{1}, int64_t{2}, far}) {  // head: the open day's two hours
      for (int h = 48; h < 50; ++h) {
        want.push_back({id * 1000000 + h, id == far && h == 49 ? -3.0 : h * 10.0 + static_cast<double>(id)});
      }
    }
    EXPECT_EQ(tables.Seen(), want);
  }
}

}  // namespace
}  // namespace osprey::store
