#include "sweep/report.h"

#include <fmt/format.h>

#include <bit>
#include <map>

#include "fuzz/user_error.h"
#include "support/digest.h"
#include "sweep/report_files.h"

namespace hakfuzz::sweep {

std::ofstream open_for_writing(const std::string& path) {
  std::ofstream f(path);
  if (!f) throw UserError("cannot write " + path);
  return f;
}

std::string markup_escape(std::string_view text) {
  std::string out;
  for (char ch : text) switch (ch) {
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
      case '\'':
        out += "&#39;";
        break;
      default:
        out += ch;
    }
  return out;
}

std::vector<Cell> selection_cells(const Matrix& m, const std::string& selection) {
  if (selection == "full") return m.all();
  if (selection == "quick") return m.quick();
  throw ReportError("selection '" + selection + "': expected full or quick");
}

std::string SummaryRow::rate() const {
  double v = seconds > 0 ? static_cast<double>(ops) / seconds : 0;
  return v >= 1e6 ? fmt::format("{:.2f}M", v / 1e6) : fmt::format("{:.0f}k", v / 1e3);
}

std::vector<SummaryRow> summary_rows(const Matrix& m, const std::vector<CellResult>& results) {
  auto add = [](SummaryRow& row, const CellResult& r) {
    ++row.configs;
    row.passed += r.verdict() == CellStatus::pass;
    row.ops += r.ops;
    row.seconds += r.seconds;
  };
  std::vector<SummaryRow> out;
  for (std::size_t a = 0; a < m.axes().size(); ++a) {
    const hakmem::FlagSpec& s = *m.axes()[a].spec;
    const bool by_bits = s.kind == hakmem::FlagKind::kMask;
    std::map<std::uint32_t, SummaryRow> rows;
    for (const CellResult& r : results) {
      const std::uint32_t v = r.cell.values[a];
      const std::uint32_t group = by_bits ? static_cast<std::uint32_t>(std::popcount(v)) : v;
      SummaryRow& row = rows[group];
      if (row.configs == 0)
        row.flag = s.name, row.value = by_bits ? fmt::format("{} bits", group) : s.value_text(v);
      add(row, r);
    }
    for (auto& [group, row] : rows) out.push_back(std::move(row));
  }
  SummaryRow all;
  all.flag = "(all)";
  for (const CellResult& r : results) add(all, r);
  out.push_back(all);
  return out;
}

std::string status_counts(const std::vector<CellResult>& results) {
  std::map<CellStatus, std::size_t> by_status;
  for (const CellResult& r : results) ++by_status[r.verdict()];
  std::string out;
  for (auto [s, n] : by_status) out += fmt::format("{}{} {}", out.empty() ? "" : ", ", n, status_name(s));
  return out.empty() ? "no cells" : out;
}

std::string summary_table(const Matrix& m, const std::vector<CellResult>& results) {
  constexpr std::string_view kLine = "{:<38} {:<10} {:>7} {:>7} {:>7} {:>9}\n";
  std::string out = fmt::format(kLine, "flag", "value", "configs", "passed", "failed", "ops/s");
  for (const SummaryRow& row : summary_rows(m, results))
    out += fmt::format(kLine, row.flag, row.value, row.configs, row.passed, row.configs - row.passed,
                       row.rate());
  return out + "statuses: " + status_counts(results) + "\n";
}

std::string replay_command(const RunInfo& info, std::size_t cell_index) {
  return fmt::format("hakfuzz sweep --cell {} --seed {} --ops {} --threads {}{}", cell_index, info.seed,
                     info.ops, info.threads, info.plant.empty() ? "" : " --plant " + info.plant);
}

std::vector<std::string> all_notes(const CellResult& r) {
  std::vector<std::string> out = r.notes;
  if (!r.equivalence_note.empty()) out.push_back(r.equivalence_note);
  return out;
}

std::string not_passed_listing(const Matrix& m, const RunInfo& info, const std::vector<CellResult>& results,
                               std::size_t most) {
  constexpr std::size_t kNotesShown = 4;
  std::size_t not_passed = 0;
  std::string out;
  for (const CellResult& r : results) {
    if (r.verdict() == CellStatus::pass || not_passed++ >= most) continue;
    out += fmt::format("  cell {:04} {} [{}] digest {}\n", r.cell.index, status_name(r.verdict()),
                       m.describe(r.cell), r.has_digest ? support::hex64(r.digest) : "-");
    const std::vector<std::string> notes = all_notes(r);
    for (std::size_t i = 0; i < notes.size() && i < kNotesShown; ++i) out += "      " + notes[i] + "\n";
    out += "      replay: " + replay_command(info, r.cell.index) + "\n";
  }
  if (out.empty()) return out;
  return fmt::format("not passed{}:\n",
                     not_passed > most ? fmt::format(" (first {} of {})", most, not_passed) : "") +
         out;
}

void write_junit(const std::string& path, const Matrix& m, const RunInfo& info,
                 const std::vector<CellResult>& results) {
  std::size_t failures = 0, errors = 0;
  for (const CellResult& r : results) {
    errors += r.verdict() == CellStatus::harness_error;
    failures += r.verdict() == CellStatus::finding || r.verdict() == CellStatus::inactive;
  }
  std::ofstream f = open_for_writing(path);
  f << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  f << fmt::format(
      "<testsuites name=\"hakfuzz sweep\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
      results.size(), failures, errors, info.wall_seconds);
  f << fmt::format(
      "  <testsuite name=\"sweep.{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" time=\"{:.3f}\">\n",
      info.selection, results.size(), failures, errors, info.wall_seconds);
  f << fmt::format(
      "    <properties><property name=\"seed\" value=\"{}\"/><property name=\"shard\" value=\"{}\"/>"
      "<property name=\"build\" value=\"{}\"/><property name=\"plant\" value=\"{}\"/></properties>\n",
      info.seed, markup_escape(info.shard), markup_escape(info.build), markup_escape(info.plant));
  for (const CellResult& r : results) {
    f << fmt::format("    <testcase classname=\"sweep\" name=\"cell {:04} {}\" time=\"{:.3f}\"", r.cell.index,
                     markup_escape(m.describe(r.cell)), r.seconds);
    if (r.verdict() == CellStatus::pass) {
      f << "/>\n";
      continue;
    }
    const std::vector<std::string> notes = all_notes(r);
    std::string body;
    for (const std::string& n : notes) body += n + "\n";
    body += "replay: " + replay_command(info, r.cell.index) + "\n";
    const char* tag = r.verdict() == CellStatus::harness_error ? "error" : "failure";
    f << fmt::format(">\n      <{} type=\"{}\" message=\"{}\">{}</{}>\n    </testcase>\n", tag,
                     status_name(r.verdict()), markup_escape(notes.empty() ? "" : notes.front()),
                     markup_escape(body), tag);
  }
  f << "  </testsuite>\n</testsuites>\n";
}

}  // namespace hakfuzz::sweep
