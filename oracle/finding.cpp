#include "oracle/finding.h"

namespace hakfuzz {

namespace {
struct KindRow {
  const char* name;
  const char* doc;
};
constexpr KindRow kKinds[] = {
#define HAKFUZZ_FINDING(name, doc) {#name, doc},
#include "oracle/findings.def"
#undef HAKFUZZ_FINDING
};
}  // namespace

const char* finding_kind_name(FindingKind k) { return kKinds[static_cast<int>(k)].name; }
const char* finding_kind_doc(FindingKind k) { return kKinds[static_cast<int>(k)].doc; }

std::optional<FindingKind> parse_finding_kind(std::string_view name) {
  for (std::size_t i = 0; i < std::size(kKinds); ++i)
    if (name == kKinds[i].name) return static_cast<FindingKind>(i);
  return std::nullopt;
}

std::string Finding::describe() const {
  return std::string(finding_kind_name(kind)) + " at op " + std::to_string(op_index) + ": " + what;
}

}  // namespace hakfuzz
