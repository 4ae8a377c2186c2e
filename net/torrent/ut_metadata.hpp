// ut_metadata (BEP 9): how a peer that knows only an info-hash (a magnet link) gets the
// info dictionary from peers, in 16 KiB pieces over the extension protocol, and checks it
// against the hash. Pure code: the messages, and MetadataFetch, which decides which peer to
// ask for which piece and assembles and checks the result.
//
//   request  d8:msg_typei0e5:piecei<n>ee
//   data     d8:msg_typei1e5:piecei<n>e10:total_sizei<size>ee <the piece's bytes>
//   reject   d8:msg_typei2e5:piecei<n>ee
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "net/torrent/metainfo.hpp"
#include "net/torrent/piece_picker.hpp"

namespace hf::torrent {

namespace wire {

inline constexpr std::uint32_t kMetadataPiece = 16 * 1024;
// The most metadata we fetch: an info dictionary naming a million files fits, a peer
// announcing gigabytes cannot make us allocate them.
inline constexpr std::uint64_t kMaxMetadataSize = 32u << 20;
// The id we ask peers to use for ut_metadata messages to us (BEP 10 lets each side choose).
inline constexpr std::uint8_t kUtMetadataId = 2;

enum class MetadataType : std::uint8_t { request = 0, data = 1, reject = 2 };

struct MetadataMsg {
  MetadataType type = MetadataType::request;
  std::uint32_t piece = 0;
  std::uint64_t total_size = 0;  // data only
  std::string_view data;         // data only: a view into the payload given to the parser
};

std::string encode_metadata_request(std::uint32_t piece);
std::string encode_metadata_reject(std::uint32_t piece);
std::string encode_metadata_data(std::uint32_t piece, std::uint64_t total_size, std::string_view bytes);
// An extended message's payload (after the extension id): nullopt with *why when it is not
// one of the three, a piece index is out of range, or a data message's size is impossible.
std::optional<MetadataMsg> parse_metadata_msg(std::string_view payload, std::string* why);

// The piece `piece` of metadata of `total` bytes: empty when it is past the end.
std::string_view metadata_piece(std::string_view metadata, std::uint32_t piece);

}  // namespace wire

// Fetches one info dictionary from whichever peers offer it. Pieces go to the peers with
// the fewest requests out; a piece rejected or unanswered for `timeout` seconds goes to
// another peer. When every piece is in, the whole is checked against the hashes the magnet
// link named (SHA-1 for btih, SHA-256 for btmh, both for a hybrid link); if it fails and one
// peer sent it all, that peer is named bad; if several did, the next try takes every piece
// from one peer, so a liar is pinned by the try after.
class MetadataFetch {
 public:
  struct Want {
    std::optional<Sha1> v1;
    std::optional<Sha256> v2;
  };
  explicit MetadataFetch(Want want, std::uint64_t max_size = wire::kMaxMetadataSize, double timeout = 20);

  // A peer's extension handshake named ut_metadata with this metadata size. Empty when it
  // is taken as a source; else why not (the size is zero or beyond the limit).
  std::string add_peer(PeerKey k, std::uint64_t size);
  void remove_peer(PeerKey k);

  struct Request {
    PeerKey peer = 0;
    std::uint32_t piece = 0;
  };
  std::vector<Request> take_requests(double now);
  // A data message from k. Empty when taken or harmlessly ignored (a piece we hold already);
  // else why k should be dropped (a size that differs from what it offered, a short piece).
  std::string on_data(PeerKey k, const wire::MetadataMsg& m, double now);
  void on_reject(PeerKey k, std::uint32_t piece, double now);
  void tick(double now);

  bool done() const { return done_; }
  const std::string& metadata() const { return buf_; }  // the checked info dictionary once done()
  // Peers that sent all of a metadata that failed its check: the driver drops and bans them.
  std::vector<PeerKey> take_bad() { return std::exchange(bad_, {}); }
  std::uint64_t size() const { return size_; }
  std::uint32_t pieces() const { return static_cast<std::uint32_t>(got_.size()); }
  std::uint32_t pieces_got() const;
  std::uint32_t failures() const { return failures_; }
  std::size_t sources() const { return peers_.size(); }

 private:
  struct Source {
    std::uint64_t size = 0;
    std::set<std::uint32_t> rejected;  // pieces it said no to (it may have none yet)
    std::size_t out = 0;
    double rejected_at = 0;
  };
  struct Asked {
    PeerKey peer = 0;
    double at = 0;
  };
  void begin(std::uint64_t size);  // a fresh try at this size
  bool usable(PeerKey k, const Source& s, std::uint32_t piece) const;
  void check(double now);

  Want want_;
  std::uint64_t max_size_;
  double timeout_;
  std::map<PeerKey, Source> peers_;
  std::uint64_t size_ = 0;        // of this try (0: none yet)
  std::string buf_;
  std::vector<bool> got_;
  std::vector<PeerKey> from_;     // who sent each piece
  std::map<std::uint32_t, Asked> asked_;
  std::optional<PeerKey> only_;   // after a failure with several senders: one peer for all
  std::set<PeerKey> tried_alone_;
  std::vector<PeerKey> bad_;
  std::uint32_t failures_ = 0;
  bool done_ = false;
};

}  // namespace hf::torrent
