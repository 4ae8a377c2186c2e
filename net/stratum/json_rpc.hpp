// Stratum V1's JSON-RPC framing: one JSON object per line, at most kMaxLine bytes.
// Requests carry id, method and params; replies carry id, result and error, where error is
// null or [code, message, null] (the form pools and miners expect, not JSON-RPC 2.0's).
// Pure code: the sessions in net/ read lines and hand them here.
#pragma once
#include <boost/json.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace hf::stratum {

// Line caps, in bytes, newline excluded. A coordinator reads miners' lines, which are small,
// under kMaxLine. A worker or a proxy reads a pool's under kMaxPoolLine: a pool whose coinbase
// pays its miners directly sends coinbase parts of tens of kilobytes, and a mining.notify line
// with both parts and the merkle branch at their caps (mining::kMaxCoinbasePart, kMaxBranch)
// still fits (notify.cpp checks this at compile time).
inline constexpr std::size_t kMaxLine = 16 * 1024;
inline constexpr std::size_t kMaxPoolLine = 512 * 1024;

namespace json = boost::json;

struct Message {
  json::value id;      // null for notifications
  std::string method;  // empty for replies
  json::array params;
  json::value result;  // replies
  json::value error;   // replies: null, or [code, message, traceback]
  std::string reject_reason;  // replies: ckpool's "reject-reason" beside a false result ("Stale")
  bool is_request() const { return !method.empty(); }
};

// One line (newline stripped, a trailing '\r' allowed) of at most max_line bytes. Returns
// nullopt with a one-line reason for a longer line, text that is not JSON, not an object, has
// fields of the wrong type, or has a number beyond a double's range. *not_json, when given, tells the first of these
// from the rest: the line is not JSON text at all (binary bytes, invalid UTF-8, another protocol, nesting deeper than
// 16), where the rest are JSON of the wrong shape.
std::optional<Message> parse_message(std::string_view line, std::string* why, bool* not_json = nullptr,
                                     std::size_t max_line = kMaxLine);

// Encoders; each returns one line ending in '\n'.
std::string encode_request(const json::value& id, std::string_view method, json::array params);
std::string encode_notification(std::string_view method, json::array params);  // id null
std::string encode_result(const json::value& id, json::value result);
std::string encode_error(const json::value& id, int code, std::string_view message);

// A reply's error as (code, message); nullopt when it is null (success).
struct ErrorReply {
  int code = 20;
  std::string message;
};
std::optional<ErrorReply> reply_error(const Message& m);

// Whether a share's refusal reason says it came too late ("Stale", "stale-prevblk", ...).
bool says_stale(std::string_view reason);

// A pool's answer to mining.submit. Accepted is a true result with no error. A refusal's
// reason is the error's message, or ckpool's "reject-reason" beside a false result; it is
// stale when the code is 21 or the reason says so. code is the error's own code, else 21
// for a stale refusal and 20 for any other (Stratum's "other/unknown").
struct SubmitAnswer {
  bool accepted = false;
  bool stale = false;
  bool coded = false;  // the pool sent an error (and so its own code)
  int code = 0;
  std::string reason;  // empty when the pool gave none (a bare false)
};
SubmitAnswer submit_answer(const Message& m);

// A JSON number, or a string holding one whole (a few miners and pools send numbers as
// strings: "16384"); nullopt otherwise.
std::optional<double> number_of(const boost::json::value& v);

}  // namespace hf::stratum
