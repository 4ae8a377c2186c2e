// A v2 torrent's piece layers fetched from peers (BEP 52 hash requests), for a magnet link:
// the info dictionary names each file's merkle root but not the hashes of its pieces, which
// a .torrent carries beside it ("piece layers") and a magnet link does not. Each file longer
// than a piece has its layer asked for in spans of at most 512 hashes, with the uncle hashes
// that prove a span against the file's root; a span that does not prove names its sender.
// Pure code.
#pragma once
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "net/torrent/metainfo.hpp"
#include "net/torrent/peer_wire.hpp"
#include "net/torrent/piece_picker.hpp"

namespace hf::torrent {

class LayerFetch {
 public:
  // The files of `m` (a v2 torrent without its piece layers) that need one.
  explicit LayerFetch(const Metainfo& m, double timeout = 20);

  bool done() const;
  void add_peer(PeerKey k) { peers_.insert(k); }
  void remove_peer(PeerKey k);

  struct Request {
    PeerKey peer = 0;
    wire::HashSpan span;
  };
  std::vector<Request> take_requests(double now);
  // A hashes message from k. Empty when taken or ignored (a span not asked of k); else why
  // k lied (hashes that do not prove against the root).
  std::string on_hashes(PeerKey k, const wire::HashSpan& s, std::string_view hashes);
  void on_reject(PeerKey k, const wire::HashSpan& s);
  void tick(double now);

  // Each file's piece layer by its root, 32 bytes a piece, once done().
  std::map<Sha256, std::string> layers() const;
  std::uint32_t spans() const;
  std::uint32_t spans_got() const;

 private:
  struct File {
    Sha256 root{};
    std::uint64_t pieces = 0;
    std::uint32_t height = 0;  // layers from the piece layer up to the root
    std::uint32_t span = 0;    // hashes a request asks for
    std::string layer;         // 32 bytes a piece
    std::vector<bool> got;     // per span
  };
  struct Asked {
    PeerKey peer = 0;
    double at = 0;
  };
  using Key = std::pair<std::size_t, std::uint32_t>;  // file, span
  wire::HashSpan span_of(const Key& key) const;

  std::uint32_t base_ = 0;  // the piece layer's number (leaves are 0)
  Sha256 pad_{};            // the root of an all-zero piece
  double timeout_;
  std::vector<File> files_;
  std::set<PeerKey> peers_;
  std::map<Key, Asked> asked_;
  std::map<Key, std::set<PeerKey>> refused_;  // who said no (or nothing) to each span
};

}  // namespace hf::torrent
