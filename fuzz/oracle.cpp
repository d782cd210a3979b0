#include "oracle_impl.h"

namespace hakfuzz {
template RunResult run_program<hakmem::PoolStatsOff>(const Program&, RunOptions);
template RunResult run_program<hakmem::PoolStatsOn>(const Program&, RunOptions);
}  // namespace hakfuzz
