// For tests/torrent/test_metainfo_libtorrent.py: reads .torrent files named on the command
// line and prints, per file, one line: "OK <v1 hash or -> <v2 hash or -> <layers 0|1> <n>"
// followed by n lines "<offset> <length> <pad 0|1> <pieces root hex or -> <name/path/inside>",
// or "ERR <reason>".
#include <cstdio>
#include <fstream>
#include <sstream>

#include "hashforge/hex.hpp"
#include "net/torrent/metainfo.hpp"

using hf::to_hex;

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::ifstream f(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    std::string why;
    auto m = hf::torrent::parse_metainfo(ss.str(), &why);
    if (!m) {
      std::printf("ERR %s\n", why.c_str());
      continue;
    }
    std::printf("OK %s %s %d %zu\n", m->has_v1 ? to_hex(m->info_hash_v1).c_str() : "-",
                m->info_hash_v2 ? to_hex(*m->info_hash_v2).c_str() : "-", m->has_piece_layers ? 1 : 0, m->files.size());
    for (const auto& fe : m->files) {
      // As libtorrent names files: under the torrent's name unless it is a single file.
      std::string path = m->name;
      for (const auto& c : fe.path) path += "/" + c;
      std::printf("%llu %llu %d %s %s\n", static_cast<unsigned long long>(fe.offset),
                  static_cast<unsigned long long>(fe.length), fe.pad ? 1 : 0,
                  fe.pieces_root ? to_hex(*fe.pieces_root).c_str() : "-", path.c_str());
    }
  }
  return 0;
}
