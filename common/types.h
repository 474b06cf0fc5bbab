// Strong id types and small value types shared by every component.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace amlfs {

// A typed integer id: InodeId and OstIndex do not convert into each other.
template <typename Tag, typename T>
class StrongId {
 public:
  using ValueType = T;
  constexpr StrongId() = default;
  constexpr explicit StrongId(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  T v_ = 0;
};

using InodeId = StrongId<struct InodeIdTag, uint64_t>;
using OstIndex = StrongId<struct OstIndexTag, uint32_t>;
using ClientId = StrongId<struct ClientIdTag, uint64_t>;

inline constexpr InodeId kRootInode{1};

// Wall-clock time with nanoseconds, as stored in inodes.
struct Timespec {
  int64_t sec = 0;
  uint32_t nsec = 0;
  auto operator<=>(const Timespec&) const = default;
  static Timespec Now();
  template <class V>
  void Visit(V&& v) {
    v(sec, nsec);
  }
  template <class V>
  void Visit(V&& v) const {
    v(sec, nsec);
  }
};

// One object (stripe) of a file on an OST: the file's inode, the layout
// component and the stripe index within that component.
struct ObjectId {
  uint64_t ino = 0;
  uint32_t comp = 0;
  uint32_t stripe = 0;
  auto operator<=>(const ObjectId&) const = default;
  template <class V>
  void Visit(V&& v) {
    v(ino, comp, stripe);
  }
  template <class V>
  void Visit(V&& v) const {
    v(ino, comp, stripe);
  }
};

}  // namespace amlfs

template <typename Tag, typename T>
struct std::hash<amlfs::StrongId<Tag, T>> {
  size_t operator()(const amlfs::StrongId<Tag, T>& id) const noexcept {
    return std::hash<T>()(id.value());
  }
};
