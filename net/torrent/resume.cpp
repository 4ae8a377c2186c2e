#include "net/torrent/resume.hpp"

#include <algorithm>
#include <cstring>
#include <set>

#include "net/torrent/bencode.hpp"

namespace hf::torrent {

namespace {

std::string pack(const std::vector<bool>& bits) {
  std::string out((bits.size() + 7) / 8, '\0');
  for (std::size_t i = 0; i < bits.size(); ++i)
    if (bits[i]) out[i / 8] = static_cast<char>(out[i / 8] | (0x80 >> (i % 8)));
  return out;
}

// The bits of a packed bitfield of exactly `n` entries, spare bits zero; nullopt otherwise.
std::optional<std::vector<bool>> unpack(std::string_view s, std::size_t n) {
  if (s.size() != (n + 7) / 8) return std::nullopt;
  if (n % 8 && (static_cast<std::uint8_t>(s.back()) & (0xFF >> (n % 8)))) return std::nullopt;
  std::vector<bool> bits(n);
  for (std::size_t i = 0; i < n; ++i) bits[i] = (static_cast<std::uint8_t>(s[i / 8]) >> (7 - i % 8)) & 1;
  return bits;
}

}  // namespace

std::string encode_resume(const ResumeData& r) {
  std::vector<BValue::Entry> partial;
  for (const auto& [piece, blocks] : r.partial) partial.emplace_back(std::to_string(piece), BValue::string(pack(blocks)));
  std::vector<BValue> files;
  for (const FileStamp& f : r.files)
    files.push_back(BValue::list({BValue::integer(static_cast<std::int64_t>(f.size)), BValue::integer(f.mtime_ns)}));
  return bencode(BValue::dict({
      {"version", BValue::integer(1)},
      {"info hash", BValue::string(std::string(r.info_hash.begin(), r.info_hash.end()))},
      {"have", BValue::string(pack(r.have))},
      {"partial", BValue::dict(std::move(partial))},
      {"files", BValue::list(std::move(files))},
  }));
}

std::optional<ResumeData> decode_resume(std::string_view bytes, const tracker::InfoHash& info_hash,
                                        std::uint32_t pieces,
                                        const std::function<std::uint32_t(std::uint32_t)>& blocks_in,
                                        std::size_t file_count, std::string* why) {
  auto fail = [&](std::string w) -> std::optional<ResumeData> {
    *why = "resume data: " + std::move(w);
    return std::nullopt;
  };
  DecodeResult d = bdecode(bytes, {.max_depth = 4, .max_bytes = 256u << 20, .max_items = 8'000'000});
  if (!d.value || !d.value->is_dict()) return fail(d.value ? "not a dictionary" : "not bencode: " + d.error);
  const BValue& top = *d.value;
  const BValue* version = top.find("version");
  if (!version || !version->is_int() || version->as_int() != 1) return fail("an unknown version");
  const BValue* ih = top.find("info hash");
  if (!ih || !ih->is_string() || ih->as_string().size() != 20 ||
      std::memcmp(ih->as_string().data(), info_hash.data(), 20) != 0)
    return fail("for another torrent");
  ResumeData r;
  r.info_hash = info_hash;
  const BValue* have = top.find("have");
  std::optional<std::vector<bool>> bits;
  if (!have || !have->is_string() || !(bits = unpack(have->as_string(), pieces)))
    return fail("the piece bitfield does not fit " + std::to_string(pieces) + " pieces");
  r.have = std::move(*bits);
  const BValue* partial = top.find("partial");
  if (!partial || !partial->is_dict()) return fail("no partial pieces record");
  for (const auto& [key, v] : partial->entries()) {
    const bool digits = !key.empty() && key.size() <= 10 && std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }) &&
                        (key.size() == 1 || key[0] != '0');
    const std::uint64_t n = digits ? std::stoull(key) : pieces;
    if (n >= pieces) return fail("a partial piece that is not in the torrent");
    const auto piece = static_cast<std::uint32_t>(n);
    if (r.have[piece]) return fail("piece " + key + " both complete and partial");
    if (!v.is_string() || !(bits = unpack(v.as_string(), blocks_in(piece))))
      return fail("the block bitfield of piece " + key + " does not fit it");
    r.partial[piece] = std::move(*bits);
  }
  const BValue* files = top.find("files");
  if (!files || !files->is_list() || files->items().size() != file_count)
    return fail("a file list that does not fit the torrent's " + std::to_string(file_count) + " files");
  for (const BValue& f : files->items()) {
    if (!f.is_list() || f.items().size() != 2 || !f.items()[0].is_int() || !f.items()[1].is_int() ||
        f.items()[0].as_int() < 0)
      return fail("a malformed file record");
    r.files.push_back({static_cast<std::uint64_t>(f.items()[0].as_int()), f.items()[1].as_int()});
  }
  return r;
}

std::vector<std::uint32_t> pieces_to_recheck(const ResumeData& r, const std::vector<FileStamp>& now,
                                             const std::vector<std::pair<std::uint32_t, std::uint32_t>>& file_ranges) {
  std::set<std::uint32_t> out;
  for (std::size_t i = 0; i < file_ranges.size() && i < r.files.size(); ++i) {
    if (i < now.size() && now[i] == r.files[i]) continue;
    for (std::uint32_t p = file_ranges[i].first; p <= file_ranges[i].second && p < r.have.size(); ++p) {
      if (r.have[p] || r.partial.count(p)) out.insert(p);
      if (p == UINT32_MAX) break;
    }
  }
  return {out.begin(), out.end()};
}

}  // namespace hf::torrent
