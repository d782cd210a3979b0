#include "sweep/report.h"

#include <fmt/format.h>

#include <bit>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "support/digest.h"

namespace hakfuzz::sweep {

namespace {

struct Row {
  std::size_t configs = 0, passed = 0;
  std::uint64_t ops = 0;
  double seconds = 0;
  void add(const CellResult& r) {
    ++configs;
    passed += r.status == CellStatus::pass;
    ops += r.ops;
    seconds += r.seconds;
  }
};

std::string rate(const Row& r) {
  double v = r.seconds > 0 ? static_cast<double>(r.ops) / r.seconds : 0;
  return v >= 1e6 ? fmt::format("{:.2f}M", v / 1e6) : fmt::format("{:.0f}k", v / 1e3);
}

void open_or_throw(std::ofstream& f, const std::string& path) {
  f.open(path);
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char ch : s) switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  return out;
}

}  // namespace

std::string summary_table(const Matrix& m, const std::vector<CellResult>& results) {
  std::string out = fmt::format("{:<38} {:<10} {:>7} {:>7} {:>7} {:>9}\n", "flag", "value", "configs",
                                "passed", "failed", "ops/s");
  for (std::size_t a = 0; a < m.axes().size(); ++a) {
    const hakmem::FlagSpec& s = *m.axes()[a].spec;
    const bool by_bits = s.kind == hakmem::FlagKind::kMask;
    std::map<std::uint32_t, Row> rows;
    for (const CellResult& r : results) {
      std::uint32_t v = r.cell.values[a];
      rows[by_bits ? static_cast<std::uint32_t>(std::popcount(v)) : v].add(r);
    }
    for (const auto& [v, row] : rows)
      out += fmt::format("{:<38} {:<10} {:>7} {:>7} {:>7} {:>9}\n", s.name,
                         by_bits ? fmt::format("{} bits", v) : s.value_text(v), row.configs, row.passed,
                         row.configs - row.passed, rate(row));
  }
  Row all;
  std::map<CellStatus, std::size_t> by_status;
  for (const CellResult& r : results) all.add(r), ++by_status[r.status];
  out += fmt::format("{:<38} {:<10} {:>7} {:>7} {:>7} {:>9}\n", "(all)", "", all.configs, all.passed,
                     all.configs - all.passed, rate(all));
  std::string statuses;
  for (auto [s, n] : by_status)
    statuses += fmt::format("{}{} {}", statuses.empty() ? "" : ", ", n, status_name(s));
  out += "statuses: " + statuses + "\n";
  return out;
}

void write_json(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<CellResult>& results) {
  using nlohmann::json;
  json cells = json::array();
  std::size_t passed = 0;
  for (const CellResult& r : results) {
    json flags = json::object();
    for (std::size_t a = 0; a < m.axes().size(); ++a)
      flags[m.axes()[a].spec->name] = m.axes()[a].spec->value_text(r.cell.values[a]);
    passed += r.status == CellStatus::pass;
    cells.push_back({{"index", r.cell.index},
                     {"flags", flags},
                     {"status", status_name(r.status)},
                     {"digest", r.has_digest ? json(support::hex64(r.digest)) : json(nullptr)},
                     {"equivalence_key", m.equivalence_key(r.cell)},
                     {"ops", r.ops},
                     {"ops_per_sec", r.ops_per_sec()},
                     {"seconds", r.seconds},
                     {"notes", r.notes}});
  }
  json doc = {{"tool", "hakfuzz sweep"},
              {"seed", info.seed},
              {"ops", info.ops},
              {"threads", info.threads},
              {"jobs", info.jobs},
              {"selection", info.selection},
              {"shard", info.shard},
              {"build", info.build},
              {"matrix", m.shape()},
              {"matrix_size", m.size()},
              {"wall_seconds", info.wall_seconds},
              {"passed", passed},
              {"failed", results.size() - passed},
              {"cells", cells}};
  std::ofstream f;
  open_or_throw(f, path);
  f << doc.dump(2) << '\n';
}

void write_junit(const std::string& path, const Matrix& m, const RunInfo& info,
                 const std::vector<CellResult>& results) {
  std::size_t failures = 0, errors = 0;
  for (const CellResult& r : results) {
    errors += r.status == CellStatus::harness_error;
    failures += r.status == CellStatus::finding || r.status == CellStatus::inactive;
  }
  std::ofstream f;
  open_or_throw(f, path);
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  f << fmt::format(
      "<testsuites name=\"hakfuzz sweep\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
      results.size(), failures, errors, info.wall_seconds);
  f << fmt::format(
      "  <testsuite name=\"sweep.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
      info.selection, results.size(), failures, errors, info.wall_seconds);
  f << fmt::format(
      "    <properties><property name=\"seed\" value=\"{}\"/><property name=\"shard\" value=\"{}\"/>"
      "<property name=\"build\" value=\"{}\"/></properties>\n",
      info.seed, info.shard, xml_escape(info.build));
  for (const CellResult& r : results) {
    f << fmt::format("    <testcase classname=\"sweep\" name=\"cell {:04} {}\" time=\"{:.3f}\"", r.cell.index,
                     xml_escape(m.describe(r.cell)), r.seconds);
    if (r.status == CellStatus::pass) {
      f << "/>\n";
      continue;
    }
    std::string body;
    for (const std::string& n : r.notes) body += n + "\n";
    const char* tag = r.status == CellStatus::harness_error ? "error" : "failure";
    f << fmt::format(">\n      <{} type=\"{}\" message=\"{}\">{}</{}>\n    </testcase>\n", tag,
                     status_name(r.status), xml_escape(r.notes.empty() ? "" : r.notes.front()),
                     xml_escape(body), tag);
  }
  f << "  </testsuite>\n</testsuites>\n";
}

}  // namespace hakfuzz::sweep
