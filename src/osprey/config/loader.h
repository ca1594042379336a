// Loading and validating detector files. Loading is strict: unknown keys,
// duplicate keys, wrong types, bad durations, formats and time zones are
// errors that name "file:line: field: what is wrong". JSON is accepted too
// (it is read as YAML, of which it is a subset).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "osprey/base/status.h"
#include "osprey/config/detector.h"

namespace osprey::config {

// Reads and validates a detector file. InvalidArgument on any problem, with
// the message starting "path:line:". Relative file paths in it (source path,
// connection_file, events file, alert key and target files) are taken
// relative to the file's directory. The events file is read and checked too.
Result<Detector> LoadDetectorFile(const std::string& path);
// Same, from text; `origin` names the text in messages. Paths stay as written.
Result<Detector> LoadDetector(std::string_view text, const std::string& origin);
// Makes the relative file paths of `d` relative to `dir` (no-op for an empty
// dir or absolute paths), as LoadDetectorFile does.
void ResolveRelativePaths(Detector& d, const std::string& dir);

// The country whose built-in holidays the detector uses (its `holidays`:
// the code it names, or for "auto" the country of its time zone when its
// intervals are an hour or longer); nullopt for none.
std::optional<std::string_view> HolidayCountry(const Detector& d);

// The detector's calendar events: its inline ones, or those of its events
// file, read now, then its built-in holidays (HolidayCountry), so a listed
// event wins over a holiday of the same day. InvalidArgument "file:line:
// column N (field): what" for a malformed file; NotFound when it cannot be
// opened.
Result<std::vector<detect::CalendarEvent>> LoadEvents(const Detector& d);

// The detector as YAML that LoadDetector reads back to an equal Detector.
std::string DetectorToYaml(const Detector& d);

}  // namespace osprey::config
