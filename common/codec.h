// Binary encoding of wire and disk records.
//
// Grammar: integers are little-endian fixed width (u8/u16/u32/u64, signed as
// two's complement); bool is u8 0/1; a string is u32 length + bytes; a
// vector is u32 count + elements; a struct is its fields in declaration
// order (as listed in its AMLFS_FIELDS). No padding, no alignment.
//
// A struct opts in with AMLFS_FIELDS(a, b, c). Decode() checks every length
// and count against the bytes that remain before using it, and fails with
// kProtocol on truncated input, oversized counts or trailing bytes.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "common/status.h"
#include "common/types.h"

// clang-format off
#define AMLFS_FIELDS(...)                                   \
  template <class V> void Visit(V&& v) { v(__VA_ARGS__); }  \
  template <class V> void Visit(V&& v) const { v(__VA_ARGS__); }
// clang-format on

namespace amlfs {

template <typename T>
concept Visitable = requires(T& t) {
  t.Visit([](auto&...) {});
};

template <typename T>
concept StrongIdType = requires(T t) {
  typename T::ValueType;
  t.value();
};

class Encoder {
 public:
  explicit Encoder(std::string* out) : out_(out) {}

  template <typename... T>
  void operator()(const T&... fields) {
    (Put(fields), ...);
  }

  void PutRaw(const void* p, size_t n) { out_->append(static_cast<const char*>(p), n); }

  template <typename T>
  void Put(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t b = v ? 1 : 0;
      PutRaw(&b, 1);
    } else if constexpr (std::is_enum_v<T>) {
      Put(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_integral_v<T>) {
      static_assert(std::endian::native == std::endian::little);
      PutRaw(&v, sizeof(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      Put(static_cast<uint32_t>(v.size()));
      PutRaw(v.data(), v.size());
    } else if constexpr (StrongIdType<T>) {
      Put(v.value());
    } else if constexpr (Visitable<T>) {
      v.Visit(*this);
    } else {
      PutVector(v);
    }
  }

 private:
  template <typename E>
  void PutVector(const std::vector<E>& v) {
    Put(static_cast<uint32_t>(v.size()));
    for (const auto& e : v) Put(e);
  }
  std::string* out_;
};

class Decoder {
 public:
  explicit Decoder(std::string_view in) : p_(in.data()), left_(in.size()) {}

  template <typename... T>
  void operator()(T&... fields) {
    (Get(fields), ...);
  }

  bool ok() const { return ok_; }
  size_t remaining() const { return left_; }
  void Fail() {
    ok_ = false;
    left_ = 0;
  }

  bool GetRaw(void* dst, size_t n) {
    if (!ok_ || n > left_) {
      Fail();
      return false;
    }
    std::memcpy(dst, p_, n);
    p_ += n;
    left_ -= n;
    return true;
  }

  // The next `n` bytes as a view into the input (no copy).
  std::string_view GetView(size_t n) {
    if (!ok_ || n > left_) {
      Fail();
      return {};
    }
    std::string_view v(p_, n);
    p_ += n;
    left_ -= n;
    return v;
  }

  template <typename T>
  void Get(T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      uint8_t b = 0;
      GetRaw(&b, 1);
      if (b > 1) Fail();
      v = b != 0;
    } else if constexpr (std::is_enum_v<T>) {
      std::underlying_type_t<T> raw{};
      Get(raw);
      v = static_cast<T>(raw);
    } else if constexpr (std::is_integral_v<T>) {
      GetRaw(&v, sizeof(v));
    } else if constexpr (std::is_same_v<T, std::string>) {
      uint32_t n = 0;
      Get(n);
      v = GetView(n);
    } else if constexpr (StrongIdType<T>) {
      typename T::ValueType raw{};
      Get(raw);
      v = T(raw);
    } else if constexpr (Visitable<T>) {
      v.Visit(*this);
    } else {
      GetVector(v);
    }
  }

 private:
  template <typename E>
  void GetVector(std::vector<E>& v) {
    uint32_t n = 0;
    Get(n);
    // Every element takes at least one byte on the wire.
    if (!ok_ || n > left_) {
      Fail();
      return;
    }
    v.clear();
    v.reserve(n);
    for (uint32_t i = 0; i < n && ok_; ++i) {
      v.emplace_back();
      Get(v.back());
    }
  }
  const char* p_;
  size_t left_;
  bool ok_ = true;
};

template <typename T>
std::string Encode(const T& msg) {
  std::string out;
  Encoder e(&out);
  e.Put(msg);
  return out;
}

template <typename T>
void EncodeTo(const T& msg, std::string* out) {
  Encoder e(out);
  e.Put(msg);
}

// Decodes exactly one T from `in`; trailing bytes are an error.
template <typename T>
Status Decode(std::string_view in, T* msg) {
  Decoder d(in);
  d.Get(*msg);
  if (!d.ok()) return Error(Code::kProtocol, "truncated or malformed message");
  if (d.remaining() != 0) return Error(Code::kProtocol, "trailing bytes after message");
  return Status::Ok();
}

// ---------------------------------------------------------------- bulk fields
//
// A message with one bulk field (a std::string of up to megabytes, such as
// ObjWriteReq::data) is encoded and decoded without copying the bulk bytes
// through the message: the encoder places them straight into the output and
// the decoder gives a view of them. Both walk the message's AMLFS_FIELDS, as
// Encode() and Decode() do, so the bytes are exactly Encode(msg) with the
// bulk field holding the bulk bytes, and no field's offset is kept by hand.

// InPlaceEncoder: Encode(msg) with the bulk bytes placed by the caller.
// Use: construct it over `msg` with the bulk field `bulk` (a member of
// `msg`) left empty; it appends the fields before `bulk` and bulk's length
// slot to *out. Append the bulk bytes to *out, then call Finish(), which
// fills in the length and appends the fields after `bulk`. A fixed-width
// field that depends on the bulk bytes (their checksum) is set in `msg` after
// that and written again in place by Rewrite(). `msg` and `out` must outlive
// the encoder, and nothing but the bulk bytes may go into *out between the
// constructor and Finish(). Not thread-safe.
template <typename Msg>
class InPlaceEncoder {
 public:
  // `bulk_hint`: how many bulk bytes will be appended, so that *out is
  // allocated once. Throws std::logic_error when `bulk` is not one of
  // msg's fields (a programming error, found by the message's test).
  InPlaceEncoder(const Msg& msg, const std::string& bulk, std::string* out, size_t bulk_hint = 0)
      : out_(out), bulk_(&bulk) {
    std::string head;
    Walker w{this, &head};
    msg.Visit(w);
    if (!seen_bulk_)
      throw std::logic_error("InPlaceEncoder: the bulk field is not in AMLFS_FIELDS");
    out_->reserve(out_->size() + head.size() + sizeof(uint32_t) + bulk_hint + tail_.size());
    for (auto& f : fields_)
      if (!f.after_bulk) f.at += out_->size();
    out_->append(head);
    length_at_ = out_->size();
    Encoder(out_).Put(uint32_t{0});
    bulk_at_ = out_->size();
  }
  InPlaceEncoder(const InPlaceEncoder&) = delete;
  InPlaceEncoder& operator=(const InPlaceEncoder&) = delete;

  // The bulk bytes appended so far (all of them after Finish()).
  std::string_view bulk() const {
    return std::string_view(*out_).substr(bulk_at_,
                                          (finished_ ? tail_at_ : out_->size()) - bulk_at_);
  }

  // Fills in the bulk field's length and appends the fields after it.
  void Finish() {
    const auto n = static_cast<uint32_t>(out_->size() - bulk_at_);
    std::memcpy(out_->data() + length_at_, &n, sizeof(n));
    tail_at_ = out_->size();
    for (auto& f : fields_)
      if (f.after_bulk) f.at += tail_at_;
    out_->append(tail_);
    finished_ = true;
  }

  // Writes `field` (a member of msg, not the bulk field, after Finish() when
  // it follows the bulk field) again with its current value. Its encoding
  // must keep its size: a fixed-width field. Throws std::logic_error if not.
  template <typename T>
  void Rewrite(const T& field) {
    for (const auto& f : fields_) {
      if (f.addr != static_cast<const void*>(&field)) continue;
      std::string bytes;
      Encoder(&bytes).Put(field);
      if (bytes.size() != f.size || (f.after_bulk && !finished_))
        throw std::logic_error("InPlaceEncoder: a field rewritten in place must keep its size");
      std::memcpy(out_->data() + f.at, bytes.data(), bytes.size());
      return;
    }
    throw std::logic_error("InPlaceEncoder: not a field of the message");
  }

 private:
  struct Field {
    const void* addr;
    size_t at;  // in the head or the tail until placed in *out
    size_t size;
    bool after_bulk;
  };
  struct Walker {
    InPlaceEncoder* e;
    std::string* to;
    template <typename... T>
    void operator()(const T&... fields) {
      (One(fields), ...);
    }
    template <typename T>
    void One(const T& field) {
      if constexpr (std::is_same_v<T, std::string>) {
        if (&field == e->bulk_) {
          e->seen_bulk_ = true;
          to = &e->tail_;
          return;
        }
      }
      const size_t at = to->size();
      Encoder(to).Put(field);
      e->fields_.push_back(Field{&field, at, to->size() - at, e->seen_bulk_});
    }
  };

  std::string* out_;
  const std::string* bulk_;
  bool seen_bulk_ = false;
  bool finished_ = false;
  std::string tail_;  // the fields after the bulk field, encoded
  std::vector<Field> fields_;
  size_t length_at_ = 0, bulk_at_ = 0, tail_at_ = 0;
};

namespace codec_detail {
// Decodes the fields Visit() gives it, the bulk field as a view.
struct InPlaceDecodeWalker {
  Decoder* d;
  const std::string* bulk;
  std::string_view* view;
  template <typename... T>
  void operator()(T&... fields) {
    (One(fields), ...);
  }
  template <typename T>
  void One(T& field) {
    if constexpr (std::is_same_v<T, std::string>) {
      if (&field == bulk) {
        uint32_t n = 0;
        d->Get(n);
        *view = d->GetView(n);
        return;
      }
    }
    d->Get(field);
  }
};
}  // namespace codec_detail

// Decode() for a message with a bulk field: every field of `msg` is decoded
// except `bulk` (a member of *msg, left empty), whose bytes are returned in
// *bulk_view, a view into `in`. Fails as Decode() does.
template <typename Msg>
Status DecodeInPlace(std::string_view in, Msg* msg, const std::string& bulk,
                     std::string_view* bulk_view) {
  Decoder d(in);
  codec_detail::InPlaceDecodeWalker w{&d, &bulk, bulk_view};
  msg->Visit(w);
  if (!d.ok()) return Error(Code::kProtocol, "truncated or malformed message");
  if (d.remaining() != 0) return Error(Code::kProtocol, "trailing bytes after message");
  return Status::Ok();
}

}  // namespace amlfs
