// Whom to upload to (BEP 3's tit-for-tat) and how fast (token buckets). Pure code with the
// clock passed in: the session calls rechoke() every 10 seconds with each peer's rates.
//
// Downloading, the regular slots go to the interested peers that send us the most (those
// that have sent nothing for a minute, snubbed, get none); seeding, to the peers we upload
// to fastest, so the swarm gets the most from our upload. One more slot is optimistic: an
// interested, choked peer drawn at random every third rechoke, peers connected in the last
// minute three times as likely, so newcomers get a first piece to trade.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <random>
#include <vector>

#include "net/torrent/piece_picker.hpp"  // PeerKey

namespace hf::torrent {

struct ChokePeer {
  PeerKey key = 0;
  bool interested = false;      // in us
  double download_rate = 0;     // bytes/s it sends us
  double upload_rate = 0;       // bytes/s we send it
  double last_block_at = -1e9;  // when it last sent us a block we asked for (seconds)
  double connected_at = 0;
};

class Choker {
 public:
  struct Config {
    unsigned slots = 4;             // regular unchokes
    unsigned optimistic_every = 3;  // rechokes between optimistic draws (3 x 10 s)
    double snub_seconds = 60;
    double newcomer_seconds = 60;
    std::uint64_t seed = 1;
  };
  explicit Choker(const Config& c) : cfg_(c), rng_(c.seed) {}

  // The peers to have unchoked from now on (every other peer choked).
  std::vector<PeerKey> rechoke(const std::vector<ChokePeer>& peers, bool seeding, double now);
  std::optional<PeerKey> optimistic() const { return optimistic_; }

 private:
  Config cfg_;
  std::mt19937_64 rng_;
  std::optional<PeerKey> optimistic_;
  unsigned rounds_ = 0;
};

// A token bucket: `rate` bytes a second, at most `burst` saved up; rate 0 is unlimited.
class TokenBucket {
 public:
  TokenBucket(double rate = 0, double burst = 0) { set_rate(rate, burst); }
  void set_rate(double rate, double burst = 0);
  bool unlimited() const { return rate_ <= 0; }
  // The most the bucket holds (whole bytes).
  std::uint64_t burst() const { return static_cast<std::uint64_t>(burst_); }
  // Takes up to `want` bytes at time `now`: what may go now (0 if the bucket is empty).
  std::uint64_t take(std::uint64_t want, double now);
  // Whole bytes there now (the largest value when unlimited).
  std::uint64_t available(double now);
  // When `want` bytes will be there (now if they are; a want over the burst waits for a
  // full bucket).
  double ready_at(std::uint64_t want, double now);
  // Takes `n` bytes whatever is there, into debt if need be: for bytes that were waited for
  // and are gone already (several waiters woken by one refill each pay, and the next wait
  // longer), so the rate holds however many wait at once.
  void charge(std::uint64_t n, double now);

 private:
  void refill(double now);
  double rate_ = 0, burst_ = 0, tokens_ = 0, at_ = -1;
};

// Bytes that may go now under several limits at once (a torrent's and the global one).
std::uint64_t take_all(std::initializer_list<TokenBucket*> buckets, std::uint64_t want, double now);

}  // namespace hf::torrent
