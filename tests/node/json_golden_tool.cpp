// The C++ half of tests/node/test_json_golden.py: reads one JSON text a line from stdin and
// writes one line for each, so Python can compare it byte for byte with its own json module:
//
//   OK <dumps with sort_keys>\t<dumps>      the text parsed (both dumps are ASCII, no tabs)
//   ERR <reason>                           it was refused
//
// With --sha256 an accepted line gives "OK <sha-256 hex of the sorted dump>" instead, hashed
// here by the engine, so the test checks a block's hash end to end against hashlib.
// Lines are split at '\n' only: a document's own newlines must be escaped or absent.
#include <cstdio>
#include <iostream>
#include <string>
#include <string_view>

#include "hashforge/hasher.hpp"
#include "net/node/json.hpp"

namespace {

std::string sha256_hex(std::string_view s) {
  const auto* p = reinterpret_cast<const std::uint8_t*>(s.data());
  return hf::hash_once(hf::Algo::sha256, hf::ByteView(p, s.size())).hex();
}

}  // namespace

int main(int argc, char** argv) {
  const bool hash = argc > 1 && std::string_view(argv[1]) == "--sha256";
  if (argc > 2 || (argc == 2 && !hash)) {
    std::fprintf(stderr, "usage: %s [--sha256] < lines\n", argv[0]);
    return 2;
  }
  std::ios::sync_with_stdio(false);
  std::string line, out;
  while (std::getline(std::cin, line)) {
    const auto r = hf::node::parse_json(line);
    out.clear();
    if (!r.value) {
      out = "ERR " + r.error;
    } else if (hash) {
      out = "OK " + sha256_hex(hf::node::dump_python(*r.value, {.sort_keys = true}));
    } else {
      out = "OK ";
      hf::node::dump_python(*r.value, &out, {.sort_keys = true});
      out.push_back('\t');
      hf::node::dump_python(*r.value, &out);
    }
    out.push_back('\n');
    std::cout << out;
  }
  std::cout.flush();
  return std::cout ? 0 : 1;
}
