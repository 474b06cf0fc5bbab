// Status and Result<T>: the one error vocabulary of amlfs.
//
// Code values cross the wire and are never renumbered; a retired code stays
// as a comment. Host errno values never travel: ToErrno()/FromErrno() in
// status.cc are the only place where errno meets Code.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace amlfs {

enum class Code : uint32_t {
  kOk = 0,
  kNotFound = 1,        // ENOENT
  kExists = 2,          // EEXIST
  kNotDir = 3,          // ENOTDIR
  kIsDir = 4,           // EISDIR
  kNotEmpty = 5,        // ENOTEMPTY
  kAccess = 6,          // EACCES
  kNotPermitted = 7,    // EPERM
  kInvalid = 8,         // EINVAL
  kNameTooLong = 9,     // ENAMETOOLONG
  kNoSpace = 10,        // ENOSPC
  kIo = 11,             // EIO
  kTimeout = 12,        // ETIMEDOUT
  kUnavailable = 13,    // ENOTCONN: server unreachable
  kCorrupt = 14,        // EIO: checksum mismatch
  kNoData = 15,         // ENODATA: no such xattr
  kRange = 16,          // ERANGE
  kLoop = 17,           // ELOOP / EINVAL for directory moved into itself
  kCrossDevice = 18,    // EXDEV
  kNotSupported = 19,   // EOPNOTSUPP
  kBusy = 20,           // EBUSY
  kProtocol = 21,       // EPROTO: malformed message
  kTooBig = 22,         // EFBIG
  kStale = 23,          // ESTALE
  kBadHandle = 24,      // EBADF
  kWouldBlock = 25,     // EAGAIN
  kDeadlock = 26,       // EDEADLK
  kTooManyLinks = 27,   // EMLINK
  kNotEmptyXattr = 28,  // E2BIG: xattr value too large
  kInternal = 29,       // EIO, with a log line
  kNoDevice = 30,       // ENXIO: SEEK_DATA/SEEK_HOLE past EOF
  kReadOnly = 31,       // EROFS
  kTextBusy = 32,       // ETXTBSY
  kInterrupted = 33,    // EINTR: a waiting lock request was cancelled
  // The highest code in use: a new code goes above and moves it. A peer's
  // code above it is one this build does not know.
  kCodeMax = kInterrupted,
};

const char* CodeName(Code c);

class Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}
  static Status Ok() { return Status(); }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  // "NotFound: no such entry 'x'"
  std::string ToString() const;

  // kUnavailable from an MDS replica that does not lead: the leader's
  // HOST:PORT, for the caller to try next ("": none named). It travels in
  // the response envelope (EncodeResponse, common/protocol_base.h).
  const std::string& leader() const { return leader_; }
  Status& set_leader(std::string leader) {
    leader_ = std::move(leader);
    return *this;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string leader_;
};

inline Status Error(Code c, std::string msg = {}) { return Status(c, std::move(msg)); }

// errno <-> Code. ToErrno returns a positive errno value.
int ToErrno(Code c);
inline int ToErrno(const Status& s) { return ToErrno(s.code()); }
Status FromErrno(int err, std::string context);

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}         // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}  // NOLINT
  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  T& operator*() & { return std::get<0>(v_); }

 private:
  std::variant<T, Status> v_;
};

#define AMLFS_CONCAT_INNER(a, b) a##b
#define AMLFS_CONCAT(a, b) AMLFS_CONCAT_INNER(a, b)

#define AMLFS_RETURN_IF_ERROR(expr)        \
  do {                                     \
    ::amlfs::Status amlfs_st_ = (expr);    \
    if (!amlfs_st_.ok()) return amlfs_st_; \
  } while (0)

// AMLFS_ASSIGN_OR_RETURN(auto x, MaybeX());
#define AMLFS_ASSIGN_OR_RETURN(lhs, expr)                                                       \
  auto AMLFS_CONCAT(amlfs_r_, __LINE__) = (expr);                                               \
  if (!AMLFS_CONCAT(amlfs_r_, __LINE__).ok()) return AMLFS_CONCAT(amlfs_r_, __LINE__).status(); \
  lhs = std::move(AMLFS_CONCAT(amlfs_r_, __LINE__)).value()

}  // namespace amlfs
