// An error in what the user named: a path that cannot be read or written,
// an input whose target cannot be told. The layers below cli cannot throw
// its UsageError, so they throw this, and cli reports both alike (exit 2).
#pragma once
#include <stdexcept>

namespace hakfuzz {

class UserError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace hakfuzz
