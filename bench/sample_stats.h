// Summary statistics for repeated throughput measurements: order statistics
// for `bench`, mean/stdev and a bootstrap interval for `ab`'s delta.
#pragma once
#include <cstdint>
#include <vector>

namespace hakfuzz::bench {

struct Spread {
  double median = 0, min = 0, max = 0;
};
Spread spread_of(std::vector<double> xs);

double mean_of(const std::vector<double>& xs);
double stdev_of(const std::vector<double>& xs);  // sample stdev (n-1); 0 for n<2

struct Interval {
  double lo = 0, hi = 0;
  bool contains(double x) const { return lo <= x && x <= hi; }
};

// Percent change of mean(b) against mean(a).
double delta_percent(const std::vector<double>& a, const std::vector<double>& b);

// Percentile bootstrap: resample a and b independently (with replacement,
// seeded, so the same data gives the same interval) and take the
// (1-level)/2 and (1+level)/2 quantiles of delta_percent.
Interval bootstrap_delta_ci(const std::vector<double>& a, const std::vector<double>& b, double level,
                            int resamples, std::uint64_t seed);

}  // namespace hakfuzz::bench
