// `hakfuzz flags`: the allocator's one flag table, as text or as the
// Markdown table docs/allocator.md embeds.
#include <fmt/format.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.h"
#include "hakmem/types.h"

namespace hakfuzz::cli {

std::string flag_table_markdown() {
  std::string out =
      "| Name | Kind | Accepted | Default | Swept | Description |\n"
      "|---|---|---|---|---|---|\n";
  for (const hakmem::FlagSpec& spec : hakmem::flag_table()) {
    std::string accepted = spec.accepted;
    for (char& ch : accepted)
      if (ch == '|') ch = ',';
    out += std::string("| `") + spec.name + "` | " + (spec.build_switch ? "build switch" : "environment") +
           " | " + accepted + " | " + spec.value_text(spec.default_value) + " | " +
           (spec.swept ? "yes" : "no") + " | " + spec.doc + " |\n";
  }
  return out;
}

po::options_description flags_options() {
  po::options_description d("flags options");
  d.add_options()("markdown", po::bool_switch(), "print a GitHub Markdown table (docs/allocator.md's)");
  return d;
}

int run_flags(const po::variables_map& vm) {
  if (vm["markdown"].as<bool>()) {
    std::cout << flag_table_markdown();
    return kExitClean;
  }
  struct Line {
    std::string name, kind, accepted, def, swept, doc;
  };
  std::vector<Line> lines = {{"Name", "Kind", "Accepted", "Default", "Swept", "Description"}};
  for (const hakmem::FlagSpec& s : hakmem::flag_table())
    lines.push_back({s.name, s.build_switch ? "build switch" : "environment", s.accepted,
                     s.value_text(s.default_value), s.swept ? "yes" : "no", s.doc});
  auto width = [&](auto field) {
    std::size_t w = 0;
    for (const Line& l : lines) w = std::max(w, (l.*field).size());
    return w;
  };
  std::size_t wn = width(&Line::name), wk = width(&Line::kind), wa = width(&Line::accepted),
              wd = width(&Line::def), ws = width(&Line::swept);
  for (const Line& l : lines)
    std::cout << fmt::format("{:<{}}  {:<{}}  {:<{}}  {:<{}}  {:<{}}  {}\n", l.name, wn, l.kind, wk,
                             l.accepted, wa, l.def, wd, l.swept, ws, l.doc);
  return kExitClean;
}

}  // namespace hakfuzz::cli
