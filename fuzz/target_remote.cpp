// `remote`: a schedule of up to 8 logical threads, each a real OS thread,
// run one op at a time in the input's order (exec/team.h), so a failing
// interleaving replays from its file. Every thread ends with the input.
#include "fuzz/targets.h"

namespace hakfuzz {

RunResult run_remote_target(Bytes input, bool trace) {
  return run_program(decode(input, true), {.trace = trace});
}

}  // namespace hakfuzz
