// Magnet links (net/torrent/magnet.*), as a user pastes them. Properties: no crash; a refusal
// has a reason; an accepted link written back by format_magnet reads back to the same fields.
#include "net/torrent/magnet.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  auto m = hf::torrent::parse_magnet(hf::fuzz::text_of(data, size), &why);
  if (!m) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(m->btih || m->btmh);
  auto back = hf::torrent::parse_magnet(hf::torrent::format_magnet(*m), &why);
  HF_FUZZ_CHECK(back.has_value());
  HF_FUZZ_CHECK(back->btih == m->btih && back->btmh == m->btmh && back->name == m->name);
  HF_FUZZ_CHECK(back->trackers == m->trackers && back->web_seeds == m->web_seeds && back->peers == m->peers);
  HF_FUZZ_CHECK(back->length == m->length && back->select_only == m->select_only);
  return 0;
}
