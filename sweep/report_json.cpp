#include "sweep/report_json.h"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>

#include "support/digest.h"
#include "sweep/report_files.h"

namespace hakfuzz::sweep {

namespace {

using nlohmann::json;

// Reports are versioned so that a merge refuses a report it would misread.
constexpr int kReportFormat = 1;

const json& field(const json& j, const char* name, json::value_t type, const std::string& where) {
  auto it = j.find(name);
  if (it == j.end()) throw ReportError(fmt::format("{}: no field \"{}\"", where, name));
  const bool number_ok = type == json::value_t::number_unsigned && it->is_number_unsigned();
  const bool float_ok = type == json::value_t::number_float && it->is_number();
  if (it->type() != type && !number_ok && !float_ok)
    throw ReportError(fmt::format("{}: field \"{}\" has the wrong type ({})", where, name, it->type_name()));
  return *it;
}

std::uint64_t parse_hex_digest(const std::string& text, const std::string& where) {
  std::uint64_t v = 0;
  const bool prefixed = text.starts_with("0x");
  const char* begin = text.data() + (prefixed ? 2 : 0);
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v, 16);
  if (!prefixed || ec != std::errc() || end != text.data() + text.size() || begin == end)
    throw ReportError(fmt::format("{}: digest '{}' is not a 0x-prefixed hex number", where, text));
  return v;
}

}  // namespace

nlohmann::ordered_json cell_json(const Matrix& m, const CellResult& r) {
  using json = nlohmann::ordered_json;
  json flags = json::object();
  for (std::size_t a = 0; a < m.axes().size(); ++a)
    flags[m.axes()[a].spec->name] = m.axes()[a].spec->value_text(r.cell.values[a]);
  return {{"index", r.cell.index},
          {"config", m.describe(r.cell)},
          {"flags", flags},
          {"status", status_name(r.verdict())},
          {"run_status", status_name(r.status)},
          {"digest", r.has_digest ? json(support::hex64(r.digest)) : json(nullptr)},
          {"has_digest", r.has_digest},
          {"equivalence_key", m.equivalence_key(r.cell)},
          {"equivalence", r.equivalence_note.empty() ? json(nullptr) : json(r.equivalence_note)},
          {"ops", r.ops},
          {"ops_per_sec", r.ops_per_sec()},
          {"seconds", r.seconds},
          {"notes", r.notes}};
}

CellResult cell_from_json(const Matrix& m, const json& j) {
  if (!j.is_object()) throw ReportError("a cell entry is not an object");
  const std::size_t index = field(j, "index", json::value_t::number_unsigned, "a cell").get<std::size_t>();
  const std::string where = fmt::format("cell {}", index);
  if (index >= m.size())
    throw ReportError(fmt::format("{}: no such cell, the matrix has {} cells", where, m.size()));
  CellResult r;
  r.cell = m.cell(index);
  if (auto flags = j.find("flags"); flags != j.end()) {
    for (std::size_t a = 0; a < m.axes().size(); ++a) {
      const hakmem::FlagSpec& s = *m.axes()[a].spec;
      const std::string expected = s.value_text(r.cell.values[a]);
      if (!flags->is_object() || !flags->contains(s.name) || (*flags)[s.name] != expected)
        throw ReportError(
            fmt::format("{}: flag {} is not {} as the matrix has it at this index (a report of "
                        "another flag table?)",
                        where, s.name, expected));
    }
  }
  const std::string status = field(j, "run_status", json::value_t::string, where).get<std::string>();
  const std::optional<CellStatus> parsed = parse_status(status);
  if (!parsed) throw ReportError(fmt::format("{}: run_status '{}' is no cell status", where, status));
  r.status = *parsed;
  r.has_digest = field(j, "has_digest", json::value_t::boolean, where).get<bool>();
  const json& digest = j.contains("digest") ? j["digest"] : json();
  if (r.has_digest != digest.is_string())
    throw ReportError(fmt::format("{}: has_digest is {} but the digest is {}", where, r.has_digest,
                                  digest.is_null() ? "missing" : digest.dump()));
  if (r.has_digest) r.digest = parse_hex_digest(digest.get<std::string>(), where);
  if (r.status == CellStatus::pass && !r.has_digest)
    throw ReportError(fmt::format("{}: passed without a digest (every run that passes has one)", where));
  r.ops = field(j, "ops", json::value_t::number_unsigned, where).get<std::uint64_t>();
  r.seconds = field(j, "seconds", json::value_t::number_float, where).get<double>();
  for (const json& n : field(j, "notes", json::value_t::array, where)) {
    if (!n.is_string()) throw ReportError(fmt::format("{}: a note is not a string", where));
    r.notes.push_back(n.get<std::string>());
  }
  return r;
}

void write_json(const std::string& path, const Matrix& m, const RunInfo& info,
                const std::vector<CellResult>& results) {
  using json = nlohmann::ordered_json;  // run fields first, cells last, each cell's fields in a fixed order
  json cells = json::array();
  std::size_t passed = 0;
  for (const CellResult& r : results) {
    passed += r.verdict() == CellStatus::pass;
    cells.push_back(cell_json(m, r));
  }
  const json doc = {{"tool", "hakfuzz sweep"},
                    {"format", kReportFormat},
                    {"seed", info.seed},
                    {"ops", info.ops},
                    {"threads", info.threads},
                    {"jobs", info.jobs},
                    {"selection", info.selection},
                    {"shard", info.shard},
                    {"build", info.build},
                    {"plant", info.plant},
                    {"matrix", m.shape()},
                    {"matrix_size", m.size()},
                    {"wall_seconds", info.wall_seconds},
                    {"passed", passed},
                    {"failed", results.size() - passed},
                    {"cells", cells}};
  std::ofstream f = open_for_writing(path);
  f << doc.dump(2) << '\n';
}

ShardReport read_report(const Matrix& m, const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ReportError(fmt::format("{}: cannot read", path));
  std::stringstream text;
  text << in.rdbuf();
  json doc;
  try {
    doc = json::parse(text.str());
  } catch (const json::parse_error& e) {
    throw ReportError(fmt::format("{}: not JSON: {}", path, e.what()));
  }
  if (!doc.is_object() || doc.value("tool", "") != "hakfuzz sweep")
    throw ReportError(fmt::format("{}: not a hakfuzz sweep report (no \"tool\": \"hakfuzz sweep\")", path));
  const int format = field(doc, "format", json::value_t::number_unsigned, path).get<int>();
  if (format != kReportFormat)
    throw ReportError(
        fmt::format("{}: report format {}, this hakfuzz reads format {}", path, format, kReportFormat));
  const std::string matrix = field(doc, "matrix", json::value_t::string, path).get<std::string>();
  if (matrix != m.shape())
    throw ReportError(fmt::format("{}: matrix {} is not this binary's {}", path, matrix, m.shape()));
  ShardReport report{.path = path, .info = {}, .results = {}};
  RunInfo& info = report.info;
  info.seed = field(doc, "seed", json::value_t::number_unsigned, path).get<std::uint64_t>();
  info.ops = field(doc, "ops", json::value_t::number_unsigned, path).get<std::uint64_t>();
  info.threads = field(doc, "threads", json::value_t::number_unsigned, path).get<int>();
  info.jobs = field(doc, "jobs", json::value_t::number_unsigned, path).get<int>();
  info.selection = field(doc, "selection", json::value_t::string, path).get<std::string>();
  info.shard = field(doc, "shard", json::value_t::string, path).get<std::string>();
  info.build = field(doc, "build", json::value_t::string, path).get<std::string>();
  info.plant = field(doc, "plant", json::value_t::string, path).get<std::string>();
  info.wall_seconds = field(doc, "wall_seconds", json::value_t::number_float, path).get<double>();
  for (const json& c : field(doc, "cells", json::value_t::array, path)) {
    try {
      report.results.push_back(cell_from_json(m, c));
    } catch (const ReportError& e) {
      throw ReportError(fmt::format("{}: {}", path, e.what()));
    } catch (const json::exception& e) {
      throw ReportError(fmt::format("{}: a cell entry: {}", path, e.what()));
    }
  }
  return report;
}

}  // namespace hakfuzz::sweep
