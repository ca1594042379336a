// Label quality on the demo warehouse: the default detector
// (examples/ecommerce.yaml) replayed over the full 182 days of the harder
// generator (drifts, holidays, missing rows, a late marketplace), scored
// against the generator's ground truth. Prints event precision/recall/F1 at
// severities 50/60/70 and recall per event kind; floors sit just below the
// figures reached, so a regression fails and harmless changes do not.
#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

#include "osprey/app/backtest.h"
#include "osprey/app/demo_data.h"
#include "osprey/config/loader.h"
#include "osprey/store/store.h"
#include "osprey/testing/demo_warehouse.h"
#include "osprey/testing/files.h"

namespace osprey::app {
namespace {

TEST(DemoQualityTest, EventPrecisionRecallPerKind) {
  testing::TempDir dir("osprey_demo_quality_");
  DemoRequest r;
  r.config_path = testing::ExampleDetectorPath();
  r.dir = dir.path().string();
  r.max_groups_shown = 0;
  std::ostringstream demo_out;
  auto ev = RunDemo(r, demo_out);
  ASSERT_TRUE(ev.ok()) << ev.status().ToString();
  auto store = store::OpenSqliteStore(dir.File("state.db"));
  ASSERT_TRUE(store.ok());
  auto d = config::LoadDetectorFile(r.config_path);
  ASSERT_TRUE(d.ok());
  DemoData data = GenerateDemoData(r.data);

  // Anomalies osprey must flag; holidays are reported apart; missing rows
  // are missing data and must not be flagged at all.
  std::vector<DemoEvent> flaggable, anomalies, gaps;
  for (const DemoEvent& e : data.events) {
    if (e.kind == "missing_rows") {
      gaps.push_back(e);
      continue;
    }
    flaggable.push_back(e);
    if (e.kind != "holiday") anomalies.push_back(e);
  }
  std::cout << "demo warehouse: " << data.events.size() << " labelled events\n";
  std::map<double, Evaluation> at, only_at;
  for (double sev : {50.0, 60.0, 70.0}) {
    auto all = Evaluate(**store, d->name, flaggable, d->frequency.NominalSeconds(), sev);
    auto only = Evaluate(**store, d->name, anomalies, d->frequency.NominalSeconds(), sev);
    auto missing = Evaluate(**store, d->name, gaps, d->frequency.NominalSeconds(), sev);
    ASSERT_TRUE(all.ok() && only.ok() && missing.ok());
    at[sev] = *all;
    only_at[sev] = *only;
    std::cout << "severity >= " << sev << ": anomalies and holidays P " << all->precision() << " R "
              << all->recall() << " F1 " << all->f1() << " | anomalies only P " << only->precision() << " R "
              << only->recall() << " F1 " << only->f1() << " | missing-row gaps flagged "
              << missing->events_found << "/" << missing->events << "\n";
    for (const auto& [kind, k] : all->by_kind) {
      std::cout << "  " << kind << ": " << k.found << "/" << k.events << " found (recall "
                << (k.events ? double(k.found) / k.events : 0) << ")\n";
    }
    EXPECT_EQ(missing->events_found, 0) << "a gap in the data was flagged as an anomaly";
  }
  // Floors: just below the figures reached (see the printed table: 0.880,
  // 0.921, 0.887, 0.977). Precision counts incidents; the example detector
  // stores anomalies from severity 60, so the rows for 50 and 60 are the same.
  // The business model scores from the fourth day (the seasonal median it
  // replaced waited four weeks, the whole clean history of this warehouse),
  // so its precision here is lower: 0.887 at severity 70 against 0.98.
  EXPECT_GE(at[60].f1(), 0.87);
  EXPECT_GE(at[70].f1(), 0.91);
  EXPECT_GE(at[70].precision(), 0.88);
  EXPECT_GE(only_at[60].recall(), 0.96);
}

}  // namespace
}  // namespace osprey::app
