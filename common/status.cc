#include "common/status.h"

#include <cerrno>
#include <cstring>

namespace amlfs {

const char* CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "OK";
    case Code::kNotFound: return "NotFound";
    case Code::kExists: return "Exists";
    case Code::kNotDir: return "NotDir";
    case Code::kIsDir: return "IsDir";
    case Code::kNotEmpty: return "NotEmpty";
    case Code::kAccess: return "Access";
    case Code::kNotPermitted: return "NotPermitted";
    case Code::kInvalid: return "Invalid";
    case Code::kNameTooLong: return "NameTooLong";
    case Code::kNoSpace: return "NoSpace";
    case Code::kIo: return "IO";
    case Code::kTimeout: return "Timeout";
    case Code::kUnavailable: return "Unavailable";
    case Code::kCorrupt: return "Corrupt";
    case Code::kNoData: return "NoData";
    case Code::kRange: return "Range";
    case Code::kLoop: return "Loop";
    case Code::kCrossDevice: return "CrossDevice";
    case Code::kNotSupported: return "NotSupported";
    case Code::kBusy: return "Busy";
    case Code::kProtocol: return "Protocol";
    case Code::kTooBig: return "TooBig";
    case Code::kStale: return "Stale";
    case Code::kBadHandle: return "BadHandle";
    case Code::kWouldBlock: return "WouldBlock";
    case Code::kDeadlock: return "Deadlock";
    case Code::kTooManyLinks: return "TooManyLinks";
    case Code::kNotEmptyXattr: return "ValueTooBig";
    case Code::kInternal: return "Internal";
    case Code::kNoDevice: return "NoDevice";
    case Code::kReadOnly: return "ReadOnly";
    case Code::kTextBusy: return "TextBusy";
    case Code::kInterrupted: return "Interrupted";
  }
  return "Unknown";
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  std::string s = CodeName(code_);
  if (!message_.empty()) s += ": " + message_;
  return s;
}

int ToErrno(Code c) {
  switch (c) {
    case Code::kOk: return 0;
    case Code::kNotFound: return ENOENT;
    case Code::kExists: return EEXIST;
    case Code::kNotDir: return ENOTDIR;
    case Code::kIsDir: return EISDIR;
    case Code::kNotEmpty: return ENOTEMPTY;
    case Code::kAccess: return EACCES;
    case Code::kNotPermitted: return EPERM;
    case Code::kInvalid: return EINVAL;
    case Code::kNameTooLong: return ENAMETOOLONG;
    case Code::kNoSpace: return ENOSPC;
    case Code::kIo: return EIO;
    case Code::kTimeout: return ETIMEDOUT;
    case Code::kUnavailable: return ENOTCONN;
    case Code::kCorrupt: return EIO;
    case Code::kNoData: return ENODATA;
    case Code::kRange: return ERANGE;
    case Code::kLoop: return EINVAL;
    case Code::kCrossDevice: return EXDEV;
    case Code::kNotSupported: return EOPNOTSUPP;
    case Code::kBusy: return EBUSY;
    case Code::kProtocol: return EPROTO;
    case Code::kTooBig: return EFBIG;
    case Code::kStale: return ESTALE;
    case Code::kBadHandle: return EBADF;
    case Code::kWouldBlock: return EAGAIN;
    case Code::kDeadlock: return EDEADLK;
    case Code::kTooManyLinks: return EMLINK;
    case Code::kNotEmptyXattr: return E2BIG;
    case Code::kInternal: return EIO;
    case Code::kNoDevice: return ENXIO;
    case Code::kReadOnly: return EROFS;
    case Code::kTextBusy: return ETXTBSY;
    case Code::kInterrupted: return EINTR;
  }
  return EIO;
}

Status FromErrno(int err, std::string context) {
  Code c;
  switch (err) {
    case 0: return Status::Ok();
    case ENOENT: c = Code::kNotFound; break;
    case EEXIST: c = Code::kExists; break;
    case ENOTDIR: c = Code::kNotDir; break;
    case EISDIR: c = Code::kIsDir; break;
    case ENOTEMPTY: c = Code::kNotEmpty; break;
    case EACCES: c = Code::kAccess; break;
    case EPERM: c = Code::kNotPermitted; break;
    case EINVAL: c = Code::kInvalid; break;
    case ENAMETOOLONG: c = Code::kNameTooLong; break;
    case ENOSPC:
    case EDQUOT: c = Code::kNoSpace; break;
    case ETIMEDOUT: c = Code::kTimeout; break;
    case ENOTCONN:
    case ECONNREFUSED:
    case ECONNRESET: c = Code::kUnavailable; break;
    case ENODATA: c = Code::kNoData; break;
    case ERANGE: c = Code::kRange; break;
    case EXDEV: c = Code::kCrossDevice; break;
    case EOPNOTSUPP: c = Code::kNotSupported; break;
    case EBUSY: c = Code::kBusy; break;
    case EFBIG: c = Code::kTooBig; break;
    case EROFS: c = Code::kReadOnly; break;
    case ENXIO: c = Code::kNoDevice; break;
    default: c = Code::kIo; break;
  }
  return Status(c, context + ": " + std::strerror(err));
}

}  // namespace amlfs
