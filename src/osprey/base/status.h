// Status and Result<T>: osprey's error values. Fallible functions return one
// of these instead of throwing; the code says what the caller should do next
// (see docs/architecture.md, "Errors"). Both are plain values, cheap to move,
// and safe to use from any thread.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace osprey {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,     // the input is wrong; retrying the same input fails again
  kNotFound,            // a named thing does not exist
  kAlreadyExists,       // a thing to create exists already
  kFailedPrecondition,  // the system is not in a state to do this
  kUnavailable,         // a dependency is down; retry later
  kDeadlineExceeded,    // it took too long; retry later
  kDataLoss,            // stored data is corrupt
  kUnimplemented,
  kInternal,  // a bug
};

std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // "CODE: message", or "OK".
  std::string ToString() const;

  // Returns a copy whose message is "context: message".
  Status WithContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
inline Status FailedPrecondition(std::string m) { return {StatusCode::kFailedPrecondition, std::move(m)}; }
inline Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
inline Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }
inline Status DataLoss(std::string m) { return {StatusCode::kDataLoss, std::move(m)}; }
inline Status Unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }

// A value or an error Status (never an OK Status).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT: implicit by design
    assert(!std::get<Status>(v_).ok() && "Result built from an OK Status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }

  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  // By value, so `for (auto& x : *MakeResult())` cannot dangle.
  T value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Status> v_;
};

namespace internal {
inline Status AsStatus(const Status& s) { return s; }
template <typename T>
Status AsStatus(const Result<T>& r) {
  return r.status();
}
}  // namespace internal

}  // namespace osprey

#define OSPREY_CONCAT_INNER(a, b) a##b
#define OSPREY_CONCAT(a, b) OSPREY_CONCAT_INNER(a, b)

// Returns the error of `expr` (a Status or Result) from the enclosing function.
#define OSPREY_RETURN_IF_ERROR(expr)                                        \
  do {                                                                      \
    ::osprey::Status osprey_status_ = ::osprey::internal::AsStatus((expr)); \
    if (!osprey_status_.ok()) return osprey_status_;                        \
  } while (false)

// Like OSPREY_RETURN_IF_ERROR, prefixing the message with `context`.
#define OSPREY_RETURN_IF_ERROR_CTX(expr, context)                           \
  do {                                                                      \
    ::osprey::Status osprey_status_ = ::osprey::internal::AsStatus((expr)); \
    if (!osprey_status_.ok()) return osprey_status_.WithContext((context)); \
  } while (false)

// `lhs = value of rexpr`, or returns its error from the enclosing function.
#define OSPREY_ASSIGN_OR_RETURN(lhs, rexpr) \
  OSPREY_ASSIGN_OR_RETURN_IMPL(OSPREY_CONCAT(osprey_result_, __LINE__), lhs, rexpr)
#define OSPREY_ASSIGN_OR_RETURN_IMPL(tmp, lhs, rexpr) \
  auto tmp = (rexpr);                                 \
  if (!tmp.ok()) return tmp.status();                 \
  lhs = std::move(tmp).value()
