// JSON forms of ledger reads: the values a node answers with, the proofs that they are in a
// block's state, and the decoding a client does of the proven bytes (it shows what it
// decoded itself, never the node's own rendering). Pure code.
#pragma once
#include <optional>
#include <string>

#include "net/node/json.hpp"
#include "net/node/ledger_state.hpp"

namespace hf::node::ledger {

Json proof_to_json(const StateProof& p);
std::optional<StateProof> proof_from_json(const Json& j, std::string* why);
Json absence_to_json(const AbsenceProof& p);
std::optional<AbsenceProof> absence_from_json(const Json& j, std::string* why);

// The value bytes of each kind of entry back to what they encode; nullopt when malformed.
std::optional<Account> decode_account(std::string_view value);
std::optional<Auction> decode_auction(std::string_view value);
std::optional<std::uint64_t> decode_escrow(std::string_view value);

// Readable forms, the same on both sides.
Json account_json(const Account& a);
Json auction_json(const Hash& id, const Auction& a);
std::string_view status_name(AuctionStatus s);

std::string hex_of(std::string_view bytes);
template <std::size_t N>
std::string hex_of(const std::array<std::uint8_t, N>& a) {
  return hex_of(std::string_view(reinterpret_cast<const char*>(a.data()), N));
}
// 64 lowercase hex digits to 32 bytes.
std::optional<Hash> hash_of_hex(std::string_view hex);

}  // namespace hf::node::ledger
