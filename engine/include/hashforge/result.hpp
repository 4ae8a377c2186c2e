// Result<T>: a value, or a one-line reason why there is none. The engine's public API
// reports every failure a caller can cause or expect (a bad job, an unknown or unusable
// backend, a device that failed with nothing to fall back on) this way; exceptions stay for
// broken invariants and for errors thrown by the caller's own callbacks, which pass through.
#pragma once
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace hf {

// A job that cannot run as given (bad field, range, target, backend name). what() is one line.
// Thrown only by Result::value() on an error, for callers that prefer exceptions.
class JobError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The error side of a Result, so `return Error{"why"};` converts to any Result<T>.
struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  Result(Error e) : v_(std::in_place_index<1>, std::move(e.message)) {}

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  // The value; on an error, throws JobError carrying the reason.
  T& value() & {
    check();
    return std::get<0>(v_);
  }
  const T& value() const& {
    check();
    return std::get<0>(v_);
  }
  T&& value() && {
    check();
    return std::get<0>(std::move(v_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // The one-line reason; empty when there is a value.
  const std::string& error() const {
    static const std::string none;
    return ok() ? none : std::get<1>(v_);
  }

 private:
  void check() const {
    if (!ok()) throw JobError(std::get<1>(v_));
  }
  std::variant<T, std::string> v_;
};

// Success or a reason, with nothing to return.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error e) : err_(std::move(e.message)), failed_(true) {}
  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  void value() const {
    if (failed_) throw JobError(err_);
  }
  const std::string& error() const { return err_; }

 private:
  std::string err_;
  bool failed_ = false;
};

}  // namespace hf
