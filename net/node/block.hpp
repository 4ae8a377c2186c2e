// Blocks as the seed node defines them, and the schemes that hash them. Pure code.
//
// A block is {index, transactions, timestamp, previous_hash, nonce} plus its "hash". The
// seed's scheme hashes json.dumps of those five keys with sort_keys; a network may name
// another scheme in its chain spec (a fixed-size header, say), so everything that hashes or
// mines a block goes through BlockScheme.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/nonce.hpp"
#include "hashforge/target.hpp"
#include "hashforge/types.hpp"
#include "net/node/json.hpp"

namespace hf::node {

// Limits on what a block may hold: a peer's block over them is invalid.
struct BlockLimits {
  std::size_t max_transactions = 10'000;
  std::size_t max_transaction_bytes = 64 * 1024;  // one transaction's canonical JSON
  std::size_t max_block_bytes = 4 * 1024 * 1024;  // the whole hashed text
};

struct Block {
  std::int64_t index = 0;
  Json transactions = Json::array();  // array of objects
  Json timestamp = Json::integer(0);  // a number as sent (int or float: the hash sees which)
  std::string previous_hash;
  std::uint64_t nonce = 0;
  std::string hash;  // 64 lowercase hex digits
  // Header schemes only (empty / 0 under the seed's scheme, and then not in the JSON): the
  // state root the block commits to (64 hex digits) and its target in Bitcoin's compact form.
  std::string state_root;
  std::uint32_t bits = 0;

  double time() const { return timestamp.as_double(); }
};

// The block as a JSON object in the seed's order: index, transactions, timestamp,
// previous_hash, nonce, and hash when `with_hash`.
Json block_to_json(const Block& b, bool with_hash = true);
// json.dumps of that object (insertion order): what /chain lists.
std::string block_chain_text(const Block& b);
// Reads a block from a peer's JSON. Keys other than the six are ignored (the seed ignores
// them, and they are not hashed). Returns the block, or empty with *why set to one line.
std::optional<Block> block_from_json(const Json& j, std::string* why, bool require_hash = true);

// A transaction's identity: SHA-256 hex of its json.dumps with sort_keys.
std::string txid_of(const Json& tx);
// The seed's rule for a transaction a client posts: an object whose "author" and "content"
// are truthy. Empty, or the reason it is not.
std::string check_transaction_shape(const Json& tx);

// The bytes a scheme hashes, with where the nonce goes, for a mining job.
struct SearchTemplate {
  Bytes message;     // for varying-width decimal: the text without the nonce
  NonceField field;  // where and how the nonce is written
  Algo algo = Algo::sha256;
  ByteOrder order = ByteOrder::digest;  // how the digest is read as a number against the target
};

class BlockScheme {
 public:
  virtual ~BlockScheme() = default;
  virtual std::string name() const = 0;
  // The block's hash as 64 lowercase hex digits (block.hash is ignored).
  virtual std::string hash_hex(const Block& b) const = 0;
  // The hashed bytes (block.nonce is ignored).
  virtual SearchTemplate search_template(const Block& b) const = 0;
  // Size of what is hashed, for the block size limit.
  virtual std::size_t hashed_size(const Block& b) const = 0;
  // Rules of the scheme's own fields: empty, or why the block is invalid.
  virtual std::string check_fields(const Block&) const { return {}; }
  // Whether nonces run out (a 32-bit header field): the miner then moves the time on.
  virtual bool bounded_nonce() const { return false; }
};

// "seed-json": SHA-256 of json.dumps(five fields, sort_keys=True), digest read big-endian.
// "header-sha256d": the double SHA-256 of an 80-byte header laid out as Bitcoin's (version 1,
// previous hash, commitment, time, bits, nonce; little-endian integers, hashes in Bitcoin's
// reversed byte order), where the commitment is SHA-256d(transactions root || state root):
// every try hashes 80 bytes whatever the block holds, so a full block costs as much to mine
// as an empty one, and the engine's header scan mines it.
std::unique_ptr<BlockScheme> make_scheme(std::string_view name, std::string* why);

// The transactions' merkle root: leaves are the txids (SHA-256 of each transaction's sorted
// JSON), each node SHA-256d(left || right), an odd node at the end of a level moving up
// unchanged, zeros for no transactions.
std::array<std::uint8_t, 32> transactions_root(const Json& transactions);
// The 80-byte header of a block under "header-sha256d" (its nonce from block.nonce).
Bytes block_header(const Block& b);

bool is_hash_hex(std::string_view s);  // 64 lowercase hex digits

}  // namespace hf::node
