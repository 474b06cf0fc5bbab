// File layouts and the stripe math (RAID-0 over OST objects, as Lustre).
//
// A layout is a list of components, each covering file bytes [start, end)
// (end == kLayoutEof for the last one). Within a component, byte `off`
// (relative to the component's start) lives in stripe
// (off / stripe_size) % stripe_count, at object offset
// (off / (stripe_size * stripe_count)) * stripe_size + off % stripe_size.
// A plain layout has exactly one component [0, kLayoutEof).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/codec.h"
#include "common/status.h"
#include "common/types.h"

namespace amlfs {

inline constexpr uint64_t kLayoutEof = ~uint64_t{0};
inline constexpr uint64_t kStripeSizeUnit = 64 * 1024;
inline constexpr uint64_t kMaxStripeSize = (4ull << 30) - kStripeSizeUnit;  // below 4 GiB
inline constexpr uint32_t kMaxStripeCount = 2000;
inline constexpr uint64_t kDefaultStripeSize = 1 << 20;

struct LayoutComponent {
  uint64_t start = 0;
  uint64_t end = kLayoutEof;
  uint64_t stripe_size = kDefaultStripeSize;
  std::vector<OstIndex> osts;  // stripe i lives on osts[i]; size == stripe count
  AMLFS_FIELDS(start, end, stripe_size, osts)
};

struct Layout {
  uint32_t generation = 0;
  std::vector<LayoutComponent> comps;
  AMLFS_FIELDS(generation, comps)
  bool empty() const { return comps.empty(); }
};

// A directory's default layout (what new files inherit). stripe_count -1
// means every OST, 0 means "the file system default"; stripe_offset -1 lets
// the MDS choose the first OST. stripe_size 0 means the file system default.
struct LayoutTemplate {
  int32_t stripe_count = 0;
  uint64_t stripe_size = 0;
  int32_t stripe_offset = -1;
  AMLFS_FIELDS(stripe_count, stripe_size, stripe_offset)
  bool IsDefault() const { return stripe_count == 0 && stripe_size == 0 && stripe_offset == -1; }
};

// One piece of a file extent mapped onto an object.
struct StripeExtent {
  uint32_t comp = 0;         // component index
  uint32_t stripe = 0;       // stripe index within the component
  OstIndex ost;              // where that stripe's object lives
  uint64_t object_offset = 0;
  uint64_t length = 0;
  uint64_t file_offset = 0;  // where this piece starts in the file
};

// Maps file bytes [offset, offset+length) to object extents, in file order.
// Each returned extent lies within a single stripe unit. REQUIRES: layout
// validated by ValidateLayout().
std::vector<StripeExtent> MapExtent(const Layout& layout, uint64_t offset, uint64_t length);

// The size object (comp, stripe) must have so that the file is `file_size`
// bytes long: used by truncate.
uint64_t ObjectSizeForFileSize(const Layout& layout, uint32_t comp, uint32_t stripe,
                               uint64_t file_size);

// Inverse mapping: the file offset of object byte `object_offset` of
// (comp, stripe).
uint64_t FileOffsetOf(const Layout& layout, uint32_t comp, uint32_t stripe,
                      uint64_t object_offset);

Status ValidateStripeSize(uint64_t stripe_size);
Status ValidateLayout(const Layout& layout);

// Human/xattr text forms, e.g. "stripe_count=4 stripe_size=1048576 stripe_offset=-1"
// and, for a file layout, the OST list: "... osts=0,1,2,3".
std::string FormatTemplate(const LayoutTemplate& t);
std::string FormatLayout(const Layout& l);
// Parses "stripe_count=N stripe_size=SIZE[K|M|G] stripe_offset=N" (any
// subset, space or comma separated).
Result<LayoutTemplate> ParseTemplate(const std::string& text);

// Parses a size with an optional K/M/G/T suffix (binary units): "4M" -> 4194304.
Result<uint64_t> ParseSize(const std::string& text);

}  // namespace amlfs
