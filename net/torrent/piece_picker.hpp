// Which blocks to request from which peer. Pure code, one torrent, no clock: the session
// tells it what peers have, what it asked for and what came back, and asks for blocks.
//
// Order: blocks of pieces already started first (so few pieces are partial at once); then,
// until a few pieces are complete, random pieces (something to trade quickly); then the
// rarest pieces among the connected peers, ties in a random order fixed per torrent; or, in
// sequential mode, the lowest index. A block is requested from one peer at a time until every
// missing block is requested: then endgame, where a block may also be asked of other peers
// (at most kEndgameCopies at once) and the copies are cancelled when one arrives.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace hf::torrent {

using PeerKey = std::uint64_t;  // the session's id for a connection

struct BlockRef {
  std::uint32_t piece = 0;
  std::uint32_t begin = 0;
  std::uint32_t length = 0;
  friend bool operator==(const BlockRef&, const BlockRef&) = default;
};

// Requests to keep outstanding at a peer: enough to cover `seconds` of its measured rate,
// between 2 and 250 blocks of 16 KiB.
std::uint32_t request_queue_depth(double bytes_per_second, double seconds = 3.0);

class PiecePicker {
 public:
  struct Config {
    std::uint32_t pieces = 0;
    std::uint64_t piece_length = 0;
    std::uint64_t total_length = 0;
    std::uint32_t block_size = 16 * 1024;
    bool sequential = false;    // in order, for streaming
    std::uint32_t random_first = 4;  // random pieces until this many are complete
    std::uint64_t seed = 1;     // the random order
    // Stream ranges [begin, end) known to be zeros (BEP 47 pad files), sorted: a block wholly
    // inside one is never requested; it counts as received from the start. (In a piece that
    // is nothing but such blocks they are requested anyway: something must arrive to check.)
    std::vector<std::pair<std::uint64_t, std::uint64_t>> zero_ranges;
    // Pieces started and not yet checked, at most (0: no limit): each holds a piece-sized
    // buffer until its check, so this bounds the download's memory whatever the torrent's
    // size. At the limit only pieces already started are asked for.
    std::uint32_t max_partial = 0;
  };
  static constexpr unsigned kEndgameCopies = 2;

  explicit PiecePicker(const Config& c);

  // What we hold already (resume data, a recheck). Pieces held are never picked.
  void set_have(std::uint32_t piece);
  bool have(std::uint32_t piece) const { return have_[piece]; }
  std::uint32_t have_count() const { return have_count_; }
  bool complete() const { return remaining_ == 0; }  // every wanted piece held
  // Pieces not wanted at all (BEP 47 pad files, files not selected): never picked.
  void set_unwanted(std::uint32_t piece);

  // Availability, from bitfields, have all and HAVE messages; a peer that leaves takes its
  // pieces with it.
  void add_peer(PeerKey p, std::span<const std::uint8_t> bitfield);  // empty span: has none
  void add_seed(PeerKey p);                                            // have all
  void peer_has(PeerKey p, std::uint32_t piece);
  void remove_peer(PeerKey p);  // also drops its outstanding requests
  bool peer_has_piece(PeerKey p, std::uint32_t piece) const;
  std::uint32_t availability(std::uint32_t piece) const { return avail_[piece]; }

  // Up to `want` blocks to request from peer p now (fewer if it has nothing more we need).
  // `allowed` (BEP 6 allowed fast, while p chokes us): only these pieces; empty: any.
  std::vector<BlockRef> pick(PeerKey p, std::size_t want, std::span<const std::uint32_t> allowed = {});
  bool endgame() const { return endgame_; }

  // A block arrived from p. Returns the other peers that were also asked for it (endgame):
  // the session cancels those requests. False in *accepted when the block was not wanted (never
  // asked for, or already received).
  std::vector<PeerKey> received(PeerKey p, const BlockRef& b, bool* accepted);
  // p will not send it (choked, rejected, timed out): it can be asked of someone else.
  void dropped(PeerKey p, const BlockRef& b);
  // Block i of piece is in (from a peer, from disk, or zeros).
  bool block_received(std::uint32_t piece, std::uint32_t i) const;
  // Block i of a piece neither held nor unwanted is on disk from an earlier run (resume
  // data): received now, never asked for. False when it was not missing.
  bool restore_block(std::uint32_t piece, std::uint32_t i);
  // Every block of `piece` is in: verify it. Then verified() or failed().
  bool all_blocks_in(std::uint32_t piece) const;
  void verified(std::uint32_t piece);
  // Hash mismatch: every block is asked for again, all of them from one peer (the first to
  // take one), so that a second failure names the peer that sent it.
  void failed(std::uint32_t piece);

  std::size_t outstanding(PeerKey p) const;
  std::size_t partial_pieces() const { return partial_.size(); }
  std::uint32_t blocks_in(std::uint32_t piece) const;
  std::uint32_t piece_size(std::uint32_t piece) const;
  // Block i of piece is zeros we never ask for (see Config::zero_ranges).
  bool local_block(std::uint32_t piece, std::uint32_t i) const;
  std::uint32_t blocks_to_fetch(std::uint32_t piece) const {
    return blocks_in(piece) - (local_.empty() ? 0 : local_[piece]);
  }

 private:
  enum class BlockState : std::uint8_t { missing, requested, received };
  struct Partial {
    std::vector<BlockState> blocks;
    std::vector<std::vector<PeerKey>> askers;  // who has each requested block outstanding
    std::uint32_t received = 0;
    std::uint32_t unrequested = 0;
    bool solo = false;   // failed once: the next try comes from one peer (owner) alone
    PeerKey owner = 0;
  };
  using Key = std::tuple<std::uint32_t, std::uint32_t, std::uint32_t>;  // availability, random rank, piece

  bool wanted_fresh(std::uint32_t piece) const;  // not held, wanted, not started
  void reindex(std::uint32_t piece, std::uint32_t old_avail);
  Partial& start(std::uint32_t piece);
  bool zero_block(std::uint32_t piece, std::uint32_t i) const;  // wholly inside a zero range
  void mark_local(std::uint32_t piece, Partial& part);           // its zero blocks: received
  void take_from_partial(PeerKey p, std::uint32_t piece, Partial& part, std::size_t want, bool copies,
                         std::vector<BlockRef>* out);
  void update_endgame();
  void retire(std::uint32_t piece);

  Config cfg_;
  std::vector<bool> have_, unwanted_;
  std::vector<std::uint32_t> avail_, rank_;
  std::vector<std::uint32_t> local_;  // per piece, blocks that are zeros (empty: none anywhere)
  std::uint32_t have_count_ = 0;
  std::uint32_t remaining_ = 0;  // wanted and not held
  std::set<Key> fresh_;  // pieces wanted and not started, rarest first
  std::map<std::uint32_t, Partial> partial_;
  std::unordered_map<PeerKey, std::vector<bool>> peers_;  // empty vector: a seed
  std::unordered_map<PeerKey, std::size_t> outstanding_;
  std::uint64_t unrequested_total_ = 0;  // missing blocks nobody is asked for, fresh pieces included
  bool endgame_ = false;
  std::mt19937_64 rng_;
};

}  // namespace hf::torrent
