// The names and messages the allocator prints itself: verdicts (a rejected
// free's report), counters and plant docs, and the per-class stats table
// printed at teardown. Names only the tester prints (block kinds, census
// queues) live with the tester (oracle/type_names.cpp).
#include <cinttypes>

#include "hakmem/types.h"

namespace hakmem {

const char* verdict_name(Verdict v) {
  static const char* const names[] = {
#define HAKMEM_VERDICT(name, counter, msg) #name,
#include "hakmem/verdicts.def"
#undef HAKMEM_VERDICT
  };
  return names[static_cast<int>(v)];
}

const char* verdict_message(Verdict v) {
  static const char* const msgs[] = {
#define HAKMEM_VERDICT(name, counter, msg) msg,
#include "hakmem/verdicts.def"
#undef HAKMEM_VERDICT
  };
  return msgs[static_cast<int>(v)];
}

const char* v2_stat_name(V2Stat s) {
  static const char* const names[] = {
#define HAKMEM_V2_STAT(name, doc) #name,
#include "hakmem/v2_stats.def"
#undef HAKMEM_V2_STAT
  };
  return names[static_cast<int>(s)];
}

const char* free_route_name(FreeRoute r) {
  static const char* const names[] = {"null", "v2_local", "v2_remote", "v1", "large", "rejected"};
  return names[static_cast<int>(r)];
}

const char* plant_doc(Plant p) {
  static const char* const docs[] = {
      "no planted bug",
#define HAKMEM_PLANT(id, doc) doc,
#include "hakmem/plants.def"
#undef HAKMEM_PLANT
  };
  return docs[static_cast<int>(p)];
}

std::string format_stats_table(const StatsSnapshot& s) {
  if (!s.compiled)
    return "[pool v2 stats] compiled out (build with HAKMEM_POOL_HOTBOX_V2_STATS_COMPILED=1)\n";
  std::string out = "[pool v2 stats]\nclass";
  for (int i = 0; i < kNumV2Stats; ++i) {
    out += ' ';
    out += v2_stat_name(static_cast<V2Stat>(i));
  }
  out += '\n';
  for (int row = 0; row < kNumStatRows; ++row) {
    char label[32];
    if (row == kNoClassRow)
      std::snprintf(label, sizeof label, "none");
    else
      std::snprintf(label, sizeof label, "%zuK", kClassSizes[row] / 1024);
    out += label;
    for (int i = 0; i < kNumV2Stats; ++i) {
      char num[32];
      std::snprintf(num, sizeof num, " %" PRIu64, s.rows[row][i]);
      out += num;
    }
    out += '\n';
  }
  return out;
}

}  // namespace hakmem
