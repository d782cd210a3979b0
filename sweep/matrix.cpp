#include "sweep/matrix.h"

#include <algorithm>
#include <bit>
#include <map>
#include <set>
#include <stdexcept>

namespace hakfuzz::sweep {

namespace {

// Every value a flag can take, in order: one axis of the matrix.
std::vector<std::uint32_t> domain(const hakmem::FlagSpec& spec) {
  std::vector<std::uint32_t> out;
  for (std::uint32_t v = spec.min; v <= spec.max; ++v) out.push_back(v);
  return out;
}

// The only semantic knowledge the sweep has about flags. Flags not named
// here are assumed to change behaviour, the safe default for a new flag.
constexpr std::string_view kTelemetryOnly[] = {"stats_compiled", "v2_stats"};
struct Irrelevance {
  std::string_view field, when_field;
  std::uint32_t when_value;
};
constexpr Irrelevance kIrrelevantWhen[] = {{"v2_classes", "v2_enabled", 0}};

// Build switches the binary can realise; the stats switch picks the Pool flavour.
constexpr std::string_view kRealisedBuildSwitches[] = {"stats_compiled"};

bool is_telemetry_only(const hakmem::FlagSpec& s) {
  return std::ranges::find(kTelemetryOnly, std::string_view(s.field)) != std::end(kTelemetryOnly);
}

// Masks wider than this are covered instead of enumerated by --quick.
constexpr std::size_t kQuickFullDomain = 16;

// Covers each bit on and off, and every pair of bits in all four on/off
// combinations: none, all, each single bit, each all-but-one.
std::vector<std::uint32_t> mask_cover(const hakmem::FlagSpec& s) {
  std::set<std::uint32_t> out = {s.min, s.max};
  int bits = std::bit_width(s.max);
  for (int i = 0; i < bits; ++i) {
    std::uint32_t one = 1u << i, all_but = s.max & ~one;
    if (one >= s.min && one <= s.max) out.insert(one);
    if (all_but >= s.min) out.insert(all_but);
  }
  return {out.begin(), out.end()};
}

}  // namespace

Matrix::Matrix() {
  const auto& table = hakmem::flag_table();
  for (std::size_t i = 0; i < table.size(); ++i) {
    const hakmem::FlagSpec& s = table[i];
    if (!s.swept) continue;
    if (s.build_switch && std::ranges::find(kRealisedBuildSwitches, std::string_view(s.field)) ==
                              std::end(kRealisedBuildSwitches))
      throw std::logic_error(std::string("sweep: build switch ") + s.name +
                             " is swept but this binary "
                             "cannot realise its values");
    axes_.push_back({&s, i, domain(s)});
    size_ *= axes_.back().values.size();
  }
  auto known = [&](std::string_view field) {
    return std::ranges::any_of(table, [&](const hakmem::FlagSpec& s) { return s.field == field; });
  };
  for (auto f : kTelemetryOnly)
    if (!known(f)) throw std::logic_error("sweep: telemetry rule names unknown flag " + std::string(f));
  for (auto r : kIrrelevantWhen)
    if (!known(r.field) || !known(r.when_field))
      throw std::logic_error("sweep: irrelevance rule names unknown flag " + std::string(r.field));
}

Cell Matrix::cell(std::size_t index) const {
  Cell c;
  c.index = index;
  c.values.resize(axes_.size());
  // Mixed radix, the last axis varying fastest.
  for (std::size_t a = axes_.size(); a-- > 0;) {
    const auto& vals = axes_[a].values;
    c.values[a] = vals[index % vals.size()];
    index /= vals.size();
  }
  return c;
}

std::vector<Cell> Matrix::all() const {
  std::vector<Cell> out;
  out.reserve(size_);
  for (std::size_t i = 0; i < size_; ++i) out.push_back(cell(i));
  return out;
}

// --quick: the product of, per axis, its whole domain (up to 16 values) or,
// for a wider mask, mask_cover(). Every value of every small flag meets every
// value of every other small flag and every covering mask; each covering mask
// still meets both stats flavours and both stats env values, so every
// equivalence class in the selection has partners to compare against.
std::vector<Cell> Matrix::quick() const {
  std::vector<std::vector<std::size_t>> picks;  // per axis: positions in its domain
  for (const Axis& a : axes_) {
    std::vector<std::uint32_t> chosen = a.values;
    if (a.spec->kind == hakmem::FlagKind::kMask && a.values.size() > kQuickFullDomain)
      chosen = mask_cover(*a.spec);
    std::vector<std::size_t> pos;
    for (std::uint32_t v : chosen)
      pos.push_back(static_cast<std::size_t>(std::ranges::find(a.values, v) - a.values.begin()));
    picks.push_back(pos);
  }
  std::vector<Cell> out;
  std::vector<std::size_t> odometer(axes_.size(), 0);
  while (true) {
    std::size_t index = 0;
    for (std::size_t a = 0; a < axes_.size(); ++a)
      index = index * axes_[a].values.size() + picks[a][odometer[a]];
    out.push_back(cell(index));
    std::size_t a = axes_.size();
    while (a > 0 && ++odometer[a - 1] == picks[a - 1].size()) odometer[--a] = 0;
    if (a == 0) break;
  }
  std::ranges::sort(out, {}, &Cell::index);
  return out;
}

std::uint32_t Matrix::value(const Cell& c, std::string_view field) const {
  for (std::size_t a = 0; a < axes_.size(); ++a)
    if (axes_[a].spec->field == field) return c.values[a];
  for (const hakmem::FlagSpec& s : hakmem::flag_table())
    if (s.field == field) return s.default_value;
  throw std::logic_error("sweep: no flag " + std::string(field));
}

bool Matrix::stats_compiled(const Cell& c) const { return value(c, "stats_compiled") != 0; }

EnvVars Matrix::env(const Cell& c) const {
  EnvVars out;
  for (std::size_t a = 0; a < axes_.size(); ++a)
    if (!axes_[a].spec->build_switch)
      out.emplace_back(axes_[a].spec->name, axes_[a].spec->value_text(c.values[a]));
  const hakmem::FlagSpec& invalid = hakmem::env_flag_spec(hakmem::EnvFlag::invalid_free);
  out.emplace_back(invalid.name,
                   invalid.value_text(static_cast<std::uint32_t>(hakmem::InvalidFreePolicy::quiet)));
  return out;
}

std::string Matrix::describe(const Cell& c) const {
  std::string out;
  for (std::size_t a = 0; a < axes_.size(); ++a) {
    if (!out.empty()) out += ' ';
    out += axes_[a].spec->name;
    out += '=';
    out += axes_[a].spec->value_text(c.values[a]);
  }
  return out;
}

std::string Matrix::key(const Cell& c, bool drop_irrelevant) const {
  std::string out;
  for (std::size_t a = 0; a < axes_.size(); ++a) {
    const hakmem::FlagSpec& s = *axes_[a].spec;
    if (is_telemetry_only(s)) continue;
    bool irrelevant = drop_irrelevant && std::ranges::any_of(kIrrelevantWhen, [&](const Irrelevance& r) {
                        return r.field == s.field && value(c, r.when_field) == r.when_value;
                      });
    if (irrelevant) continue;
    if (!out.empty()) out += ' ';
    out += s.field;
    out += '=';
    out += s.value_text(c.values[a]);
  }
  return out.empty() ? "(all)" : out;
}

std::string Matrix::equivalence_key(const Cell& c) const { return key(c, true); }
std::string Matrix::shard_unit(const Cell& c) const { return key(c, false); }

std::string Matrix::shape() const {
  std::string out;
  for (const Axis& a : axes_) {
    if (!out.empty()) out += " x ";
    out += a.spec->name;
    out += '{';
    if (a.values.size() > 4)
      out += a.spec->value_text(a.values.front()) + ".." + a.spec->value_text(a.values.back());
    else
      for (std::size_t i = 0; i < a.values.size(); ++i)
        out += (i ? "," : "") + a.spec->value_text(a.values[i]);
    out += '}';
  }
  return out;
}

std::vector<Cell> select_shard(const Matrix& m, const std::vector<Cell>& cells, int k, int n) {
  if (n < 1 || k < 1 || k > n) throw std::invalid_argument("shard must be K/N with 1 <= K <= N");
  std::map<std::string, std::size_t> unit_ordinal;
  std::vector<Cell> out;
  for (const Cell& c : cells) {
    auto [it, fresh] = unit_ordinal.try_emplace(m.shard_unit(c), unit_ordinal.size());
    if (static_cast<int>(it->second % static_cast<std::size_t>(n)) == k - 1) out.push_back(c);
  }
  return out;
}

}  // namespace hakfuzz::sweep
