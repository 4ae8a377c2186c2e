// The messages hashforge nodes exchange on their peer links (length-prefixed frames over
// mutual TLS 1.3, net/node/wire_peers.*): one JSON object per frame, "type" first. Pure code.
//
//   hello       {"type": "hello", "spec": id, "name": n, "height": h, "tip": hash}
//   getheaders  {"type": "getheaders", "locator": [hash, ...]}          at most 64 hashes
//   headers     {"type": "headers", "headers": [[hash, previous, index], ...]}  at most 2000
//   getblocks   {"type": "getblocks", "hashes": [hash, ...]}            at most 500
//   block       {"type": "block", "block": {...}}                       a block in chain order
//   ops         {"type": "ops", "ops": [op, ...]}                       at most 1000 ledger operations
//   error       {"type": "error", "reason": text}                        then the sender closes
//
// A node sends hello first. A peer with more blocks is asked for headers from a locator
// (the sender's chain, tip first, thinning out), then for the blocks it lacks by hash; a new
// tip is pushed to every peer as a block message, and on ledger networks every newly pooled
// operation as an ops message.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "net/node/json.hpp"

namespace hf::node::wire {

inline constexpr std::size_t kMaxLocator = 64;
inline constexpr std::size_t kMaxHeaders = 2000;
inline constexpr std::size_t kMaxGetBlocks = 500;
inline constexpr std::size_t kMaxFrame = 8 * 1024 * 1024;
inline constexpr std::size_t kMaxOps = 1000;

struct Header {
  std::string hash, previous_hash;
  std::int64_t index = 0;
};

struct Message {
  enum class Type : std::uint8_t { hello, getheaders, headers, getblocks, block, ops, error };
  Type type = Type::error;
  // hello
  std::string spec, name, tip;
  std::int64_t height = 0;
  // getheaders: locator; getblocks: hashes
  std::vector<std::string> hashes;
  std::vector<Header> headers;
  Json block;          // block: the block object as sent
  std::vector<Json> ops;  // ops: each as sent (checked by the ledger, not here)
  std::string reason;  // error
};

std::string encode_hello(const std::string& spec, const std::string& name, std::int64_t height, const std::string& tip);
std::string encode_getheaders(const std::vector<std::string>& locator);
std::string encode_headers(const std::vector<Header>& headers);
std::string encode_getblocks(const std::vector<std::string>& hashes);
// `block_text` is the block's JSON in chain order (TreeEntry::text), spliced in unparsed.
std::string encode_block(const std::string& block_text);
// Each text is an operation's JSON, spliced in unparsed.
std::string encode_ops(const std::vector<std::string>& op_texts);
std::string encode_error(const std::string& reason);

// One frame's payload. Empty with *why set on anything malformed or over the limits.
std::optional<Message> parse_message(std::string_view payload, std::string* why);

}  // namespace hf::node::wire
