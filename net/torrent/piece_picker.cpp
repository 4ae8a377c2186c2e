#include "net/torrent/piece_picker.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace hf::torrent {

std::uint32_t request_queue_depth(double bytes_per_second, double seconds) {
  const double blocks = std::ceil(std::max(0.0, bytes_per_second) * seconds / (16 * 1024));
  return static_cast<std::uint32_t>(std::clamp(blocks, 2.0, 250.0));
}

PiecePicker::PiecePicker(const Config& c)
    : cfg_(c), have_(c.pieces), unwanted_(c.pieces), avail_(c.pieces), rank_(c.pieces), remaining_(c.pieces),
      rng_(c.seed) {
  std::iota(rank_.begin(), rank_.end(), 0u);
  if (!cfg_.sequential) std::shuffle(rank_.begin(), rank_.end(), rng_);
  if (!cfg_.zero_ranges.empty()) {
    local_.assign(cfg_.pieces, 0);
    for (std::uint32_t i = 0; i < cfg_.pieces; ++i) {
      const std::uint32_t n = blocks_in(i);
      std::uint32_t zeros = 0;
      for (std::uint32_t b = 0; b < n; ++b) zeros += zero_block(i, b);
      local_[i] = zeros == n ? 0 : zeros;
    }
  }
  for (std::uint32_t i = 0; i < cfg_.pieces; ++i) {
    fresh_.emplace(0, rank_[i], i);
    unrequested_total_ += blocks_to_fetch(i);
  }
}

bool PiecePicker::zero_block(std::uint32_t piece, std::uint32_t i) const {
  const std::uint64_t begin = piece * cfg_.piece_length + std::uint64_t{i} * cfg_.block_size;
  const std::uint64_t end = std::min<std::uint64_t>(begin + cfg_.block_size, piece * cfg_.piece_length + piece_size(piece));
  // The last range starting at or before the block's start.
  auto it = std::upper_bound(cfg_.zero_ranges.begin(), cfg_.zero_ranges.end(), std::make_pair(begin, ~std::uint64_t{0}));
  if (it == cfg_.zero_ranges.begin()) return false;
  --it;
  return it->first <= begin && end <= it->second;
}

bool PiecePicker::local_block(std::uint32_t piece, std::uint32_t i) const {
  return !local_.empty() && piece < cfg_.pieces && local_[piece] != 0 && zero_block(piece, i);
}

std::uint32_t PiecePicker::piece_size(std::uint32_t piece) const {
  if (piece + 1 < cfg_.pieces) return static_cast<std::uint32_t>(cfg_.piece_length);
  return static_cast<std::uint32_t>(cfg_.total_length - cfg_.piece_length * (cfg_.pieces - 1));
}

std::uint32_t PiecePicker::blocks_in(std::uint32_t piece) const {
  return (piece_size(piece) + cfg_.block_size - 1) / cfg_.block_size;
}

bool PiecePicker::wanted_fresh(std::uint32_t piece) const {
  return !have_[piece] && !unwanted_[piece] && !partial_.count(piece);
}

void PiecePicker::reindex(std::uint32_t piece, std::uint32_t old_avail) {
  if (cfg_.sequential || !wanted_fresh(piece)) return;
  fresh_.erase(Key{old_avail, rank_[piece], piece});
  fresh_.emplace(avail_[piece], rank_[piece], piece);
}

void PiecePicker::update_endgame() { endgame_ = unrequested_total_ == 0 && !complete(); }

// Forgets a piece's partial state (it is held now, or no longer wanted).
void PiecePicker::retire(std::uint32_t piece) {
  if (wanted_fresh(piece)) {
    fresh_.erase(Key{cfg_.sequential ? 0 : avail_[piece], rank_[piece], piece});
    unrequested_total_ -= blocks_to_fetch(piece);
    return;
  }
  auto it = partial_.find(piece);
  if (it == partial_.end()) return;
  unrequested_total_ -= it->second.unrequested;
  for (const auto& askers : it->second.askers)
    for (PeerKey a : askers) --outstanding_[a];
  partial_.erase(it);
}

void PiecePicker::set_have(std::uint32_t piece) {
  if (piece >= cfg_.pieces || have_[piece]) return;
  if (!unwanted_[piece]) {
    retire(piece);
    --remaining_;
  }
  have_[piece] = true;
  ++have_count_;
  update_endgame();
}

void PiecePicker::set_unwanted(std::uint32_t piece) {
  if (piece >= cfg_.pieces || unwanted_[piece] || have_[piece]) return;
  retire(piece);
  --remaining_;
  unwanted_[piece] = true;
  update_endgame();
}

void PiecePicker::add_peer(PeerKey p, std::span<const std::uint8_t> bitfield) {
  remove_peer(p);
  auto& bits = peers_[p];
  bits.assign(cfg_.pieces, false);
  for (std::uint32_t i = 0; i < cfg_.pieces; ++i) {
    const std::size_t byte = i / 8;
    if (byte < bitfield.size() && (bitfield[byte] & (0x80 >> (i % 8)))) {
      bits[i] = true;
      reindex(i, avail_[i]++);
    }
  }
}

void PiecePicker::add_seed(PeerKey p) {
  remove_peer(p);
  peers_[p].assign(cfg_.pieces, true);
  for (std::uint32_t i = 0; i < cfg_.pieces; ++i) reindex(i, avail_[i]++);
}

void PiecePicker::peer_has(PeerKey p, std::uint32_t piece) {
  auto it = peers_.find(p);
  if (it == peers_.end() || piece >= cfg_.pieces || it->second[piece]) return;
  it->second[piece] = true;
  reindex(piece, avail_[piece]++);
}

bool PiecePicker::peer_has_piece(PeerKey p, std::uint32_t piece) const {
  auto it = peers_.find(p);
  return it != peers_.end() && piece < cfg_.pieces && it->second[piece];
}

void PiecePicker::remove_peer(PeerKey p) {
  auto it = peers_.find(p);
  if (it == peers_.end()) return;
  for (auto& [piece, part] : partial_) {
    for (std::uint32_t i = 0; i < part.blocks.size(); ++i) {
      auto& askers = part.askers[i];
      if (std::find(askers.begin(), askers.end(), p) != askers.end())
        dropped(p, {piece, i * cfg_.block_size, 0});
    }
    if (part.owner == p) part.owner = 0;
  }
  for (std::uint32_t i = 0; i < cfg_.pieces; ++i)
    if (it->second[i]) reindex(i, avail_[i]--);
  peers_.erase(it);
  outstanding_.erase(p);
}

PiecePicker::Partial& PiecePicker::start(std::uint32_t piece) {
  fresh_.erase(Key{cfg_.sequential ? 0 : avail_[piece], rank_[piece], piece});
  Partial& part = partial_[piece];
  const std::uint32_t n = blocks_in(piece);
  part.blocks.assign(n, BlockState::missing);
  part.askers.assign(n, {});
  part.unrequested = n;
  mark_local(piece, part);
  return part;
}

void PiecePicker::mark_local(std::uint32_t piece, Partial& part) {
  if (local_.empty() || local_[piece] == 0) return;
  for (std::uint32_t i = 0; i < part.blocks.size(); ++i)
    if (zero_block(piece, i)) {
      part.blocks[i] = BlockState::received;
      ++part.received;
      --part.unrequested;
    }
}

void PiecePicker::take_from_partial(PeerKey p, std::uint32_t piece, Partial& part, std::size_t want, bool copies,
                                    std::vector<BlockRef>* out) {
  // A piece that failed its check comes again from one peer alone, so a second failure
  // names its sender.
  if (part.solo && part.owner != 0 && part.owner != p) return;
  const std::size_t before = out->size();
  const std::uint32_t size = piece_size(piece);
  for (std::uint32_t i = 0; i < part.blocks.size() && want > 0; ++i) {
    auto& askers = part.askers[i];
    if (copies) {
      if (part.blocks[i] != BlockState::requested || askers.size() >= kEndgameCopies ||
          std::find(askers.begin(), askers.end(), p) != askers.end())
        continue;
    } else {
      if (part.blocks[i] != BlockState::missing) continue;
      part.blocks[i] = BlockState::requested;
      --part.unrequested;
      --unrequested_total_;
    }
    askers.push_back(p);
    ++outstanding_[p];
    const std::uint32_t begin = i * cfg_.block_size;
    out->push_back({piece, begin, std::min(cfg_.block_size, size - begin)});
    --want;
  }
  if (part.solo && out->size() > before) part.owner = p;
}

std::vector<BlockRef> PiecePicker::pick(PeerKey p, std::size_t want, std::span<const std::uint32_t> allowed) {
  std::vector<BlockRef> out;
  auto peer = peers_.find(p);
  if (peer == peers_.end() || want == 0) return out;
  const std::vector<bool>& bits = peer->second;
  auto usable = [&](std::uint32_t piece) {
    return bits[piece] && (allowed.empty() || std::find(allowed.begin(), allowed.end(), piece) != allowed.end());
  };
  // 1. Pieces already started.
  for (auto& [piece, part] : partial_) {
    if (out.size() >= want) break;
    if (part.unrequested && usable(piece)) take_from_partial(p, piece, part, want - out.size(), false, &out);
  }
  // 2. New pieces: random ones first, then rarest (or lowest index) first. At the cap on
  // started pieces, when some of them wait for blocks this peer cannot give (those who could
  // have left, or choke us), it may still start others, up to twice the cap: memory stays
  // bounded and the download does not stall.
  bool waiting = false, helps = false;
  for (auto& [piece, part] : partial_) {
    if (!part.unrequested) continue;
    waiting = true;
    helps |= usable(piece);
  }
  const bool stuck = out.empty() && waiting && !helps;
  const std::size_t cap = cfg_.max_partial == 0 ? SIZE_MAX : stuck ? 2 * std::size_t{cfg_.max_partial} : cfg_.max_partial;
  while (out.size() < want && partial_.size() < cap) {
    std::optional<std::uint32_t> next;
    if (!cfg_.sequential && have_count_ < cfg_.random_first && cfg_.pieces) {
      std::uniform_int_distribution<std::uint32_t> any(0, cfg_.pieces - 1);
      for (int tries = 0; tries < 32 && !next; ++tries) {
        const std::uint32_t i = any(rng_);
        if (wanted_fresh(i) && usable(i)) next = i;
      }
    }
    for (auto it = fresh_.begin(); !next && it != fresh_.end(); ++it)
      if (usable(std::get<2>(*it))) next = std::get<2>(*it);
    if (!next) break;
    take_from_partial(p, *next, start(*next), want - out.size(), false, &out);
  }
  // 3. Endgame: blocks others are already asked for.
  update_endgame();
  if (endgame_)
    for (auto& [piece, part] : partial_) {
      if (out.size() >= want) break;
      if (usable(piece)) take_from_partial(p, piece, part, want - out.size(), true, &out);
    }
  return out;
}

std::vector<PeerKey> PiecePicker::received(PeerKey p, const BlockRef& b, bool* accepted) {
  std::vector<PeerKey> others;
  *accepted = false;
  auto it = partial_.find(b.piece);
  if (it == partial_.end() || b.begin % cfg_.block_size) return others;
  Partial& part = it->second;
  const std::uint32_t i = b.begin / cfg_.block_size;
  if (i >= part.blocks.size() || b.length != std::min(cfg_.block_size, piece_size(b.piece) - b.begin) ||
      part.blocks[i] == BlockState::received)
    return others;
  // A late block (its request dropped) is still good data: taken.
  if (part.blocks[i] == BlockState::missing) {
    --part.unrequested;
    --unrequested_total_;
  }
  for (PeerKey a : part.askers[i]) {
    --outstanding_[a];
    if (a != p) others.push_back(a);
  }
  part.askers[i].clear();
  part.blocks[i] = BlockState::received;
  ++part.received;
  *accepted = true;
  update_endgame();
  return others;
}

void PiecePicker::dropped(PeerKey p, const BlockRef& b) {
  auto it = partial_.find(b.piece);
  if (it == partial_.end() || b.begin % cfg_.block_size) return;
  Partial& part = it->second;
  const std::uint32_t i = b.begin / cfg_.block_size;
  if (i >= part.blocks.size() || part.blocks[i] != BlockState::requested) return;
  auto& askers = part.askers[i];
  auto a = std::find(askers.begin(), askers.end(), p);
  if (a == askers.end()) return;
  askers.erase(a);
  --outstanding_[p];
  if (part.owner == p) part.owner = 0;  // it will not send this one: someone else may take the piece
  if (askers.empty()) {
    part.blocks[i] = BlockState::missing;
    ++part.unrequested;
    ++unrequested_total_;
  }
  update_endgame();
}

bool PiecePicker::block_received(std::uint32_t piece, std::uint32_t i) const {
  auto it = partial_.find(piece);
  return it != partial_.end() && i < it->second.blocks.size() && it->second.blocks[i] == BlockState::received;
}

bool PiecePicker::restore_block(std::uint32_t piece, std::uint32_t i) {
  if (piece >= cfg_.pieces || have_[piece] || unwanted_[piece] || i >= blocks_in(piece)) return false;
  auto it = partial_.find(piece);
  Partial& part = it != partial_.end() ? it->second : start(piece);
  if (part.blocks[i] != BlockState::missing) return false;
  part.blocks[i] = BlockState::received;
  ++part.received;
  --part.unrequested;
  --unrequested_total_;
  update_endgame();
  return true;
}

bool PiecePicker::all_blocks_in(std::uint32_t piece) const {
  auto it = partial_.find(piece);
  return it != partial_.end() && it->second.received == it->second.blocks.size();
}

void PiecePicker::verified(std::uint32_t piece) { set_have(piece); }

void PiecePicker::failed(std::uint32_t piece) {
  auto it = partial_.find(piece);
  if (it == partial_.end()) return;
  Partial& part = it->second;
  // Everything that came from peers is asked for again; the zeros stay as they are.
  for (std::uint32_t i = 0; i < part.blocks.size(); ++i) {
    for (PeerKey a : part.askers[i]) --outstanding_[a];
    part.askers[i].clear();
    if (part.blocks[i] != BlockState::missing && !local_block(piece, i)) {
      part.blocks[i] = BlockState::missing;
      ++part.unrequested;
      ++unrequested_total_;
    }
  }
  part.received = blocks_in(piece) - blocks_to_fetch(piece);
  part.solo = true;
  part.owner = 0;
  update_endgame();
}

std::size_t PiecePicker::outstanding(PeerKey p) const {
  auto it = outstanding_.find(p);
  return it == outstanding_.end() ? 0 : it->second;
}

}  // namespace hf::torrent
