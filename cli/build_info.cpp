#include "cli/build_info.h"

#include <fmt/format.h>
#include <oneapi/tbb/version.h>

#include "hakmem/variants.h"

#ifndef HAKFUZZ_BUILD_TYPE
#define HAKFUZZ_BUILD_TYPE "unknown"
#endif
#ifndef HAKFUZZ_SANITIZE
#define HAKFUZZ_SANITIZE ""
#endif

namespace hakfuzz::cli {

std::string build_info() {
#if defined(__clang__)
  std::string compiler =
      fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  std::string compiler = fmt::format("g++ {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  std::string compiler = "unknown compiler";
#endif
  std::string sanitize = HAKFUZZ_SANITIZE;
  return fmt::format("{} {}, sanitizers: {}, allocator flavours {}+{}+{}, oneTBB {}.{}", compiler,
                     HAKFUZZ_BUILD_TYPE, sanitize.empty() ? "none" : sanitize,
                     hakmem::PoolStatsOff::kFlavorName, hakmem::PoolStatsOn::kFlavorName,
                     hakmem::PoolTester::kFlavorName, TBB_VERSION_MAJOR, TBB_VERSION_MINOR);
}

}  // namespace hakfuzz::cli
