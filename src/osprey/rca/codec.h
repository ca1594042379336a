// The one JSON codec of a group's explanation (group.h), used where groups
// are stored and served: the pipeline encodes, the API, alerts, `osprey
// show` and the backtest decode. The formats are those of the API
// (docs/api.md): contributions {"dimension": [{"value", "share", "actual",
// "expected"}]}, root causes [{"element": {...}, "share", "score"[,
// "ratio": {...}]}], related [{"measure", "relation", "deviation_pct",
// "incident_start"}].
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/rca/group.h"

namespace osprey::rca {

std::string EncodeContributions(const std::vector<DimensionShares>& contributions);
std::string EncodeRootCauses(const std::vector<CauseElement>& causes);
std::string EncodeRelated(const std::vector<RelatedMeasure>& related);

// The inverses. Empty text is an empty list; anything else that is not the
// format is DataLoss (a corrupt stored group).
Result<std::vector<DimensionShares>> DecodeContributions(std::string_view text);
Result<std::vector<CauseElement>> DecodeRootCauses(std::string_view text);
Result<std::vector<RelatedMeasure>> DecodeRelated(std::string_view text);

// "dim=value&dim=value" of an element, in dimension-name order ("ALL" for
// the whole measure); `join` separates the pairs.
std::string ElementText(const CauseElement& cause, std::string_view join = "&");

}  // namespace osprey::rca
