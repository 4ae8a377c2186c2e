// The node's peer-link messages (net/node/wire.*): every frame a linked node sends.
// Properties: no crash and no exception; a refusal has a reason; what is accepted stays within
// the documented limits, and encoding it again parses back to the same message.
#include "net/node/block.hpp"
#include "net/node/wire.hpp"
#include "tests/fuzz/fuzz_check.hpp"

using namespace hf::node;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  auto m = wire::parse_message(hf::fuzz::text_of(data, size), &why);
  if (!m) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  using T = wire::Message::Type;
  std::string again;
  switch (m->type) {
    case T::hello:
      again = wire::encode_hello(m->spec, m->name, m->height, m->tip);
      break;
    case T::getheaders:
      HF_FUZZ_CHECK(m->hashes.size() <= wire::kMaxLocator);
      again = wire::encode_getheaders(m->hashes);
      break;
    case T::getblocks:
      HF_FUZZ_CHECK(m->hashes.size() <= wire::kMaxGetBlocks);
      again = wire::encode_getblocks(m->hashes);
      break;
    case T::headers:
      HF_FUZZ_CHECK(m->headers.size() <= wire::kMaxHeaders);
      again = wire::encode_headers(m->headers);
      break;
    case T::block:
      again = wire::encode_block(dump_python(m->block));
      break;
    case T::error:
      again = wire::encode_error(m->reason);
      break;
  }
  auto m2 = wire::parse_message(again, &why);
  HF_FUZZ_CHECK(m2.has_value());
  HF_FUZZ_CHECK(m2->type == m->type);
  HF_FUZZ_CHECK(m2->hashes == m->hashes && m2->spec == m->spec && m2->tip == m->tip && m2->height == m->height);
  HF_FUZZ_CHECK(m2->headers.size() == m->headers.size());
  // Compared as written: a raw surrogate pair reads back joined, and writes the same.
  HF_FUZZ_CHECK(dump_python(m2->block) == dump_python(m->block));
  return 0;
}
