#include "osprey/api/incidents.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

namespace osprey::api {

std::vector<std::string> RootCauseElements(const std::string& root_causes_json) {
  std::vector<std::string> out;
  nlohmann::json rc = nlohmann::json::parse(root_causes_json, nullptr, false);
  if (!rc.is_array()) return out;
  for (const auto& c : rc) {
    if (!c.is_object() || !c.contains("element") || !c["element"].is_object()) continue;
    out.push_back(c["element"].dump());  // object keys are sorted: canonical
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

namespace {

int64_t SpanStart(const store::GroupRecord& g) { return g.incident_ts != 0 ? g.incident_ts : g.ts; }
int64_t SpanEnd(const store::GroupRecord& g) { return g.incident_end_ts != 0 ? g.incident_end_ts : g.end_ts; }

struct Building {
  Incident incident;
  std::set<std::string> causes;  // every element of its measure incidents
  bool spread = false;           // a measure incident without any root-cause set
  std::set<std::string> shared;  // elements of all of its measure incidents
};

bool SharesCause(const Building& b, const std::vector<std::string>& causes) {
  if (causes.empty()) return b.spread;
  for (const auto& c : causes) {
    if (b.causes.count(c)) return true;
  }
  return false;
}

void Add(Building& b, store::GroupRecord g, const std::vector<std::string>& causes) {
  Incident& i = b.incident;
  if (i.heads.empty()) {
    i.detector = g.detector;
    i.detector_id = g.detector_id;
    i.start = SpanStart(g);
    i.end = SpanEnd(g);
    b.shared.insert(causes.begin(), causes.end());
  } else {
    i.start = std::min(i.start, SpanStart(g));
    i.end = std::max(i.end, SpanEnd(g));
    std::set<std::string> keep;
    for (const auto& c : causes) {
      if (b.shared.count(c)) keep.insert(c);
    }
    b.shared = std::move(keep);
  }
  i.severity = std::max(i.severity, g.incident_intervals != 0 ? g.incident_severity : g.severity);
  b.causes.insert(causes.begin(), causes.end());
  if (causes.empty()) b.spread = true;
  i.heads.push_back(std::move(g));
}

}  // namespace

std::vector<Incident> BuildIncidents(std::vector<store::GroupRecord> heads) {
  std::sort(heads.begin(), heads.end(), [](const auto& a, const auto& b) {
    if (a.detector_id != b.detector_id) return a.detector_id < b.detector_id;
    if (SpanStart(a) != SpanStart(b)) return SpanStart(a) < SpanStart(b);
    if (a.measure != b.measure) return a.measure < b.measure;
    return a.id < b.id;
  });
  std::vector<Incident> out;
  std::vector<Building> open;  // of the current detector, still overlapping
  auto close_all = [&] {
    for (auto& b : open) {
      b.incident.shared_causes.assign(b.shared.begin(), b.shared.end());
      out.push_back(std::move(b.incident));
    }
    open.clear();
  };
  int64_t detector = -1;
  for (auto& g : heads) {
    if (g.detector_id != detector) {
      close_all();
      detector = g.detector_id;
    }
    const int64_t start = SpanStart(g);
    // Incidents that ended before this measure incident starts are complete:
    // heads come by start, so nothing later overlaps them either.
    for (size_t i = 0; i < open.size();) {
      if (open[i].incident.end <= start) {
        open[i].incident.shared_causes.assign(open[i].shared.begin(), open[i].shared.end());
        out.push_back(std::move(open[i].incident));
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        ++i;
      }
    }
    const std::vector<std::string> causes = RootCauseElements(g.root_causes);
    // Every open incident this one shares a cause with is the same incident.
    std::vector<size_t> matches;
    for (size_t i = 0; i < open.size(); ++i) {
      if (SharesCause(open[i], causes)) matches.push_back(i);
    }
    if (matches.empty()) {
      open.emplace_back();
      Add(open.back(), std::move(g), causes);
      continue;
    }
    Building& into = open[matches[0]];
    for (size_t k = matches.size(); k-- > 1;) {
      Building& other = open[matches[k]];
      for (auto& h : other.incident.heads) {
        const std::vector<std::string> other_causes = RootCauseElements(h.root_causes);
        Add(into, std::move(h), other_causes);
      }
      open.erase(open.begin() + static_cast<std::ptrdiff_t>(matches[k]));
    }
    Add(into, std::move(g), causes);
  }
  close_all();
  for (auto& i : out) {
    std::sort(i.heads.begin(), i.heads.end(), [](const auto& a, const auto& b) {
      if (SpanStart(a) != SpanStart(b)) return SpanStart(a) < SpanStart(b);
      return a.measure < b.measure;
    });
  }
  std::sort(out.begin(), out.end(), [](const Incident& a, const Incident& b) {
    if (a.start != b.start) return a.start < b.start;
    return a.detector < b.detector;
  });
  return out;
}

}  // namespace osprey::api
