// The extranonce a pool gives a miner: in mining.subscribe's reply ([subs, extranonce1,
// extranonce2_size]) and in mining.set_extranonce ([extranonce1, extranonce2_size]). Read
// alike by the worker's pool client and the coordinator's upstream link. Pure code.
#pragma once
#include <boost/json.hpp>

#include <cstddef>
#include <optional>
#include <string>

#include "hashforge/hex.hpp"

namespace hf::stratum {

struct Extranonce {
  Bytes extranonce1;                 // at most 32 bytes
  std::size_t extranonce2_size = 0;  // 1..16 bytes
  bool operator==(const Extranonce&) const = default;
};

// params[at] is extranonce1's hex and params[at + 1] extranonce2_size, a whole number from 1
// to 16 or a string holding one (some pools send "4"). nullopt with a one-line *why.
std::optional<Extranonce> extranonce_of(const boost::json::array& params, std::size_t at, std::string* why);

}  // namespace hf::stratum
