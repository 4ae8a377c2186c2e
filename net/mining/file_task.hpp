// The file task as a distributed job (pure code, no sockets).
//
// A text file gets one more line, "<nonce as 8 lowercase hex> <identifier>" with no newline,
// and the line whose SHA-256 over the whole file is lowest wins. The coordinator splits the
// 2^32 nonces into disjoint ranges for its workers (RangeBook), keeps the best candidate and
// who found it, and runs one or more rounds: round r mines the file as it stands after
// round r-1's best line and a newline were appended, so the result holds one line per round
// and its SHA-256 is the last round's best hash. FileTask is that state; it round-trips
// through JSON so a restarted coordinator resumes where it stopped.
#pragma once
#include <boost/json.hpp>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hashforge/engine.hpp"

namespace hf::mining {

inline constexpr std::uint64_t kFileNonceSpace = 1ull << 32;  // 8 hex digits
// Ranges of the file task start and end on multiples of this, and a partial claim counts
// only whole grains, so claims can never cut the free nonces into slivers.
inline constexpr std::uint64_t kFileRangeGrain = 65536;
// A claim of n nonces whose best hash, read as a fraction x of the hash space, has n * x
// above this is refused: an honest search of n nonces gives that with probability e^-24.
inline constexpr double kClaimEvidence = 24;

// The nonce as the line carries it: 8 lowercase hex digits.
std::string nonce_hex8(std::uint32_t nonce);
// Exactly 8 lowercase hex digits (uppercase is refused: the line would differ), or nullopt.
std::optional<std::uint32_t> parse_nonce_hex8(std::string_view s);
// "<8 lowercase hex> <id>".
std::string file_line(std::uint32_t nonce, const std::string& id);
// SHA-256 of input + file_line(nonce, id).
Digest file_hash(ByteView input, std::uint32_t nonce, const std::string& id);
// The engine job that searches `r` for the lowest such hash (digest byte order).
SearchJob file_search_job(ByteView input, const std::string& id, NonceRange r);
// An identifier the line format can carry: 1..64 printable ASCII characters.
bool valid_identifier(const std::string& id, std::string* why);
// "0000..." hex digits of a digest read as a big-endian number.
int leading_zero_hex(const Digest& d);
// Whether a search of `count` nonces could believably have `best` as its lowest hash: the
// lowest of n uniform hashes is about 1/n of the hash space, so a claim whose best hash is
// far above that was not searched (see kClaimEvidence). Cannot prove a claim, only refute it.
bool claim_fits_best(std::uint64_t count, const Digest& best);

// Disjoint ranges over [0, space): each nonce is free, out (assigned to a worker) or done.
// take() hands out the lowest free nonces, so ranges are sequential and never overlap; a
// range given back (its worker left) or only partly done returns to free. With a grain g,
// ranges are whole multiples of g (except at the end of the space) and a partial claim
// counts only whole grains from the range's start, so every free gap is at least g wide.
class RangeBook {
 public:
  explicit RangeBook(std::uint64_t space = kFileNonceSpace, std::uint64_t grain = 1)
      : space_(space), grain_(grain ? grain : 1) {}
  std::uint64_t space() const { return space_; }
  std::uint64_t grain() const { return grain_; }
  // About `count` free nonces (rounded up to the grain) as one range, the lowest first;
  // nullopt if none free.
  std::optional<NonceRange> take(std::uint64_t count);
  // The worker holding `r` (from take) left: its nonces are free again.
  void give_back(NonceRange r);
  // The worker holding `r` searched its first `prefix` nonces: the whole range, or a prefix
  // cut down to whole grains, is done and the rest of r is free again. Returns what counted.
  std::uint64_t finish(NonceRange r, std::uint64_t prefix);
  // What finish(r, prefix) would count.
  std::uint64_t countable(NonceRange r, std::uint64_t prefix) const;
  void mark_done(NonceRange r);  // loading saved state
  std::uint64_t done_count() const;
  std::uint64_t out_count() const;
  bool all_done() const { return done_count() == space_; }
  std::vector<NonceRange> done_ranges() const;  // merged, in order

 private:
  struct Span {
    std::uint64_t end;
    bool done;
  };
  void erase(std::uint64_t first, std::uint64_t end);  // makes [first, end) free
  void insert(std::uint64_t first, std::uint64_t end, bool done);
  std::uint64_t space_, grain_;
  std::map<std::uint64_t, Span> spans_;  // first -> span; disjoint, adjacent done spans merged
};

struct FileBest {
  std::uint32_t nonce = 0;
  Digest hash;
  std::string finder;  // worker name
};

// What one worker did in one round, for the run record. A worker's claim to have searched
// nonces cannot be checked in full (only its best nonce, and a few spot checks, are hashed
// again), so what it claimed and what the coordinator hashed itself are kept apart.
struct FileWorkerRecord {
  std::string name, address, backend;
  std::uint64_t claimed = 0;       // nonces it reported searched, as counted in the book
  std::uint64_t verified = 0;      // nonces whose hashes the coordinator computed and found consistent
  std::vector<NonceRange> ranges;  // counted as searched, in the order reported
};

struct FileRoundState {
  RangeBook book;
  double elapsed = 0;  // seconds mined so far (survives restarts)
  std::optional<FileBest> best;
  std::map<std::string, FileWorkerRecord> workers;  // by name
  std::string line;                                 // the round's winning line, once finished
  std::uint64_t verified() const;                   // summed over workers
};

struct FileTaskSpec {
  Bytes input;  // the file as given
  std::string identifier = "G06";
  unsigned rounds = 1;
  double seconds = 60;                     // per round; 0: until the nonce budget is searched
  std::uint64_t nonces = kFileNonceSpace;  // per round: nonces [0, nonces) are searched
};

class FileTask {
 public:
  explicit FileTask(FileTaskSpec spec);
  const FileTaskSpec& spec() const { return spec_; }
  std::string id() const { return id_; }     // first 16 hex of SHA-256 of the spec
  unsigned round() const { return round_; }  // 1-based; rounds+1 once finished
  bool finished() const { return round_ > spec_.rounds; }
  const Bytes& input() const { return input_; }  // this round's file
  // Hashed once per round (a file may be 64 MiB; callers compare strings).
  const std::string& input_sha256() const { return input_sha256_; }
  FileRoundState& current() { return rounds_.back(); }
  const std::vector<FileRoundState>& rounds() const { return rounds_; }
  // file_hash(input(), nonce, identifier), from the round's saved midstate: no rehash of the file.
  Digest hash_of(std::uint32_t nonce) const;
  // A candidate from `finder`: checked (hash recomputed), kept if better. Returns the hash.
  Digest offer(std::uint32_t nonce, const std::string& finder);
  // Ends the round: appends the best line (the round must have a best) and, unless it was
  // the last round, a newline; the next round begins.
  void end_round();
  Bytes result() const { return input_; }  // once finished: the file with every line
  // Saved state and the record of the run.
  boost::json::object to_json() const;
  // Restores the state saved by to_json for the same spec; nullopt and *why otherwise.
  static std::optional<FileTask> from_json(FileTaskSpec spec, const boost::json::value& v, std::string* why);

 private:
  FileTaskSpec spec_;
  std::string id_;
  unsigned round_ = 1;
  void begin_input();  // hashes this round's input once: its SHA-256 and midstate
  Bytes input_;
  std::string input_sha256_, spec_sha256_;
  std::optional<Hasher> midstate_;  // SHA-256 state after the round's input
  std::vector<FileRoundState> rounds_;
};

}  // namespace hf::mining
