// A web seed's HTTP reply head (net/torrent/web_seed): what any web server sends back.
// Properties: no crash; a refusal has a reason; an accepted head has a real status code, and
// a Content-Range that is a forward range.
#include "net/torrent/web_seed.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  const auto h = hf::torrent::parse_http_head({reinterpret_cast<const char*>(data), size}, &why);
  if (!h) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(h->status >= 100 && h->status <= 599);
  HF_FUZZ_CHECK(h->range_from.has_value() == h->range_to.has_value());
  if (h->range_from) HF_FUZZ_CHECK(*h->range_from <= *h->range_to);
  HF_FUZZ_CHECK(size <= 8192);
  return 0;
}
