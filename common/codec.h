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
      if (!ok_ || n > left_) {
        Fail();
        return;
      }
      v.assign(p_, n);
      p_ += n;
      left_ -= n;
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

}  // namespace amlfs
