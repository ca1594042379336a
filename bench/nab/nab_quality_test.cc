// Reproduces the official NAB scores of the bundled detector outputs, then
// scores osprey's own detector on the corpus against floors.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/nab/nab_runner.h"
#include "bench/nab/nab_scorer.h"

namespace osprey::nab {
namespace {

const std::string kNab = std::string(OSPREY_SHARED_DIR) + "/benchmarks/nab";

struct Official {
  const char* detector;
  double standard, low_fp, low_fn;
};

class NabQualityTest : public ::testing::TestWithParam<Official> {};

TEST_P(NabQualityTest, ReproducesOfficialScores) {
  const Official& o = GetParam();
  std::string tarball = kNab + "/results/detector_outputs/" + o.detector + ".tar.gz";
  if (!std::filesystem::exists(tarball)) GTEST_SKIP() << "no " << tarball;
  std::filesystem::path tmp = std::filesystem::temp_directory_path() /
                              ("osprey_nab_" + std::string(o.detector) + "_" +
                               std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
  std::filesystem::create_directories(tmp);
  std::string cmd = "tar xzf '" + tarball + "' -C '" + tmp.string() + "'";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  auto labels = ReadLabels(kNab + "/labels/combined_windows.json");
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  auto profiles = ReadProfiles(kNab + "/config/profiles.json");
  ASSERT_TRUE(profiles.ok());
  auto scores = ReadResultsDir((tmp / o.detector).string(), o.detector, *labels);
  std::filesystem::remove_all(tmp);
  ASSERT_TRUE(scores.ok()) << scores.status().ToString();
  const double expected[] = {o.standard, o.low_fp, o.low_fn};
  ASSERT_EQ(profiles->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const Profile& p = (*profiles)[i];
    auto t = ReadThreshold(kNab + "/config/thresholds.json", o.detector, p.name);
    ASSERT_TRUE(t.ok());
    auto sweep = Sweep::Build(*labels, *scores, p);
    ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
    EXPECT_NEAR(sweep->ScoreAt(*t).normalised, expected[i], 0.1) << o.detector << " " << p.name;
  }
}

INSTANTIATE_TEST_SUITE_P(Bundled, NabQualityTest,
                         ::testing::Values(Official{"numenta", 70.10, 63.12, 74.32},
                                           Official{"randomCutForest", 51.72, 38.36, 59.75},
                                           Official{"twitterADVec", 47.06, 33.61, 53.50}),
                         [](const ::testing::TestParamInfo<Official>& p) {
                           return std::string(p.param.detector);
                         });

// osprey's own stream configuration (the one `make nab` and `osprey score`
// use) on the whole corpus, at the optimised threshold per profile. Floors
// sit just below the figures reached (bench/nab/LOG.md, ensemble E1: 71.42 / 61.95 /
// 76.35), so a regression of about one point fails.
TEST(NabQualityTest, OspreyStreamScoresAboveFloors) {
  auto labels = ReadLabels(kNab + "/labels/combined_windows.json");
  ASSERT_TRUE(labels.ok()) << labels.status().ToString();
  auto profiles = ReadProfiles(kNab + "/config/profiles.json");
  ASSERT_TRUE(profiles.ok());
  auto scores = RunOsprey(kNab, *labels, "");
  ASSERT_TRUE(scores.ok()) << scores.status().ToString();
  const double floors[] = {70.8, 61.3, 75.7};  // standard, low FP, low FN
  ASSERT_EQ(profiles->size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    auto sweep = Sweep::Build(*labels, *scores, (*profiles)[i]);
    ASSERT_TRUE(sweep.ok()) << sweep.status().ToString();
    const ProfileResult r = sweep->Optimise();
    EXPECT_GE(r.normalised, floors[i]) << (*profiles)[i].name;
    std::printf("osprey NAB %s: %.2f (threshold %.4f, windows found %lld, FP rows %lld)\n",
                (*profiles)[i].name.c_str(), r.normalised, r.threshold, static_cast<long long>(r.tp),
                static_cast<long long>(r.fp));
  }
}

}  // namespace
}  // namespace osprey::nab
