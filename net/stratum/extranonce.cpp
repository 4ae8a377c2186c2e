#include "net/stratum/extranonce.hpp"

#include <cmath>

#include "net/stratum/json_rpc.hpp"

namespace hf::stratum {

std::optional<Extranonce> extranonce_of(const boost::json::array& p, std::size_t at, std::string* why) {
  if (p.size() < at + 2 || !p[at].is_string()) {
    *why = "no extranonce1";
    return std::nullopt;
  }
  auto en1 = from_hex(p[at].as_string());
  if (!en1 || en1->size() > 32) {
    *why = "extranonce1 is not hex of at most 32 bytes";
    return std::nullopt;
  }
  const auto size = number_of(p[at + 1]);
  if (!size || !(*size >= 1 && *size <= 16) || *size != std::floor(*size)) {
    *why = "extranonce2_size is not a whole number from 1 to 16";
    return std::nullopt;
  }
  return Extranonce{std::move(*en1), static_cast<std::size_t>(*size)};
}

}  // namespace hf::stratum
