// The HTML report: one self-contained page (inline CSS and JS, nothing
// fetched) with the run's header, a heatmap of the selection (heatmap.h: a
// row per value of the widest axis, a column per combination of the others;
// each cell coloured by its verdict, ops/s in its hover title, a letter
// inside), the summary table, and every cell that did not pass with its
// config, notes, replay command and environment. The page's script counts
// the non-passing cells it finds drawn in their status colour and puts the
// count in document.title, which a headless browser can read back.
#include <fmt/format.h>

#include <map>

#include "support/digest.h"
#include "sweep/heatmap.h"
#include "sweep/report.h"
#include "sweep/report_files.h"

namespace hakfuzz::sweep {

namespace {

struct StatusStyle {
  const char* css_name;  // data-status and the legend
  const char* label;
  const char* letter;
  const char* colour;
};

constexpr StatusStyle kNotRun = {"not-run", "not run", "\u2013", "#d4d4d4"};

StatusStyle style_of(CellStatus s) {
  switch (s) {
    case CellStatus::pass:
      return {"pass", "pass", "P", "#3a9a55"};
    case CellStatus::inactive:
      return {"inactive", "inactive (a path the config enables never ran)", "I", "#e3a21a"};
    case CellStatus::finding:
      return {"finding", "finding", "F", "#d7263d"};
    case CellStatus::harness_error:
      return {"harness-error", "harness error", "H", "#6b2fa3"};
  }
  return kNotRun;
}

constexpr CellStatus kAllStatuses[] = {CellStatus::pass, CellStatus::inactive, CellStatus::finding,
                                       CellStatus::harness_error};

constexpr const char* kStyle = R"css(
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: 0.2em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
.run { color: #555; margin: 0.2em 0; } code, pre { font: 12.5px/1.35 ui-monospace, monospace; }
.legend span.swatch { display: inline-block; width: 1em; height: 1em; vertical-align: -0.15em;
  margin: 0 0.3em 0 1em; border: 1px solid #888; }
table.heatmap { border-collapse: collapse; }
table.heatmap th { font-weight: normal; font-size: 11.5px; padding: 1px 4px; white-space: nowrap; }
table.heatmap thead th { border-bottom: 1px solid #bbb; }
table.heatmap th.axis, table.heatmap th.row { text-align: right; color: #555; }
table.heatmap td.cell { width: 2.2em; height: 1.25em; text-align: center; font-size: 11px;
  border: 1px solid #fff; color: #fff; }
table.heatmap td.cell a { color: inherit; text-decoration: none; font-weight: bold; }
table.heatmap td.cell[data-status="not-run"] { color: #777; }
table.summary { border-collapse: collapse; } table.summary td, table.summary th { padding: 2px 10px; }
table.summary td.n { text-align: right; font-variant-numeric: tabular-nums; }
table.summary tr:nth-child(even) { background: #f3f3f3; }
.failed { border-left: 5px solid #8c1c2b; padding: 0.2em 1em; margin: 1em 0; background: #fbf3f4; }
.failed:target { outline: 2px solid #222; }
.failed h3 { margin: 0.3em 0; font-size: 1em; } .failed dt { font-weight: bold; margin-top: 0.4em; }
.failed dd { margin-left: 1.2em; } .failed ul { margin: 0; padding-left: 1.2em; }
)css";

constexpr const char* kScript = R"js(
(function () {
  const colour = {};
  for (const s of document.querySelectorAll('.legend .swatch'))
    colour[s.dataset.status] = getComputedStyle(s).backgroundColor;
  let notPassed = 0, drawn = 0;
  for (const td of document.querySelectorAll('table.heatmap td.cell')) {
    const status = td.dataset.status;
    if (status === 'pass' || status === 'not-run') continue;
    ++notPassed;
    const box = td.getBoundingClientRect();
    const painted = getComputedStyle(td).backgroundColor;
    if (box.width > 0 && box.height > 0 && painted === colour[status] && painted !== colour['pass']) ++drawn;
  }
  document.title = 'hakfuzz sweep: ' + notPassed + ' not passed, ' + drawn + ' drawn';
})();
)js";

std::string run_header(const Matrix& m, const RunInfo& info) {
  return fmt::format(
      "<p class=\"run\">seed {} &middot; ops {} &middot; threads {} &middot; jobs {} &middot; selection {} "
      "&middot; shard {} &middot; {:.1f} s{}</p>\n<p class=\"run\">build {}</p>\n<p class=\"run\">matrix {} "
      "({} cells)</p>\n",
      info.seed, info.ops, info.threads, info.jobs, markup_escape(info.selection), markup_escape(info.shard),
      info.wall_seconds,
      info.plant.empty() ? "" : " &middot; planted bug <b>" + markup_escape(info.plant) + "</b>",
      markup_escape(info.build), markup_escape(m.shape()), m.size());
}

std::string legend(const std::vector<CellResult>& results, std::size_t not_run) {
  std::map<CellStatus, std::size_t> counts;
  for (const CellResult& r : results) ++counts[r.verdict()];
  std::string out = "<p class=\"legend\">";
  auto swatch = [&](const StatusStyle& st, std::size_t n) {
    out += fmt::format("<span class=\"swatch\" data-status=\"{}\" style=\"background:{}\"></span>{} {} ({})",
                       st.css_name, st.colour, st.letter, st.label, n);
  };
  for (CellStatus s : kAllStatuses) swatch(style_of(s), counts[s]);
  swatch(kNotRun, not_run);
  return out + "</p>\n";
}

std::string heatmap(const Matrix& m, const std::vector<Cell>& selection,
                    const std::map<std::size_t, const CellResult*>& by_index) {
  const HeatmapLayout layout = heatmap_layout(m, selection);
  const auto& axes = m.axes();
  const hakmem::FlagSpec& row_spec = *axes[layout.row_axis].spec;
  std::string out = fmt::format(
      "<table class=\"heatmap\"><caption>rows: {} ({} values); columns: every combination of the other "
      "flags</caption>\n<thead>\n",
      row_spec.name, layout.rows());
  for (std::size_t k = 0; k < layout.column_axes.size(); ++k) {
    const hakmem::FlagSpec& spec = *axes[layout.column_axes[k]].spec;
    out += fmt::format("<tr><th class=\"axis\">{}</th>", spec.name);
    const std::size_t repeats = layout.columns() / (layout.span(k) * layout.column_values[k].size());
    for (std::size_t rep = 0; rep < repeats; ++rep)
      for (std::uint32_t v : layout.column_values[k])
        out += fmt::format("<th colspan=\"{}\">{}</th>", layout.span(k), spec.value_text(v));
    out += "</tr>\n";
  }
  out += fmt::format("<tr><th class=\"axis\">{} &darr;</th><th colspan=\"{}\"></th></tr>\n", row_spec.name,
                     layout.columns());
  out += "</thead>\n<tbody>\n";
  for (std::size_t row = 0; row < layout.rows(); ++row) {
    out += fmt::format("<tr><th class=\"row\">{}</th>", row_spec.value_text(layout.row_values[row]));
    for (std::size_t column = 0; column < layout.columns(); ++column) {
      const std::size_t index = layout.at(row, column);
      if (index == HeatmapLayout::kNoCell) {
        out += "<td></td>";
        continue;
      }
      auto it = by_index.find(index);
      const std::string config = m.describe(m.cell(index));
      if (it == by_index.end()) {
        out += fmt::format(
            "<td class=\"cell\" data-status=\"{}\" data-cell=\"{}\" style=\"background:{}\" "
            "title=\"cell {:04} not run&#10;{}\">{}</td>",
            kNotRun.css_name, index, kNotRun.colour, index, markup_escape(config), kNotRun.letter);
        continue;
      }
      const CellResult& r = *it->second;
      const StatusStyle st = style_of(r.verdict());
      const std::string text = r.verdict() == CellStatus::pass
                                   ? st.letter
                                   : fmt::format("<a href=\"#cell-{:04}\">{}</a>", index, st.letter);
      out += fmt::format(
          "<td class=\"cell\" data-status=\"{}\" data-cell=\"{}\" style=\"background:{}\" "
          "title=\"cell {:04} {}&#10;{}&#10;{:.1f}k ops/s, {} ops in {:.2f} s&#10;digest {}\">{}</td>",
          st.css_name, index, st.colour, index, st.css_name, markup_escape(config), r.ops_per_sec() / 1e3,
          r.ops, r.seconds, r.has_digest ? support::hex64(r.digest) : "-", text);
    }
    out += "</tr>\n";
  }
  return out + "</tbody></table>\n";
}

std::string summary(const Matrix& m, const std::vector<CellResult>& results) {
  std::string out =
      "<table class=\"summary\"><tr><th>flag</th><th>value</th><th>configs</th><th>passed</th><th>failed</th>"
      "<th>ops/s</th></tr>\n";
  for (const SummaryRow& row : summary_rows(m, results))
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>"
        "<td class=\"n\">{}</td></tr>\n",
        row.flag, row.value, row.configs, row.passed, row.configs - row.passed, row.rate());
  return out + "</table>\n<p>statuses: " + status_counts(results) + "</p>\n";
}

std::string not_passed(const Matrix& m, const RunInfo& info, const std::vector<CellResult>& results) {
  std::string out;
  for (const CellResult& r : results) {
    if (r.verdict() == CellStatus::pass) continue;
    std::string env, build_switches;
    for (const auto& [name, value] : m.env(r.cell)) env += (env.empty() ? "" : " ") + name + "=" + value;
    for (std::size_t a = 0; a < m.axes().size(); ++a)
      if (m.axes()[a].spec->build_switch)
        build_switches += fmt::format("{}{}={}", build_switches.empty() ? "" : " ", m.axes()[a].spec->name,
                                      m.axes()[a].spec->value_text(r.cell.values[a]));
    std::string notes;
    for (const std::string& n : all_notes(r)) notes += "<li>" + markup_escape(n) + "</li>";
    std::string replay = replay_command(info, r.cell.index);
    if (!r.equivalence_note.empty())
      replay +=
          "\n" + replay_command(info, r.equivalence_partner) + "   # the equivalent cell it disagrees with";
    out += fmt::format(
        "<div class=\"failed\" id=\"cell-{:04}\"><h3>cell {:04} &mdash; {}</h3><dl>\n"
        "<dt>config</dt><dd><code>{}</code></dd>\n"
        "<dt>digest</dt><dd><code>{}</code> (equivalence key <code>{}</code>)</dd>\n"
        "<dt>notes</dt><dd><ul>{}</ul></dd>\n"
        "<dt>replay</dt><dd><pre>{}</pre></dd>\n"
        "<dt>environment</dt><dd><code>{}</code> with the build switch <code>{}</code></dd>\n"
        "</dl></div>\n",
        r.cell.index, r.cell.index, status_name(r.verdict()), markup_escape(m.describe(r.cell)),
        r.has_digest ? support::hex64(r.digest) : "none", markup_escape(m.equivalence_key(r.cell)),
        notes.empty() ? "<li>(none)</li>" : notes, markup_escape(replay), markup_escape(env),
        markup_escape(build_switches));
  }
  return out;
}

}  // namespace

void write_html(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<Cell>& selection, const std::vector<CellResult>& results) {
  std::map<std::size_t, const CellResult*> by_index;
  for (const CellResult& r : results) by_index[r.cell.index] = &r;
  std::size_t passed = 0, not_run = 0;
  for (const CellResult& r : results) passed += r.verdict() == CellStatus::pass;
  for (const Cell& c : selection) not_run += !by_index.contains(c.index);

  std::ofstream f = open_for_writing(path);
  f << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>hakfuzz "
       "sweep</title>\n<style>"
    << kStyle << "</style></head>\n<body>\n";
  f << fmt::format("<h1>hakfuzz sweep: {} passed, {} not passed of {} cells run</h1>\n", passed,
                   results.size() - passed, results.size());
  f << run_header(m, info) << "<h2>Matrix</h2>\n"
    << legend(results, not_run) << heatmap(m, selection, by_index);
  f << "<h2>Summary</h2>\n" << summary(m, results);
  f << fmt::format("<h2>Not passed ({})</h2>\n", results.size() - passed)
    << (passed == results.size() ? "<p>none</p>\n" : not_passed(m, info, results));
  f << "<script>" << kScript << "</script>\n</body></html>\n";
}

}  // namespace hakfuzz::sweep
