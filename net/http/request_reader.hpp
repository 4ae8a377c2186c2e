// Turns bytes into requests under RequestLimits: Beast's parser (kept out of this header)
// plus the checks it does not make. No sockets: the server feeds it what it reads, and the
// fuzz target feeds it arbitrary bytes, so both exercise exactly the same code.
#pragma once
#include <memory>
#include <string>
#include <string_view>

#include "net/http/message.hpp"
#include "net/http/settings.hpp"

namespace hf::http {

struct ParseError {
  int status = 400;    // 400, 413, 414, 417, 431, 501 or 505
  std::string reason;  // one line, sent to the client as the body
};

class RequestReader {
 public:
  enum class Result { need_more, done, error };

  explicit RequestReader(const RequestLimits& limits);
  ~RequestReader();
  RequestReader(const RequestReader&) = delete;
  RequestReader& operator=(const RequestReader&) = delete;

  // Parses from the start of `in`, the bytes not consumed so far. *used gets how many it
  // consumed now; the caller drops those and, on need_more, calls again with the rest plus
  // whatever arrives next. The head must fit in one contiguous buffer, so the caller's
  // buffer must be able to hold limits.max_header_bytes.
  // done: request() holds the request; call reset() before the next one.
  // error: error() says what to answer; the connection cannot go on.
  Result feed(std::string_view in, std::size_t* used);

  bool in_progress() const;  // some byte of a request (beyond blank lines) has been seen
  bool header_done() const;
  // The head asked "Expect: 100-continue" and the body has not come yet: the caller sends
  // "100 Continue" and then calls continue_sent().
  bool expects_continue() const;
  void continue_sent();
  // The unconsumed bytes have filled the caller's largest buffer and the parser still
  // wants more: turns that into the right error and returns it.
  const ParseError& fail_buffer_full();

  Request& request();
  const ParseError& error() const;
  void reset();

 private:
  struct Impl;
  std::unique_ptr<Impl> p_;
};

}  // namespace hf::http
