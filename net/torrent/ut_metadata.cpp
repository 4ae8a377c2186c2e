#include "net/torrent/ut_metadata.hpp"

#include <algorithm>
#include <cstring>

#include "hashforge/engine.hpp"
#include "net/torrent/bencode.hpp"
#include "net/torrent/merkle.hpp"

namespace hf::torrent {

namespace wire {

namespace {

std::string header(MetadataType t, std::uint32_t piece, std::optional<std::uint64_t> total) {
  std::vector<BValue::Entry> d;
  d.emplace_back("msg_type", BValue::integer(static_cast<int>(t)));
  d.emplace_back("piece", BValue::integer(piece));
  if (total) d.emplace_back("total_size", BValue::integer(static_cast<std::int64_t>(*total)));
  return bencode(BValue::dict(std::move(d)));
}

}  // namespace

std::string encode_metadata_request(std::uint32_t piece) { return header(MetadataType::request, piece, std::nullopt); }
std::string encode_metadata_reject(std::uint32_t piece) { return header(MetadataType::reject, piece, std::nullopt); }
std::string encode_metadata_data(std::uint32_t piece, std::uint64_t total_size, std::string_view bytes) {
  std::string out = header(MetadataType::data, piece, total_size);
  out.append(bytes);
  return out;
}

std::optional<MetadataMsg> parse_metadata_msg(std::string_view payload, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<MetadataMsg> {
    *why = "ut_metadata: " + std::move(w);
    return std::nullopt;
  };
  DecodeResult r = bdecode_prefix(payload, {.max_depth = 4, .max_bytes = 4096, .max_items = 64});
  if (!r.value) return fail(r.error);
  if (!r.value->is_dict()) return fail("not a dictionary");
  const BValue& d = *r.value;
  const BValue* type = d.find("msg_type");
  const BValue* piece = d.find("piece");
  if (!type || !type->is_int()) return fail("no msg_type");
  if (!piece || !piece->is_int()) return fail("no piece");
  if (type->as_int() < 0 || type->as_int() > 2) return fail("unknown msg_type " + std::to_string(type->as_int()));
  const std::int64_t most = static_cast<std::int64_t>(kMaxMetadataSize / kMetadataPiece);
  if (piece->as_int() < 0 || piece->as_int() >= most) return fail("piece " + std::to_string(piece->as_int()) + " out of range");
  MetadataMsg m;
  m.type = static_cast<MetadataType>(type->as_int());
  m.piece = static_cast<std::uint32_t>(piece->as_int());
  if (m.type == MetadataType::data) {
    const BValue* total = d.find("total_size");
    if (!total || !total->is_int() || total->as_int() <= 0 ||
        static_cast<std::uint64_t>(total->as_int()) > kMaxMetadataSize)
      return fail("data without a usable total_size");
    m.total_size = static_cast<std::uint64_t>(total->as_int());
    m.data = payload.substr(d.end());
    if (m.data.size() > kMetadataPiece) return fail("a piece longer than 16 KiB");
  }
  return m;
}

std::string_view metadata_piece(std::string_view metadata, std::uint32_t piece) {
  const std::uint64_t at = std::uint64_t{piece} * kMetadataPiece;
  if (at >= metadata.size()) return {};
  return metadata.substr(at, kMetadataPiece);
}

}  // namespace wire

MetadataFetch::MetadataFetch(Want want, std::uint64_t max_size, double timeout)
    : want_(want), max_size_(max_size), timeout_(timeout) {}

std::string MetadataFetch::add_peer(PeerKey k, std::uint64_t size) {
  if (size == 0) return "it offers metadata of 0 bytes";
  if (size > max_size_) return "it offers metadata of " + std::to_string(size) + " bytes, over the limit";
  peers_[k].size = size;
  if (size_ == 0 && !done_) begin(size);
  return {};
}

void MetadataFetch::remove_peer(PeerKey k) {
  for (auto it = asked_.begin(); it != asked_.end();)
    it = it->second.peer == k ? asked_.erase(it) : std::next(it);
  peers_.erase(k);
  if (only_ == k) only_.reset();
}

void MetadataFetch::begin(std::uint64_t size) {
  size_ = size;
  buf_.assign(size, '\0');
  const std::size_t n = static_cast<std::size_t>((size + wire::kMetadataPiece - 1) / wire::kMetadataPiece);
  got_.assign(n, false);
  from_.assign(n, 0);
  asked_.clear();
  for (auto& [k, s] : peers_) s.out = 0;
}

bool MetadataFetch::usable(PeerKey k, const Source& s, std::uint32_t piece) const {
  constexpr std::size_t kMaxOut = 16;
  return s.size == size_ && !s.rejected.count(piece) && (!only_ || *only_ == k) && s.out < kMaxOut;
}

std::vector<MetadataFetch::Request> MetadataFetch::take_requests(double now) {
  std::vector<Request> out;
  if (done_ || peers_.empty()) return out;
  // Nobody left offers this try's size (its sources left or lied): start over at a size a
  // peer still offers.
  if (asked_.empty() &&
      std::none_of(peers_.begin(), peers_.end(), [&](const auto& e) { return e.second.size == size_; }))
    begin(peers_.begin()->second.size);
  if (only_ && !peers_.count(*only_)) only_.reset();
  for (std::uint32_t i = 0; i < got_.size(); ++i) {
    if (got_[i] || asked_.count(i)) continue;
    PeerKey best = 0;
    const Source* bs = nullptr;
    for (const auto& [k, s] : peers_)
      if (usable(k, s, i) && (!bs || s.out < bs->out)) best = k, bs = &s;
    if (!bs) continue;
    ++peers_[best].out;
    asked_[i] = {best, now};
    out.push_back({best, i});
  }
  return out;
}

std::string MetadataFetch::on_data(PeerKey k, const wire::MetadataMsg& m, double now) {
  if (done_) return {};
  auto src = peers_.find(k);
  if (src == peers_.end() || src->second.size != size_ || m.piece >= got_.size() || got_[m.piece]) return {};
  if (only_ && *only_ != k) return {};  // this try takes every piece from one peer
  // Also a piece whose request timed out or went to another peer: the whole is checked.
  if (m.total_size != size_)
    return "metadata of " + std::to_string(m.total_size) + " bytes after offering " + std::to_string(size_);
  const std::uint64_t at = std::uint64_t{m.piece} * wire::kMetadataPiece;
  const std::uint64_t want = std::min<std::uint64_t>(wire::kMetadataPiece, size_ - at);
  if (m.data.size() != want)
    return "metadata piece " + std::to_string(m.piece) + " of " + std::to_string(m.data.size()) + " bytes, not " +
           std::to_string(want);
  std::memcpy(buf_.data() + at, m.data.data(), m.data.size());
  got_[m.piece] = true;
  from_[m.piece] = k;
  if (auto it = asked_.find(m.piece); it != asked_.end()) {
    if (auto asked = peers_.find(it->second.peer); asked != peers_.end() && asked->second.out) --asked->second.out;
    asked_.erase(it);
  }
  if (std::all_of(got_.begin(), got_.end(), [](bool b) { return b; })) check(now);
  return {};
}

void MetadataFetch::check(double /*now*/) {
  bool ok = true;
  if (want_.v1) {
    Digest d = Engine::instance().digest(
        Algo::sha1, ByteView(reinterpret_cast<const std::uint8_t*>(buf_.data()), buf_.size()));
    ok = std::equal(want_.v1->begin(), want_.v1->end(), d.bytes.begin());
  }
  if (ok && want_.v2) ok = sha256_of(buf_) == *want_.v2;
  if (ok) {
    done_ = true;
    asked_.clear();
    return;
  }
  ++failures_;
  std::set<PeerKey> senders(from_.begin(), from_.end());
  if (senders.size() == 1) {
    const PeerKey liar = *senders.begin();
    bad_.push_back(liar);
    peers_.erase(liar);
    only_.reset();
  } else {
    // Several sent pieces: one of them lied. Next, one peer sends all of it; a failure then
    // names that peer, a success ends it.
    only_.reset();
    for (PeerKey s : senders)
      if (peers_.count(s) && !tried_alone_.count(s)) {
        only_ = s;
        tried_alone_.insert(s);
        break;
      }
  }
  begin(only_ ? peers_[*only_].size : (peers_.empty() ? 0 : peers_.begin()->second.size));
}

void MetadataFetch::on_reject(PeerKey k, std::uint32_t piece, double now) {
  auto src = peers_.find(k);
  if (src == peers_.end()) return;
  src->second.rejected.insert(piece);
  src->second.rejected_at = now;
  auto it = asked_.find(piece);
  if (it != asked_.end() && it->second.peer == k) {
    asked_.erase(it);
    if (src->second.out) --src->second.out;
  }
  if (only_ == k) only_.reset();  // it will not send it all: back to any peer
}

void MetadataFetch::tick(double now) {
  for (auto it = asked_.begin(); it != asked_.end();) {
    if (now - it->second.at < timeout_) {
      ++it;
      continue;
    }
    auto src = peers_.find(it->second.peer);
    if (src != peers_.end()) {
      src->second.rejected.insert(it->first);  // silence counts as no, for a while
      src->second.rejected_at = now;
      if (src->second.out) --src->second.out;
    }
    it = asked_.erase(it);
  }
  // A peer that had no metadata a while ago may have it now (it was fetching it too).
  for (auto& [k, s] : peers_)
    if (!s.rejected.empty() && now - s.rejected_at > 30) s.rejected.clear();
}

std::uint32_t MetadataFetch::pieces_got() const {
  return static_cast<std::uint32_t>(std::count(got_.begin(), got_.end(), true));
}

}  // namespace hf::torrent
