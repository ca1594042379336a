// Runs osprey's default detector (stream::ScoreStream) over every data file
// of the NAB corpus, one fresh model per file, and returns the per-row
// scores in the scorer's format. Optionally writes them in NAB's results
// layout (<out>/<category>/osprey_<name>.csv).
#pragma once

#include <string>

#include "bench/nab/nab_scorer.h"
#include "osprey/stream/stream.h"

namespace osprey::nab {

// The one configuration used for the whole corpus: default model, plus
// alarm de-noising (NAB counts every alarm after a window as a false positive).
stream::StreamOptions NabStreamOptions();

// Parses NAB's "yyyy-MM-dd HH:mm:ss" as UTC Unix seconds (with the project's
// TimestampFormat); InvalidArgument if malformed.
Result<int64_t> ParseNabTime(std::string_view text);

// Scores every file with `options` (NabStreamOptions() for the published
// figures; other options only for experiments). Fails with NotFound /
// InvalidArgument on unreadable data files.
Result<CorpusScores> RunOsprey(const std::string& nab_dir, const Labels& labels, const std::string& out_dir,
                               const stream::StreamOptions& options = NabStreamOptions());

}  // namespace osprey::nab
