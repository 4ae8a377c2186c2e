// The Stratum JSON-RPC line codec (net/stratum/json_rpc.*): every line a miner or a pool
// sends goes through parse_message, and the extranonce a pool gives through extranonce_of.
// Properties: no crash and no exception on any input; a refusal has a reason; a message that
// is accepted, encoded again by our own encoders, parses back to the same message (so what
// we relay is what we read); an extranonce taken is within its bounds.
#include "net/stratum/extranonce.hpp"
#include "net/stratum/json_rpc.hpp"
#include "tests/fuzz/fuzz_check.hpp"
#include "tests/fuzz/json_same.hpp"

namespace {

using namespace hf::stratum;
using hf::fuzz::json_same;

std::string one_line(std::string encoded) {
  HF_FUZZ_CHECK(!encoded.empty() && encoded.back() == '\n');
  encoded.pop_back();
  HF_FUZZ_CHECK(encoded.find('\n') == std::string::npos);  // the framing must survive any content
  return encoded;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string why;
  const auto m = parse_message(hf::fuzz::text_of(data, size), &why);
  if (!m) {
    HF_FUZZ_CHECK(!why.empty());
    return 0;
  }
  HF_FUZZ_CHECK(m->id.is_null() || m->id.is_int64() || m->id.is_uint64() || m->id.is_string());
  HF_FUZZ_CHECK(m->reject_reason.size() <= 256);
  // The extranonce as set_extranonce's params and subscribe's reply carry it: in range or refused.
  for (std::size_t at : {std::size_t{0}, std::size_t{1}}) {
    const boost::json::array* a = m->is_request() ? &m->params : m->result.if_array();
    if (!a) break;
    std::string why_en;
    if (auto en = extranonce_of(*a, at, &why_en)) {
      HF_FUZZ_CHECK(en->extranonce1.size() <= 32 && en->extranonce2_size >= 1 && en->extranonce2_size <= 16);
    } else {
      HF_FUZZ_CHECK(!why_en.empty());
    }
  }
  std::string again;
  std::optional<ErrorReply> err;
  if (m->is_request()) {
    HF_FUZZ_CHECK(m->method.size() <= 128);
    again = one_line(encode_request(m->id, m->method, m->params));
  } else {
    err = reply_error(*m);
    if (err) HF_FUZZ_CHECK(!err->message.empty());
    // Read as a pool's answer to a share: a refusal always has a code, stale ones 21 unless
    // the pool sent its own, and acceptance excludes everything else.
    const SubmitAnswer sa = submit_answer(*m);
    if (sa.accepted) HF_FUZZ_CHECK(!err && !sa.stale && !sa.coded && sa.reason.empty());
    if (!sa.accepted) HF_FUZZ_CHECK(sa.coded == err.has_value() && (sa.coded || sa.code == (sa.stale ? 21 : 20)));
    again = one_line(err ? encode_error(m->id, err->code, err->message) : encode_result(m->id, m->result));
  }
  // Escaping can make the encoded line longer than what came in, past the line cap.
  if (again.size() > kMaxLine) return 0;
  const auto m2 = parse_message(again, &why);
  HF_FUZZ_CHECK(m2.has_value());
  HF_FUZZ_CHECK(m2->is_request() == m->is_request());
  HF_FUZZ_CHECK(json_same(m2->id, m->id));
  if (m->is_request()) {
    HF_FUZZ_CHECK(m2->method == m->method);
    HF_FUZZ_CHECK(json_same(m2->params, m->params));
  } else {
    const auto err2 = reply_error(*m2);
    HF_FUZZ_CHECK(err2.has_value() == err.has_value());
    if (err) {
      HF_FUZZ_CHECK(err2->code == err->code && err2->message == err->message);
    } else {
      HF_FUZZ_CHECK(json_same(m2->result, m->result));
    }
  }
  return 0;
}
