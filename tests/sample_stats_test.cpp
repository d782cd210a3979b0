// The statistics behind `bench` and `ab`: order statistics, sample stdev,
// and the bootstrap interval whose sign decides ab's verdict.
#include "bench/sample_stats.h"

#include <gtest/gtest.h>

#include <cmath>

namespace hakfuzz::bench {
namespace {

TEST(SampleStats, SpreadTakesMedianOfOddAndEvenCounts) {
  Spread odd = spread_of({5, 1, 3});
  EXPECT_EQ(odd.median, 3);
  EXPECT_EQ(odd.min, 1);
  EXPECT_EQ(odd.max, 5);
  EXPECT_EQ(spread_of({4, 1, 3, 2}).median, 2.5);
  EXPECT_EQ(spread_of({}).median, 0);
}

TEST(SampleStats, SampleStdevUsesNMinusOne) {
  EXPECT_DOUBLE_EQ(stdev_of({2, 4, 4, 4, 5, 5, 7, 9}), std::sqrt(32.0 / 7.0));
  EXPECT_EQ(stdev_of({3}), 0);
}

TEST(SampleStats, DeltaIsBAgainstA) {
  EXPECT_DOUBLE_EQ(delta_percent({100, 100}, {90, 90}), -10.0);
  EXPECT_DOUBLE_EQ(delta_percent({50}, {55}), 10.0);
}

TEST(SampleStats, BootstrapExcludesZeroForSeparatedSamples) {
  std::vector<double> a = {100, 101, 99, 100.5, 99.5, 100, 101, 99, 100, 100};
  std::vector<double> b = {88, 89, 87, 88.5, 87.5, 88, 89, 87, 88, 88};
  Interval ci = bootstrap_delta_ci(a, b, 0.95, 2000, 1);
  EXPECT_LT(ci.hi, 0);
  EXPECT_TRUE(ci.contains(delta_percent(a, b)));
}

TEST(SampleStats, BootstrapContainsZeroForOverlappingSamples) {
  std::vector<double> a = {100, 90, 110, 95, 105, 100, 92, 108, 97, 103};
  std::vector<double> b = {101, 91, 109, 94, 106, 99, 93, 107, 98, 102};
  EXPECT_TRUE(bootstrap_delta_ci(a, b, 0.95, 2000, 1).contains(0));
}

TEST(SampleStats, BootstrapIsDeterministicForASeed) {
  std::vector<double> a = {1, 2, 3, 4}, b = {2, 3, 4, 5};
  Interval x = bootstrap_delta_ci(a, b, 0.95, 500, 7), y = bootstrap_delta_ci(a, b, 0.95, 500, 7);
  EXPECT_EQ(x.lo, y.lo);
  EXPECT_EQ(x.hi, y.hi);
}

}  // namespace
}  // namespace hakfuzz::bench
