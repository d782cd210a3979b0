// A finding: the first divergence between the pool and what it promises,
// with its kind from findings.def, where it happened and what diverged.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hakfuzz {

enum class FindingKind : std::uint8_t {
#define HAKFUZZ_FINDING(name, doc) name,
#include "oracle/findings.def"
#undef HAKFUZZ_FINDING
};
const char* finding_kind_name(FindingKind k);
const char* finding_kind_doc(FindingKind k);
std::optional<FindingKind> parse_finding_kind(std::string_view name);

struct Finding {
  FindingKind kind = FindingKind::invariant;
  std::size_t op_index = 0;  // the op that diverged; the op count for end-of-run checks
  std::string what;
  // "free_outcome at op 6: free interior of block 1: pool says ..."
  std::string describe() const;
};

}  // namespace hakfuzz
