// Which shard of a sharded detector (config::Detector::shards) scores a
// series: a stable hash of the series' measure and dimension values, so
// every worker, every run and every release of osprey assigns a series to
// the same shard. Pure: no IO.
#pragma once

#include <cstdint>
#include <string_view>

namespace osprey::schedule {

// The shard in [0, shards) of the series with measure `measure` and
// dimension values `dims_json` (the series' stored dimensions, as
// store::SeriesRecord::dims). FNV-1a (64 bit) of measure, a 0 byte and
// dims_json, modulo `shards`; 0 when shards <= 1.
int ShardOf(std::string_view measure, std::string_view dims_json, int64_t shards);

}  // namespace osprey::schedule
