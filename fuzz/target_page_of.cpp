// `page_of`: the same programs, with page_of probed after every alloc and
// free at crafted addresses (interior, one past, the block before, the slab
// header and tail) whose verdict the slab geometry fixes, on pages of both
// routes, including after refresh_from_env() changed the route.
#include "fuzz/targets.h"

namespace hakfuzz {

RunResult run_page_of_target(Bytes input, bool trace) {
  return run_program(decode(input), {.trace = trace, .probe_page_of = true});
}

}  // namespace hakfuzz
