#include "osprey/api/incidents.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <tuple>

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

int64_t IncidentId(const Incident& i) {
  const store::GroupRecord* top = &i.heads.front();
  for (const auto& h : i.heads) {
    if (h.severity > top->severity || (h.severity == top->severity && h.ts < top->ts)) top = &h;
  }
  return top->id;
}

namespace {

double HeadSeverity(const store::GroupRecord& g) {
  return g.incident_intervals != 0 ? g.incident_severity : g.severity;
}

}  // namespace

IncidentKey KeyOf(const Incident& i, IncidentOrder order) {
  int64_t start = i.start;
  if (order == IncidentOrder::kSeverity) {
    // Where the walk by severity meets the incident: its most severe
    // measure incident, the latest of those.
    const store::GroupRecord* top = &i.heads.front();
    for (const auto& h : i.heads) {
      if (std::make_pair(HeadSeverity(h), SpanStart(h)) >
          std::make_pair(HeadSeverity(*top), SpanStart(*top))) {
        top = &h;
      }
    }
    start = SpanStart(*top);
  }
  return {i.severity, start, IncidentId(i)};
}

bool Before(IncidentOrder order, const IncidentKey& a, const IncidentKey& b) {
  switch (order) {
    case IncidentOrder::kTimeAsc: return std::tie(a.start, a.id) < std::tie(b.start, b.id);
    case IncidentOrder::kTime: return std::tie(a.start, a.id) > std::tie(b.start, b.id);
    case IncidentOrder::kSeverity:
      if (a.severity != b.severity) return a.severity > b.severity;
      return std::tie(a.start, a.id) > std::tie(b.start, b.id);
  }
  return false;
}

namespace {

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::max();

using HeadId = std::tuple<int64_t, std::string, int64_t>;  // detector id, measure, first interval
HeadId IdOf(const store::GroupRecord& g) { return {g.detector_id, g.measure, SpanStart(g)}; }

// Measure incidents by first interval: the window between gaps, and the gaps.
class Windows {
 public:
  Windows(store::Store& s, std::optional<std::string> detector) : s_(s), detector_(std::move(detector)) {}

  Status Init() {
    OSPREY_ASSIGN_OR_RETURN(longest_, s_.GetLongestMeasureIncident());
    return Status::Ok();
  }

  Result<std::vector<store::GroupRecord>> Between(std::optional<int64_t> from, std::optional<int64_t> before,
                                                  bool newest_first = false, int64_t limit = -1,
                                                  bool spans_only = false) {
    store::MeasureIncidentQuery q;
    q.spans_only = spans_only;
    q.detector = detector_;
    q.start_from = from;
    q.start_before = before;
    q.newest_first = newest_first;
    q.limit = limit;
    return s_.ListMeasureIncidents(q);
  }

  // The latest gap at or before t: no measure incident starts before it and
  // ends after it. Only those starting within the longest span before a
  // time can reach past it.
  Result<int64_t> GapAtOrBefore(int64_t t) {
    for (;;) {
      OSPREY_ASSIGN_OR_RETURN(auto heads, Between(t - longest_, t, false, -1, true));
      int64_t lowest = t;
      for (const auto& h : heads) {
        if (SpanEnd(h) > t) lowest = std::min(lowest, SpanStart(h));
      }
      if (lowest == t) return t;
      t = lowest;
    }
  }

  // What Around needs for a batch of heads, in two reads however many
  // heads there are: the spans that can reach each (those starting in
  // [start - longest, end)), and in full the measure incidents within the
  // span of each head that others share but nothing crosses. Both by first
  // interval.
  struct Near {
    std::vector<store::GroupRecord> spans;
    std::vector<store::GroupRecord> within;
  };

  Result<Near> Prepare(const std::vector<const store::GroupRecord*>& heads) {
    Near near;
    std::vector<std::pair<int64_t, int64_t>> ranges;
    for (const auto* h : heads) ranges.emplace_back(SpanStart(*h) - longest_, SpanEnd(*h));
    OSPREY_ASSIGN_OR_RETURN(near.spans, InRanges(std::move(ranges), true));
    ranges.clear();
    for (const auto* h : heads) {
      if (Classify(*h, near.spans) == Kind::kShared) ranges.emplace_back(SpanStart(*h), SpanEnd(*h));
    }
    OSPREY_ASSIGN_OR_RETURN(near.within, InRanges(std::move(ranges), false));
    return near;
  }

  // The measure incidents between the gaps around `head` (read in full),
  // from what Prepare read for a batch of heads with this one when nothing
  // crosses its ends: then it is alone or the window is its own span.
  Result<std::vector<store::GroupRecord>> Around(const store::GroupRecord& head, const Near& near) {
    const int64_t start = SpanStart(head), end = SpanEnd(head);
    switch (Classify(head, near.spans)) {
      case Kind::kAlone: return std::vector<store::GroupRecord>{head};
      case Kind::kShared: {
        std::vector<store::GroupRecord> out;
        for (auto it = FirstFrom(near.within, start); it != near.within.end() && SpanStart(*it) < end; ++it) {
          out.push_back(*it);
        }
        return out;
      }
      case Kind::kCrossed: break;
    }
    OSPREY_ASSIGN_OR_RETURN(int64_t lo, GapAtOrBefore(start));
    OSPREY_ASSIGN_OR_RETURN(int64_t hi, GapAtOrAfter(end));
    return Between(lo, hi);
  }

  // The earliest gap at or after t.
  Result<int64_t> GapAtOrAfter(int64_t t) {
    for (;;) {
      OSPREY_ASSIGN_OR_RETURN(auto heads, Between(t - longest_, t, false, -1, true));
      int64_t highest = t;
      for (const auto& h : heads) highest = std::max(highest, SpanEnd(h));
      if (highest == t) return t;
      t = highest;
    }
  }

 private:
  // Ranges per read of InRanges: two bound parameters each, well within
  // either database's limit.
  static constexpr size_t kRangesPerRead = 256;

  // What the spans that can reach a head say: nothing else starts within its
  // span and nothing crosses its ends (alone); others start within it but
  // nothing crosses its ends (shared); or something crosses them.
  enum class Kind { kAlone, kShared, kCrossed };

  static std::vector<store::GroupRecord>::const_iterator FirstFrom(const std::vector<store::GroupRecord>& v,
                                                                   int64_t t) {
    return std::lower_bound(v.begin(), v.end(), t,
                            [](const store::GroupRecord& g, int64_t x) { return SpanStart(g) < x; });
  }

  Kind Classify(const store::GroupRecord& head, const std::vector<store::GroupRecord>& spans) const {
    const int64_t start = SpanStart(head), end = SpanEnd(head);
    bool alone = true;
    for (auto it = FirstFrom(spans, start - longest_); it != spans.end() && SpanStart(*it) < end; ++it) {
      const store::GroupRecord& g = *it;
      if (SpanStart(g) < start && SpanEnd(g) > start) return Kind::kCrossed;  // reaches over the start
      if (SpanStart(g) >= start && SpanEnd(g) > end) return Kind::kCrossed;   // reaches past the end
      if (SpanStart(g) >= start && IdOf(g) != IdOf(head)) alone = false;
    }
    return alone ? Kind::kAlone : Kind::kShared;
  }

  // The measure incidents starting in any of `ranges`, by first interval:
  // the ranges merged where they overlap, read kRangesPerRead at a time.
  Result<std::vector<store::GroupRecord>> InRanges(std::vector<std::pair<int64_t, int64_t>> ranges,
                                                   bool spans_only) {
    std::sort(ranges.begin(), ranges.end());
    std::vector<std::pair<int64_t, int64_t>> merged;
    for (const auto& r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second) {
        merged.back().second = std::max(merged.back().second, r.second);
      } else {
        merged.push_back(r);
      }
    }
    std::vector<store::GroupRecord> out;
    for (size_t k = 0; k < merged.size(); k += kRangesPerRead) {
      store::MeasureIncidentQuery q;
      q.spans_only = spans_only;
      q.detector = detector_;
      const size_t until = std::min(merged.size(), k + kRangesPerRead);
      q.start_ranges.assign(merged.begin() + static_cast<std::ptrdiff_t>(k),
                            merged.begin() + static_cast<std::ptrdiff_t>(until));
      OSPREY_ASSIGN_OR_RETURN(auto part, s_.ListMeasureIncidents(q));
      // Ascending, disjoint ranges: the parts follow one another in order.
      for (auto& g : part) out.push_back(std::move(g));
    }
    return out;
  }

  store::Store& s_;
  std::optional<std::string> detector_;
  int64_t longest_ = 0;
};

struct Lister {
  const IncidentListQuery& q;
  std::vector<Incident> out;

  bool Wanted(const Incident& i) const {
    if (q.after && !Before(q.order, *q.after, KeyOf(i, q.order))) return false;
    if (i.severity < q.min_severity) return false;
    if (q.from && i.end <= *q.from) return false;
    if (q.to && i.start >= *q.to) return false;
    return !q.keep || q.keep(i);
  }
  bool Full() const { return static_cast<int64_t>(out.size()) >= q.limit; }

  // Adds the wanted incidents of one window, in order; true when full.
  bool AddWindow(std::vector<store::GroupRecord> heads) {
    std::vector<Incident> built = BuildIncidents(std::move(heads));
    std::sort(built.begin(), built.end(), [&](const Incident& a, const Incident& b) {
      return Before(q.order, KeyOf(a, q.order), KeyOf(b, q.order));
    });
    for (auto& i : built) {
      if (Full()) return true;
      if (Wanted(i)) out.push_back(std::move(i));
    }
    return Full();
  }
};

}  // namespace

Result<std::vector<Incident>> ReadIncidents(store::Store& s, const IncidentListQuery& q) {
  Lister list{q, {}};
  if (q.limit <= 0) return list.out;
  Windows w(s, q.detector);
  OSPREY_RETURN_IF_ERROR(w.Init());
  // Measure incidents read per step; doubles while filters leave the page short.
  int64_t batch = std::max<int64_t>(q.limit + 1, 32);
  if (q.order == IncidentOrder::kTime) {
    // Windows [lo, hi) from the latest down.
    std::optional<int64_t> hi;
    int64_t top = kNoTime;
    if (q.after) top = q.after->start + 1;
    if (q.to) top = std::min(top, *q.to);
    if (top != kNoTime) {
      OSPREY_ASSIGN_OR_RETURN(hi, w.GapAtOrAfter(top));
    }
    for (;;) {
      if (hi && q.from && *hi <= *q.from) break;  // what starts before hi ends by hi
      OSPREY_ASSIGN_OR_RETURN(auto heads, w.Between(std::nullopt, hi, true, batch, true));
      if (heads.empty()) break;
      std::optional<int64_t> lo;
      if (static_cast<int64_t>(heads.size()) == batch) {
        OSPREY_ASSIGN_OR_RETURN(lo, w.GapAtOrBefore(SpanStart(heads.back())));
      }
      OSPREY_ASSIGN_OR_RETURN(heads, w.Between(lo, hi));  // in full
      if (list.AddWindow(std::move(heads)) || !lo) break;
      hi = lo;
      batch *= 2;
    }
    return list.out;
  }
  if (q.order == IncidentOrder::kTimeAsc) {
    // Windows [lo, hi) from the earliest up.
    std::optional<int64_t> lo;
    int64_t bottom = std::numeric_limits<int64_t>::min();
    if (q.after) bottom = q.after->start;
    if (q.from) bottom = std::max(bottom, *q.from);
    if (q.after || q.from) {
      OSPREY_ASSIGN_OR_RETURN(lo, w.GapAtOrBefore(bottom));
    }
    for (;;) {
      if (lo && q.to && *lo >= *q.to) break;
      OSPREY_ASSIGN_OR_RETURN(auto heads, w.Between(lo, std::nullopt, false, batch, true));
      if (heads.empty()) break;
      std::optional<int64_t> hi;
      if (static_cast<int64_t>(heads.size()) == batch) {
        OSPREY_ASSIGN_OR_RETURN(hi, w.GapAtOrAfter(SpanStart(heads.back()) + 1));
      }
      OSPREY_ASSIGN_OR_RETURN(heads, w.Between(lo, hi));  // in full
      if (list.AddWindow(std::move(heads)) || !hi) break;
      lo = hi;
      batch *= 2;
    }
    return list.out;
  }
  // By severity: measure incidents most severe first (then latest first).
  // The first unseen one is the most severe of its incident, whose window
  // gives the incident; the incidents found are listed once the walk has
  // passed their place in the order.
  std::set<HeadId> seen;
  // Found, not yet listed; in the list's order.
  auto before = [&](const IncidentKey& a, const IncidentKey& b) { return Before(q.order, a, b); };
  std::map<IncidentKey, Incident, decltype(before)> found(before);
  store::SevereIncidentQuery sq;
  sq.detector = q.detector;
  sq.limit = batch;
  // Incidents are met where their most severe measure incident is: the walk
  // resumes at the cursor's, with the others of the same severity and start.
  if (q.after) {
    sq.after = store::SevereIncidentQuery::Key{q.after->severity, q.after->start + 1,
                                               std::numeric_limits<int64_t>::max(), ""};
  }
  // Lists the found incidents that sort before `below` (all when unset).
  auto flush = [&](std::optional<IncidentKey> below) {
    while (!found.empty() && !list.Full() && (!below || Before(q.order, found.begin()->first, *below))) {
      if (list.Wanted(found.begin()->second)) list.out.push_back(std::move(found.begin()->second));
      found.erase(found.begin());
    }
  };
  for (;;) {
    OSPREY_ASSIGN_OR_RETURN(auto heads, s.ListSevereIncidents(sq));
    // What every head of the batch not met yet needs, in two reads (not one
    // or more per head): only heads whose spans others cross read more.
    std::vector<const store::GroupRecord*> unseen;
    for (const auto& h : heads) {
      if (HeadSeverity(h) >= q.min_severity && !seen.count(IdOf(h))) unseen.push_back(&h);
    }
    OSPREY_ASSIGN_OR_RETURN(auto near, w.Prepare(unseen));
    for (const auto& h : heads) {
      const double sev = HeadSeverity(h);
      if (sev < q.min_severity) {
        flush(std::nullopt);
        return list.out;
      }
      // Any incident not found yet has its most severe measure incident
      // below this one in the walk, so its key does too: what sorts before
      // this one is complete.
      flush(IncidentKey{sev, SpanStart(h), std::numeric_limits<int64_t>::max()});
      if (list.Full()) return list.out;
      if (seen.count(IdOf(h))) continue;
      OSPREY_ASSIGN_OR_RETURN(auto window, w.Around(h, near));
      for (auto& i : BuildIncidents(std::move(window))) {
        bool known = false;
        for (const auto& g : i.heads) known = !seen.insert(IdOf(g)).second || known;
        if (!known) {
          const IncidentKey key = KeyOf(i, q.order);
          found.emplace(key, std::move(i));
        }
      }
    }
    if (static_cast<int64_t>(heads.size()) < sq.limit) break;
    const auto& last = heads.back();
    sq.after =
        store::SevereIncidentQuery::Key{HeadSeverity(last), SpanStart(last), last.detector_id, last.measure};
    sq.limit *= 2;
  }
  flush(std::nullopt);
  return list.out;
}

Result<Incident> IncidentOf(store::Store& s, const store::GroupRecord& group) {
  Windows w(s, group.detector);
  OSPREY_RETURN_IF_ERROR(w.Init());
  const int64_t start = SpanStart(group);
  OSPREY_ASSIGN_OR_RETURN(int64_t lo, w.GapAtOrBefore(start));
  OSPREY_ASSIGN_OR_RETURN(int64_t hi, w.GapAtOrAfter(std::max(SpanEnd(group), start + 1)));
  OSPREY_ASSIGN_OR_RETURN(auto window, w.Between(lo, hi));
  for (auto& i : BuildIncidents(std::move(window))) {
    for (const auto& h : i.heads) {
      if (h.measure == group.measure && SpanStart(h) == start) return std::move(i);
    }
  }
  return NotFound(fmt::format("no incident holds anomaly group {}", group.id));
}

}  // namespace osprey::api
