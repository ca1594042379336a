// Detector texts with one field replaced by a long string, for the tests that
// show no field of any length crashes the loader (the CLI's `validate` and the
// API's POST /api/v1/detectors).
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace osprey::testing {

// A valid detector, one line per field; "@" marks where a value goes.
inline const std::vector<std::pair<std::string, std::string>>& DetectorFieldLines() {
  static const std::vector<std::pair<std::string, std::string>> kLines = {
      {"name: @", "long-field-test"},
      {"description: @", "a description"},
      {"frequency: @", "PT1H"},
      {"timezone: @", "UTC"},
      {"offset: @", "300"},
      {"source:", ""},
      {"  type: @", "postgres"},
      {"  connection_env: @", "OSPREY_LONG_FIELD_DSN"},
      {"  query_timeout: @", "300"},
      {"query: @",
       "select ts, views, platform from t where ts >= {{interval_start}} and ts < {{interval_end}}"},
      {"timestamp:", ""},
      {"  column: @", "ts"},
      {"  format: @", "yyyy-MM-dd HH:mm:ss"},
      {"dimensions: [@]", "platform"},
      {"measures:", ""},
      {"  - name: @", "views"},
      {"    aggregation: @", "SUM"},
      {"events:", ""},
      {"  - name: @", "christmas"},
      {"    date: @", "12-25"},
      {"alerts:", ""},
      {"  - name: @", "oncall"},
      {"    destination: @", "webhook"},
      {"    target_env: @", "OSPREY_ALERT_WEBHOOK_URL"},
      {"    description: @", "page on-call"},
  };
  return kLines;
}

// The detector with the value of line `replace` (an index into
// DetectorFieldLines; -1 for none) replaced by `value`, double-quoted.
inline std::string DetectorWithValue(int replace, const std::string& value) {
  std::string out;
  const auto& lines = DetectorFieldLines();
  for (size_t i = 0; i < lines.size(); ++i) {
    const auto& [line, normal] = lines[i];
    const size_t at = line.find('@');
    if (at == std::string::npos) {
      out += line;
    } else {
      out += line.substr(0, at);
      out += static_cast<int>(i) == replace ? "\"" + value + "\"" : normal;
      out += line.substr(at + 1);
    }
    out += '\n';
  }
  return out;
}

// Every variant: each field's value replaced by `length` characters, once
// of one letter and once of a mix of the characters the name, password and
// URL checks look for (so every scan runs to the end of the value), and an
// unknown key of that length. {label, detector text}.
inline std::vector<std::pair<std::string, std::string>> DetectorsWithLongFields(size_t length) {
  std::string mixed;
  mixed.reserve(length);
  const std::string pattern = "a password=b:c@d //e-f_g 1 ";
  while (mixed.size() < length) mixed += pattern[mixed.size() % pattern.size()];
  const std::string plain(length, 'a');
  std::vector<std::pair<std::string, std::string>> out;
  const auto& lines = DetectorFieldLines();
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].first.find('@') == std::string::npos) continue;
    out.emplace_back(lines[i].first + " (one letter)", DetectorWithValue(static_cast<int>(i), plain));
    out.emplace_back(lines[i].first + " (mixed)", DetectorWithValue(static_cast<int>(i), mixed));
  }
  out.emplace_back("unknown key", DetectorWithValue(-1, "") + std::string(length, 'k') + ": 1\n");
  return out;
}

}  // namespace osprey::testing
