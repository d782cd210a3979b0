#include "explore/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace hakfuzz {

namespace {

using nlohmann::json;

// Reports are versioned so that a merge refuses a report it would misread.
constexpr int kReportFormat = 2;  // 2: with the memory model and its history

template <class T>
T field(const json& j, const char* name, const std::string& where) {
  const auto it = j.find(name);
  if (it == j.end()) throw ReportError(fmt::format("{}: no field \"{}\"", where, name));
  try {
    return it->get<T>();
  } catch (const json::exception&) {
    throw ReportError(fmt::format("{}: field \"{}\" has the wrong type ({})", where, name, it->type_name()));
  }
}

json input_json(const ExploredInput& in) {
  json j = {{"file", in.file},   {"interleavings", in.interleavings}, {"steps", in.steps},
            {"cut", in.cut},     {"exhausted", in.exhausted},         {"seconds", in.seconds},
            {"finding", nullptr}};
  if (in.finding)
    j["finding"] = {{"kind", finding_kind_name(in.finding->kind)},
                    {"op", in.finding->op_index},
                    {"what", in.finding->what},
                    {"file", in.finding_file}};
  return j;
}

ExploredInput input_from(const json& j, const std::string& where) {
  ExploredInput in;
  in.file = field<std::string>(j, "file", where);
  const std::string here = where + ", " + in.file;
  in.interleavings = field<std::size_t>(j, "interleavings", here);
  in.steps = field<std::size_t>(j, "steps", here);
  in.cut = field<std::size_t>(j, "cut", here);
  in.exhausted = field<bool>(j, "exhausted", here);
  in.seconds = field<double>(j, "seconds", here);
  const json& f = j.at("finding");
  if (!f.is_null()) {
    const std::string kind = field<std::string>(f, "kind", here);
    const std::optional<FindingKind> k = parse_finding_kind(kind);
    if (!k) throw ReportError(here + ": unknown finding kind '" + kind + "'");
    in.finding = Finding{*k, field<std::size_t>(f, "op", here), field<std::string>(f, "what", here)};
    in.finding_file = field<std::string>(f, "file", here);
  }
  return in;
}

// The first field two parts disagree on, or "".
std::string disagreement(const ExploreReport& a, const ExploreReport& b) {
  auto differ = [](const char* name, const auto& x, const auto& y) {
    return x == y ? std::string() : fmt::format("{}: {} vs {}", name, x, y);
  };
  for (std::string d :
       {differ("build", a.build, b.build),
        differ("strategy", explore_strategy_name(a.strategy), explore_strategy_name(b.strategy)),
        differ("bound", a.bound, b.bound),
        differ("reduction", reduction_name(a.reduction), reduction_name(b.reduction)),
        differ("memory", memory_kind_name(a.memory), memory_kind_name(b.memory)),
        differ("history", a.history, b.history), differ("seed", a.seed, b.seed),
        differ("parts", a.shard.n, b.shard.n), differ("inputs", a.inputs.size(), b.inputs.size())})
    if (!d.empty()) return d;
  for (std::size_t i = 0; i < a.inputs.size(); ++i)
    if (a.inputs[i].file != b.inputs[i].file)
      return fmt::format("input {}: {} vs {}", i + 1, a.inputs[i].file, b.inputs[i].file);
  return "";
}

}  // namespace

std::size_t ExploreReport::findings() const {
  return static_cast<std::size_t>(
      std::ranges::count_if(inputs, [](const ExploredInput& i) { return i.finding.has_value(); }));
}

std::string to_json(const ExploreReport& r) {
  json inputs = json::array();
  std::size_t interleavings = 0, steps = 0;
  for (const ExploredInput& in : r.inputs) {
    inputs.push_back(input_json(in));
    interleavings += in.interleavings;
    steps += in.steps;
  }
  const json j = {{"format", kReportFormat},
                  {"command", "explore"},
                  {"build", r.build},
                  {"shard", fmt::format("{}/{}", r.shard.k, r.shard.n)},
                  {"strategy", explore_strategy_name(r.strategy)},
                  {"bound", r.bound},
                  {"reduction", reduction_name(r.reduction)},
                  {"memory", memory_kind_name(r.memory)},
                  {"history", r.history},
                  {"seed", r.seed},
                  {"inputs", inputs},
                  {"totals",
                   {{"inputs", r.inputs.size()},
                    {"interleavings", interleavings},
                    {"steps", steps},
                    {"findings", r.findings()}}}};
  return j.dump(2) + "\n";
}

ExploreReport report_from_json(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw ReportError("not a JSON object");
  const std::string where = "explore report";
  if (field<int>(j, "format", where) != kReportFormat) throw ReportError(where + ": another report format");
  if (field<std::string>(j, "command", where) != "explore")
    throw ReportError(where + ": not an explore report");
  ExploreReport r;
  r.build = field<std::string>(j, "build", where);
  const std::string shard = field<std::string>(j, "shard", where);
  if (std::sscanf(shard.c_str(), "%d/%d", &r.shard.k, &r.shard.n) != 2 || r.shard.k < 1 ||
      r.shard.k > r.shard.n)
    throw ReportError(where + ": bad shard '" + shard + "'");
  const std::string strategy = field<std::string>(j, "strategy", where);
  bool known = false;
  for (ExploreStrategy s : {ExploreStrategy::dfs, ExploreStrategy::pct, ExploreStrategy::random})
    if (strategy == explore_strategy_name(s)) r.strategy = s, known = true;
  if (!known) throw ReportError(where + ": unknown strategy '" + strategy + "'");
  r.bound = field<int>(j, "bound", where);
  const std::optional<Reduction> reduction = parse_reduction(field<std::string>(j, "reduction", where));
  if (!reduction) throw ReportError(where + ": unknown reduction");
  r.reduction = *reduction;
  const std::optional<MemoryKind> memory = parse_memory_kind(field<std::string>(j, "memory", where));
  if (!memory) throw ReportError(where + ": unknown memory model");
  r.memory = *memory;
  r.history = field<int>(j, "history", where);
  r.seed = field<std::uint64_t>(j, "seed", where);
  for (const json& in : field<json>(j, "inputs", where)) r.inputs.push_back(input_from(in, where));
  return r;
}

ExploreReport merge_reports(const std::vector<ExploreReport>& parts) {
  if (parts.empty()) throw ReportError("no reports to merge");
  const ExploreReport& first = parts.front();
  std::vector<int> seen(static_cast<std::size_t>(first.shard.n) + 1, 0);
  for (const ExploreReport& p : parts) {
    if (const std::string d = disagreement(first, p); !d.empty())
      throw ReportError(fmt::format("part {}/{} does not fit part {}/{}: {}", p.shard.k, p.shard.n,
                                    first.shard.k, first.shard.n, d));
    if (++seen[static_cast<std::size_t>(p.shard.k)] > 1)
      throw ReportError(fmt::format("part {}/{} given twice", p.shard.k, p.shard.n));
  }
  for (int k = 1; k <= first.shard.n; ++k)
    if (!seen[static_cast<std::size_t>(k)])
      throw ReportError(fmt::format("part {}/{} is missing", k, first.shard.n));
  ExploreReport merged = first;
  merged.shard = {};
  for (ExploredInput& in : merged.inputs) in = ExploredInput{in.file, 0, 0, 0, true};
  for (const ExploreReport& p : parts)
    for (std::size_t i = 0; i < p.inputs.size(); ++i) {
      ExploredInput& m = merged.inputs[i];
      const ExploredInput& in = p.inputs[i];
      m.interleavings += in.interleavings, m.steps += in.steps, m.cut += in.cut;
      m.exhausted = m.exhausted && in.exhausted;
      m.seconds += in.seconds;
      if (in.finding && !m.finding) m.finding = in.finding, m.finding_file = in.finding_file;
    }
  return merged;
}

}  // namespace hakfuzz
