#include "hashforge/hasher.hpp"

#include <cstring>

#include "sha_core.hpp"
#include "single_stream.hpp"

namespace hf {

const SingleStreamFns& reference_fns() {
  static const SingleStreamFns fns{"scalar", &sha::sha256_compress_ref, &sha::sha1_compress_ref};
  return fns;
}

Hasher::Hasher(Algo algo, const SingleStreamFns* fns) : algo_(algo), fns_(fns ? fns : &reference_fns()) { reset(); }

const char* Hasher::implementation() const { return fns_->name; }

void Hasher::reset() {
  if (algo_ == Algo::sha1)
    std::memcpy(state_, sha::IV1, sizeof sha::IV1);
  else
    std::memcpy(state_, sha::IV256, sizeof sha::IV256);
  buffered_ = 0;
  total_ = 0;
}

void Hasher::compress(const std::uint8_t* blocks, std::size_t n) {
  if (algo_ == Algo::sha1)
    fns_->sha1(state_, blocks, n);
  else
    fns_->sha256(state_, blocks, n);
}

void Hasher::update(ByteView data) {
  const std::uint8_t* p = data.data();
  std::size_t n = data.size();
  total_ += n;
  if (buffered_) {
    std::size_t take = std::min(n, 64 - buffered_);
    std::memcpy(buf_ + buffered_, p, take);
    buffered_ += take;
    p += take;
    n -= take;
    if (buffered_ < 64) return;
    compress(buf_, 1);
    buffered_ = 0;
  }
  if (n >= 64) {
    compress(p, n / 64);
    p += n / 64 * 64;
    n %= 64;
  }
  std::memcpy(buf_, p, n);
  buffered_ = n;
}

Digest Hasher::final() {
  std::uint8_t tail[128];
  std::memcpy(tail, buf_, buffered_);
  const std::size_t padded = sha::padded_size(buffered_);
  sha::write_padding(tail + buffered_, padded - buffered_, total_);
  compress(tail, padded / 64);
  Digest d;
  const int words = algo_ == Algo::sha1 ? 5 : 8;
  for (int i = 0; i < words; ++i) sha::store_be32(d.bytes.data() + 4 * i, state_[i]);
  d.size = static_cast<std::uint8_t>(4 * words);
  if (algo_ == Algo::sha256d) {
    Hasher second(Algo::sha256, fns_);
    second.update(d.view());
    d = second.final();
  }
  return d;
}

Digest hash_once(Algo algo, ByteView data, const SingleStreamFns* fns) {
  Hasher h(algo, fns);
  h.update(data);
  return h.final();
}

}  // namespace hf
