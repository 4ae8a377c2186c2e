#include "net/torrent/verify.hpp"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <tuple>

#include "net/torrent/merkle.hpp"

namespace hf::torrent {

bool VerifyReport::ok() const {
  return bad.empty() &&
         std::all_of(problems.begin(), problems.end(), [](const FileProblem& p) { return p.kind == FileIssue::long_file; });
}

std::vector<DataFile> data_files(const Metainfo& m, const std::string& data) {
  std::vector<DataFile> out;
  out.reserve(m.files.size());
  for (const FileEntry& f : m.files) {
    DataFile d;
    d.offset = f.offset;
    d.length = f.length;
    d.pad = f.pad;
    if (!f.pad) {
      d.disk_path = data;
      if (!m.single_file)
        for (const std::string& c : f.path) d.disk_path += "/" + c;
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::vector<FileSpan> files_in_range(const Metainfo& m, std::uint64_t from, std::uint64_t to) {
  std::vector<FileSpan> out;
  for (std::size_t i = 0; i < m.files.size(); ++i) {
    const FileEntry& f = m.files[i];
    if (f.pad || f.length == 0) continue;
    const std::uint64_t a = std::max(from, f.offset), b = std::min(to, f.offset + f.length);
    if (a < b) out.push_back({i, a - f.offset, b - a});
  }
  return out;
}

namespace {

// Pieces are keyed (v2, file, index) so the hash check and the file problems list each once.
using Key = std::tuple<bool, std::size_t, std::uint64_t>;

class Checker {
 public:
  explicit Checker(const Metainfo& m) : m_(m), computed_(m.files.size()) {}

  PassSink sink() {
    PassSink s;
    s.v1_piece = [this](std::uint64_t i, const Sha1& h) {
      ++report_.v1_pieces;
      if (std::memcmp(h.data(), m_.pieces.data() + 20 * i, 20) != 0) bad_.insert({false, 0, i});
    };
    s.v2_piece = [this](std::size_t file, std::uint64_t k, const Sha256& h) {
      const FileEntry& f = m_.files[file];
      if (!f.piece_layer.empty()) {
        ++report_.v2_pieces;
        if (std::memcmp(h.data(), f.piece_layer.data() + 32 * k, 32) != 0) bad_.insert({true, file, k});
        return;
      }
      // No piece layer: the file is checked as a whole once its last piece is in.
      computed_[file].push_back(h);
      const std::uint64_t pieces = (f.length + m_.piece_length - 1) / m_.piece_length;
      if (computed_[file].size() == pieces) {
        root_check(file, root_from_piece_layer(computed_[file], m_.piece_length));
        computed_[file] = {};
      }
    };
    s.v2_root = [this](std::size_t file, const Sha256& root) { root_check(file, root); };
    return s;
  }

  VerifyReport finish(const std::vector<FileProblem>& problems, const PassStats& st) {
    report_.problems = problems;
    report_.stats = st;
    const std::uint64_t P = m_.piece_length;
    for (const FileProblem& p : problems) {
      if (p.bad_from >= p.bad_to) continue;
      if (m_.has_v1)
        for (std::uint64_t i = p.bad_from / P; i <= (p.bad_to - 1) / P; ++i) bad_.insert({false, 0, i});
      if (m_.has_v2) {
        const FileEntry& f = m_.files[p.file];
        if (f.piece_layer.empty()) {
          bad_.insert({true, p.file, kWholeFile});
        } else {
          for (std::uint64_t k = (p.bad_from - f.offset) / P; k <= (p.bad_to - 1 - f.offset) / P; ++k)
            bad_.insert({true, p.file, k});
        }
      }
    }
    for (const auto& [v2, file, index] : bad_) {
      BadPiece b;
      b.v2 = v2;
      b.file = file;
      if (!v2) {
        b.index = index;
        b.offset = index * P;
        b.length = m_.piece_size(static_cast<std::size_t>(index));
      } else if (index == kWholeFile) {
        b.whole_file = true;
        b.length = m_.files[file].length;
      } else {
        b.index = index;
        b.offset = index * P;
        b.length = std::min(P, m_.files[file].length - b.offset);
      }
      report_.bad.push_back(b);
    }
    return std::move(report_);
  }

 private:
  static constexpr std::uint64_t kWholeFile = ~std::uint64_t{0};

  void root_check(std::size_t file, const Sha256& root) {
    ++report_.v2_roots;
    const FileEntry& f = m_.files[file];
    if (!f.pieces_root || *f.pieces_root != root) bad_.insert({true, file, kWholeFile});
  }

  const Metainfo& m_;
  VerifyReport report_;
  std::set<Key> bad_;
  std::vector<std::vector<Sha256>> computed_;
};

}  // namespace

VerifyReport verify_data(const Metainfo& m, const std::string& data, const PassOptions& opt) {
  DataReader reader(data_files(m, data), m.total_length);
  Checker checker(m);
  const PassSink sink = checker.sink();
  PassPlan plan;
  plan.piece_length = m.piece_length;
  plan.v1 = m.has_v1;
  plan.v2 = m.has_v2;
  const PassStats st = run_hash_pass(plan, reader, sink, opt);
  return checker.finish(reader.problems(), st);
}

}  // namespace hf::torrent
