#include "bench/sample_stats.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace hakfuzz::bench {

Spread spread_of(std::vector<double> xs) {
  if (xs.empty()) return {};
  std::sort(xs.begin(), xs.end());
  std::size_t n = xs.size();
  double med = n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  return {med, xs.front(), xs.back()};
}

double mean_of(const std::vector<double>& xs) {
  return xs.empty() ? 0 : std::accumulate(xs.begin(), xs.end(), 0.0) / static_cast<double>(xs.size());
}

double stdev_of(const std::vector<double>& xs) {
  if (xs.size() < 2) return 0;
  double m = mean_of(xs), ss = 0;
  for (double x : xs) ss += (x - m) * (x - m);
  return std::sqrt(ss / static_cast<double>(xs.size() - 1));
}

double delta_percent(const std::vector<double>& a, const std::vector<double>& b) {
  double ma = mean_of(a);
  return ma > 0 ? (mean_of(b) - ma) / ma * 100.0 : 0;
}

Interval bootstrap_delta_ci(const std::vector<double>& a, const std::vector<double>& b, double level,
                            int resamples, std::uint64_t seed) {
  if (a.empty() || b.empty() || resamples < 1) return {};
  std::mt19937_64 rng(seed);
  std::vector<double> deltas, ra(a.size()), rb(b.size());
  deltas.reserve(static_cast<std::size_t>(resamples));
  std::uniform_int_distribution<std::size_t> pick_a(0, a.size() - 1), pick_b(0, b.size() - 1);
  for (int i = 0; i < resamples; ++i) {
    for (double& x : ra) x = a[pick_a(rng)];
    for (double& x : rb) x = b[pick_b(rng)];
    deltas.push_back(delta_percent(ra, rb));
  }
  std::sort(deltas.begin(), deltas.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(std::clamp(q, 0.0, 1.0) * static_cast<double>(deltas.size() - 1));
    return deltas[i];
  };
  return {at((1 - level) / 2), at((1 + level) / 2)};
}

}  // namespace hakfuzz::bench
