#include "oracle_impl.h"

namespace hakfuzz {
template RunResult run_program<hakmem::PoolStatsOff>(const Program&, bool);
template RunResult run_program<hakmem::PoolStatsOn>(const Program&, bool);
}  // namespace hakfuzz
