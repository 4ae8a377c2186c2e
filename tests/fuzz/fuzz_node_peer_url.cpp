// What a client names as a peer (node_address of /register_node and /register_with, the
// peers of a fetched chain), --allow-peer networks and a connection's peer address (net/node/
// peer_url.*). Properties: no crash; a refusal has a reason; an accepted URL's canonical form
// parses to itself; a network contains its own address.
#include "net/node/peer_url.hpp"
#include "tests/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text = hf::fuzz::text_of(data, size);
  std::string why;
  if (auto u = hf::node::parse_peer_url(text, &why)) {
    HF_FUZZ_CHECK(!u->host.empty() && u->port > 0);
    HF_FUZZ_CHECK(!u->base.empty() && u->base.back() == '/');
    auto again = hf::node::parse_peer_url(u->base, &why);
    HF_FUZZ_CHECK(again && again->base == u->base);
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
  why.clear();
  if (auto c = hf::node::parse_cidr(text, &why)) {
    HF_FUZZ_CHECK(c->bits >= 0 && c->bits <= 128);
    HF_FUZZ_CHECK(c->contains(c->net));
  } else {
    HF_FUZZ_CHECK(!why.empty());
  }
  (void)hf::node::ip_of_peer(text);
  return 0;
}
