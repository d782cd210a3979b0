// A buffer of scratch memory that the thread's next user takes over: for
// harness bookkeeping rebuilt per fuzz input, so that each input does not
// pay for fresh pages (under ASan's quarantine, every new allocation is).
// Never for memory of the allocator under test. Users on one thread nest
// freely: each takes its own buffer.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace support {

class ScratchBuffer {
 public:
  static constexpr std::size_t kBytes = std::size_t{256} << 10;

  ScratchBuffer() {
    if (spare().empty()) {
      buffer_ = std::make_unique<std::byte[]>(kBytes);
    } else {
      buffer_ = std::move(spare().back());
      spare().pop_back();
    }
  }
  ~ScratchBuffer() { spare().push_back(std::move(buffer_)); }
  ScratchBuffer(const ScratchBuffer&) = delete;
  ScratchBuffer& operator=(const ScratchBuffer&) = delete;

  std::byte* data() { return buffer_.get(); }
  std::size_t size() const { return kBytes; }

 private:
  static std::vector<std::unique_ptr<std::byte[]>>& spare() {
    thread_local std::vector<std::unique_ptr<std::byte[]>> buffers;
    return buffers;
  }
  std::unique_ptr<std::byte[]> buffer_;
};

}  // namespace support
