#include "net/mining/file_task.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "hashforge/hasher.hpp"
#include "hashforge/hex.hpp"

namespace hf::mining {

namespace json = boost::json;

std::string nonce_hex8(std::uint32_t nonce) {
  static const char digits[] = "0123456789abcdef";
  std::string s(8, '0');
  for (int i = 0; i < 8; ++i) s[i] = digits[(nonce >> (28 - 4 * i)) & 15];
  return s;
}

std::optional<std::uint32_t> parse_nonce_hex8(std::string_view s) {
  if (s.size() != 8) return std::nullopt;
  std::uint32_t n = 0;
  for (char c : s) {
    const int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0) return std::nullopt;
    n = n << 4 | static_cast<std::uint32_t>(d);
  }
  return n;
}

std::string file_line(std::uint32_t nonce, const std::string& id) { return nonce_hex8(nonce) + ' ' + id; }

Digest file_hash(ByteView input, std::uint32_t nonce, const std::string& id) {
  Hasher h(Algo::sha256);
  h.update(input);
  const std::string line = file_line(nonce, id);
  h.update(ByteView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  return h.final();
}

SearchJob file_search_job(ByteView input, const std::string& id, NonceRange r) {
  SearchJob job;
  job.algo = Algo::sha256;
  job.order = ByteOrder::digest;
  job.goal = Goal::best;
  job.nonce = {input.size(), Encoding::hex, 8};
  job.message.assign(input.begin(), input.end());
  const std::string line = file_line(0, id);
  job.message.insert(job.message.end(), line.begin(), line.end());
  job.range = r;
  return job;
}

bool valid_identifier(const std::string& id, std::string* why) {
  if (id.empty() || id.size() > 64) {
    *why = "the identifier must be 1..64 characters";
    return false;
  }
  for (unsigned char c : id)
    if (c < 0x20 || c > 0x7e) {
      *why = "the identifier must be printable ASCII (no newline)";
      return false;
    }
  return true;
}

int leading_zero_hex(const Digest& d) { return leading_zero_bits(key_of(d, ByteOrder::digest)) / 4; }

bool claim_fits_best(std::uint64_t count, const Digest& best) {
  // The digest read as a big-endian fraction of the hash space; 64 bits are plenty here.
  std::uint64_t top = 0;
  for (int i = 0; i < 8; ++i) top = top << 8 | best.bytes[static_cast<std::size_t>(i)];
  const double x = static_cast<double>(top) / 18446744073709551616.0;
  return static_cast<double>(count) * x <= kClaimEvidence;
}

// ---- RangeBook ----

void RangeBook::erase(std::uint64_t first, std::uint64_t end) {
  auto it = spans_.lower_bound(first);
  if (it != spans_.begin()) {
    auto prev = std::prev(it);
    if (prev->second.end > first) it = prev;
  }
  while (it != spans_.end() && it->first < end) {
    const std::uint64_t a = it->first, b = it->second.end;
    const bool done = it->second.done;
    it = spans_.erase(it);
    if (a < first) spans_[a] = {first, done};
    if (b > end) spans_[end] = {b, done};
  }
}

void RangeBook::insert(std::uint64_t first, std::uint64_t end, bool done) {
  if (first >= end) return;
  erase(first, end);
  // Merge with done neighbours so the map stays small over a long run.
  if (done) {
    auto next = spans_.find(end);
    if (next != spans_.end() && next->second.done) {
      end = next->second.end;
      spans_.erase(next);
    }
    auto it = spans_.lower_bound(first);
    if (it != spans_.begin()) {
      auto prev = std::prev(it);
      if (prev->second.done && prev->second.end == first) {
        prev->second.end = end;
        return;
      }
    }
  }
  spans_[first] = {end, done};
}

std::optional<NonceRange> RangeBook::take(std::uint64_t count) {
  if (count == 0) count = 1;
  count = std::min(count, space_);
  count += (grain_ - count % grain_) % grain_;  // whole grains: every boundary stays on a grain
  std::uint64_t cursor = 0;
  for (const auto& [first, span] : spans_) {
    if (first > cursor) break;
    cursor = std::max(cursor, span.end);
  }
  if (cursor >= space_) return std::nullopt;
  auto next = spans_.upper_bound(cursor);
  const std::uint64_t limit = next == spans_.end() ? space_ : next->first;
  const NonceRange r{cursor, std::min(count, limit - cursor)};
  insert(r.first, r.first + r.count, false);
  return r;
}

void RangeBook::give_back(NonceRange r) {
  // Only the out part of r is freed: nonces already done stay done.
  const std::uint64_t end = r.first + r.count;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
  for (auto it = spans_.lower_bound(0); it != spans_.end() && it->first < end; ++it)
    if (!it->second.done && it->second.end > r.first)
      out.emplace_back(std::max(it->first, r.first), std::min(it->second.end, end));
  for (auto [a, b] : out) erase(a, b);
}

std::uint64_t RangeBook::countable(NonceRange r, std::uint64_t prefix) const {
  std::uint64_t n = std::min(prefix, r.count);
  if (n < r.count) n -= n % grain_;  // the rest of the range stays at least a grain wide
  return n;
}

std::uint64_t RangeBook::finish(NonceRange r, std::uint64_t prefix) {
  give_back(r);
  const std::uint64_t n = countable(r, prefix);
  if (n > 0) insert(r.first, r.first + n, true);
  return n;
}

void RangeBook::mark_done(NonceRange r) {
  const std::uint64_t end = std::min(r.first + r.count, space_);
  if (r.first < end) insert(r.first, end, true);
}

std::uint64_t RangeBook::done_count() const {
  std::uint64_t n = 0;
  for (const auto& [first, span] : spans_)
    if (span.done) n += span.end - first;
  return n;
}

std::uint64_t RangeBook::out_count() const {
  std::uint64_t n = 0;
  for (const auto& [first, span] : spans_)
    if (!span.done) n += span.end - first;
  return n;
}

std::vector<NonceRange> RangeBook::done_ranges() const {
  std::vector<NonceRange> v;
  for (const auto& [first, span] : spans_)
    if (span.done) {
      if (!v.empty() && v.back().first + v.back().count == first)
        v.back().count += span.end - first;
      else
        v.push_back({first, span.end - first});
    }
  return v;
}

// ---- FileTask ----

namespace {

// A fresh SHA-256 on the engine's fastest single-stream code: the file may be 64 MiB.
Hasher fast_sha256() { return Engine::instance().hasher(Algo::sha256).value(); }

std::string sha256_hex(ByteView b) {
  Hasher h = fast_sha256();
  h.update(b);
  return h.final().hex();
}

json::array ranges_json(const std::vector<NonceRange>& rs) {
  json::array a;
  for (const NonceRange& r : rs) a.push_back(json::array{r.first, r.count});
  return a;
}

bool ranges_from(const json::value* v, std::vector<NonceRange>* out) {
  if (!v || !v->is_array()) return false;
  for (const json::value& e : v->as_array()) {
    const json::array* p = e.if_array();
    if (!p || p->size() != 2 || !(*p)[0].is_number() || !(*p)[1].is_number()) return false;
    std::error_code ec1, ec2;
    const auto a = (*p)[0].to_number<std::uint64_t>(ec1), n = (*p)[1].to_number<std::uint64_t>(ec2);
    if (ec1 || ec2) return false;
    out->push_back({a, n});
  }
  return true;
}

}  // namespace

FileTask::FileTask(FileTaskSpec spec) : spec_(std::move(spec)), input_(spec_.input) {
  char b[64];
  std::snprintf(b, sizeof b, "|%u|%.17g|%llu", spec_.rounds, spec_.seconds,
                static_cast<unsigned long long>(spec_.nonces));
  Bytes key = spec_.input;
  const std::string tail = "|" + spec_.identifier + b;
  key.insert(key.end(), tail.begin(), tail.end());
  id_ = sha256_hex(key).substr(0, 16);
  begin_input();
  spec_sha256_ = input_sha256_;  // round 1 mines the file as given
  rounds_.push_back({RangeBook(spec_.nonces, kFileRangeGrain), 0, std::nullopt, {}, {}});
}

void FileTask::begin_input() {
  Hasher h = fast_sha256();
  h.update(input_);
  midstate_ = h;
  input_sha256_ = h.final().hex();
}

std::uint64_t FileRoundState::verified() const {
  std::uint64_t n = 0;
  for (const auto& [name, w] : workers) n += w.verified;
  return n;
}

Digest FileTask::hash_of(std::uint32_t nonce) const {
  Hasher h = *midstate_;
  const std::string line = file_line(nonce, spec_.identifier);
  h.update(ByteView(reinterpret_cast<const std::uint8_t*>(line.data()), line.size()));
  return h.final();
}

Digest FileTask::offer(std::uint32_t nonce, const std::string& finder) {
  const Digest d = hash_of(nonce);
  auto& best = current().best;
  const auto key = [](const Digest& x) { return key_of(x, ByteOrder::digest); };
  // Ties go to the lower nonce, so the answer does not depend on who reported first.
  if (!best || key(d) < key(best->hash) || (key(d) == key(best->hash) && nonce < best->nonce))
    best = FileBest{nonce, d, finder};
  return d;
}

void FileTask::end_round() {
  FileRoundState& r = current();
  r.line = file_line(r.best->nonce, spec_.identifier);
  input_.insert(input_.end(), r.line.begin(), r.line.end());
  ++round_;
  if (finished()) return;  // the result's SHA-256 is then the last round's best hash
  // The next line goes on a line of its own: one line per round in the result.
  input_.push_back('\n');
  begin_input();
  rounds_.push_back({RangeBook(spec_.nonces, kFileRangeGrain), 0, std::nullopt, {}, {}});
}

json::object FileTask::to_json() const {
  json::array rounds;
  for (const FileRoundState& r : rounds_) {
    // "claimed": nonces workers reported searched (counted in the book, not provable);
    // "verified": nonces whose hashes the coordinator computed itself and found consistent.
    json::object o{{"elapsed", r.elapsed},
                   {"claimed", r.book.done_count()},
                   {"verified", r.verified()},
                   {"done", ranges_json(r.book.done_ranges())}};
    if (r.best)
      o["best"] = {{"nonce", nonce_hex8(r.best->nonce)},
                   {"hash", r.best->hash.hex()},
                   {"leading_zero_hex", leading_zero_hex(r.best->hash)},
                   {"finder", r.best->finder}};
    if (!r.line.empty()) o["line"] = r.line;
    json::array ws;
    for (const auto& [name, w] : r.workers)
      ws.push_back({{"name", w.name},
                    {"address", w.address},
                    {"backend", w.backend},
                    {"claimed", w.claimed},
                    {"verified", w.verified},
                    {"ranges", ranges_json(w.ranges)}});
    o["workers"] = std::move(ws);
    rounds.push_back(std::move(o));
  }
  return {{"task", id_},
          {"identifier", spec_.identifier},
          {"input_sha256", spec_sha256_},
          {"input_size", spec_.input.size()},
          {"rounds_wanted", spec_.rounds},
          {"seconds_per_round", spec_.seconds},
          {"nonces_per_round", spec_.nonces},
          {"round", round_},
          {"finished", finished()},
          {"rounds", std::move(rounds)}};
}

std::optional<FileTask> FileTask::from_json(FileTaskSpec spec, const json::value& v, std::string* why) {
  FileTask t(std::move(spec));
  const json::object* o = v.if_object();
  auto fail = [&](const std::string& w) {
    *why = w;
    return std::nullopt;
  };
  if (!o) return fail("not a JSON object");
  const json::value* id = o->if_contains("task");
  if (!id || !id->is_string() || id->as_string() != t.id_)
    return fail("it belongs to another task (a different file, identifier, rounds, time or nonce budget)");
  const json::value* rounds = o->if_contains("rounds");
  if (!rounds || !rounds->is_array() || rounds->as_array().empty() || rounds->as_array().size() > t.spec_.rounds)
    return fail("bad 'rounds'");
  t.rounds_.clear();
  const json::array& ra = rounds->as_array();
  for (std::size_t i = 0; i < ra.size(); ++i) {
    const json::object* r = ra[i].if_object();
    if (!r) return fail("bad round");
    t.rounds_.push_back({RangeBook(t.spec_.nonces, kFileRangeGrain), 0, std::nullopt, {}, {}});
    FileRoundState& st = t.rounds_.back();
    std::vector<NonceRange> done;
    if (!ranges_from(r->if_contains("done"), &done)) return fail("bad 'done' ranges");
    for (const NonceRange& d : done) st.book.mark_done(d);
    if (const json::value* e = r->if_contains("elapsed"); e && e->is_number()) {
      st.elapsed = e->to_number<double>();
      // Infinity would be saved as "Infinity", which is not JSON: the next restart would fail.
      if (!std::isfinite(st.elapsed) || st.elapsed < 0) return fail("bad 'elapsed'");
    }
    if (const json::value* w = r->if_contains("workers"); w && w->is_array())
      for (const json::value& wv : w->as_array()) {
        const json::object* wo = wv.if_object();
        if (!wo) return fail("bad worker record");
        FileWorkerRecord rec;
        auto text = [&](const char* k) {
          const json::value* x = wo->if_contains(k);
          return x && x->is_string() ? std::string(x->as_string()) : std::string();
        };
        rec.name = text("name");
        rec.address = text("address");
        rec.backend = text("backend");
        for (auto [key, field] : {std::pair{"claimed", &rec.claimed}, std::pair{"verified", &rec.verified}})
          if (const json::value* h = wo->if_contains(key); h && h->is_number()) {
            std::error_code hec;  // the throwing to_number would escape as a Boost error
            *field = h->to_number<std::uint64_t>(hec);
            if (hec) return fail(std::string("bad worker '") + key + "'");
          }
        if (!ranges_from(wo->if_contains("ranges"), &rec.ranges)) return fail("bad worker ranges");
        st.workers[rec.name] = std::move(rec);
      }
    if (const json::value* b = r->if_contains("best"); b && b->is_object()) {
      const json::object& bo = b->as_object();
      const json::value* n = bo.if_contains("nonce");
      const json::value* f = bo.if_contains("finder");
      const auto nonce = n && n->is_string() ? parse_nonce_hex8(n->as_string()) : std::nullopt;
      if (!nonce) return fail("bad best nonce");
      // The hash is recomputed, not trusted from the file.
      t.offer(*nonce, f && f->is_string() ? std::string(f->as_string()) : std::string());
    }
    const bool last = i + 1 == ra.size();
    if (!last) {
      if (!st.best) return fail("a finished round without a best line");
      t.end_round();
      t.rounds_.pop_back();  // end_round opened the next; the loop adds it from the file
    }
  }
  const json::value* fin = o->if_contains("finished");
  if (fin && fin->is_bool() && fin->as_bool()) {
    if (!t.current().best) return fail("finished without a best line");
    t.end_round();
  }
  return t;
}

}  // namespace hf::mining
