// What the engine is asked to do, and what a search finds: the operations a backend is chosen
// for, search goals and hits.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

#include "hashforge/target.hpp"
#include "hashforge/types.hpp"

namespace hf {

// Operations a backend is chosen for separately: the best one for a sha256d scan need not
// be the best for bulk SHA-1.
enum class Op : std::uint8_t { search_sha256, search_sha256d, hash_sha1, hash_sha256, hash_sha256d };
inline constexpr Op kAllOps[] = {Op::search_sha256, Op::search_sha256d, Op::hash_sha1, Op::hash_sha256,
                                 Op::hash_sha256d};
std::string_view op_name(Op op);
std::optional<Op> parse_op(std::string_view name);
Op search_op(Algo a);
Op hash_op(Algo a);

struct Hit {
  std::uint64_t nonce = 0;
  Digest digest;  // the final digest (for sha256d, of the second hash), natural byte order
  Key key;        // digest as a number in the job's byte order
};

enum class Goal : std::uint8_t { below_target, best };

// What a device's batch hashing costs, in bytes of message per second (the benchmark's
// device rows).
struct DeviceBatchTiming {
  double resident = 0;                          // kernels alone, messages already in device memory
  double streamed = 0;                          // the whole hash_many path from host memory (staging and copies)
  double copy = 0;                              // host-to-device copies alone, from pinned memory
  std::size_t messages = 0, message_bytes = 0;  // what was timed (fewer if memory is short)
};

}  // namespace hf
