// File layouts and the stripe math (RAID-0 over OST objects, as Lustre).
//
// A layout is a list of components, each covering file bytes [start, end)
// (end == kLayoutEof for the last one). Within a component, byte `off`
// (relative to the component's start) lives in stripe
// (off / stripe_size) % stripe_count, at object offset
// (off / (stripe_size * stripe_count)) * stripe_size + off % stripe_size.
// A plain layout has exactly one component [0, kLayoutEof).
//
// Data-on-MDT (Lustre's DoM, `lfs setstripe -E 64K -L mdt -E -1 ...`): the
// first component may live on the metadata server instead of the OSTs. Its
// one "OST" is kMdtTarget, its stripe size its whole length, so its bytes
// are one object the MDS keeps with the inode (server/mds/ops/objects.cc):
// a small file is then written and read without an OST.
#pragma once

#include <cstdint>
#include <map>
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
// The target of a Data-on-MDT component, in place of an OST index (OST
// indexes stop at 65535).
inline constexpr OstIndex kMdtTarget{0xffffffffu};
// The largest Data-on-MDT component a layout may ask for; the MDS caps it
// further (amlfs-mds --dom-stripesize, Lustre's dom_stripesize).
inline constexpr uint64_t kMaxDomSize = 1ull << 30;

struct LayoutComponent {
  uint64_t start = 0;
  uint64_t end = kLayoutEof;
  uint64_t stripe_size = kDefaultStripeSize;
  std::vector<OstIndex> osts;  // stripe i lives on osts[i]; size == stripe count
  uint32_t id = 0;             // names the component's objects (ObjectId::comp)
  AMLFS_FIELDS(start, end, stripe_size, osts, id)
  bool on_mdt() const { return osts.size() == 1 && osts[0] == kMdtTarget; }
};

struct Layout {
  uint32_t generation = 0;
  std::vector<LayoutComponent> comps;
  AMLFS_FIELDS(generation, comps)
  bool empty() const { return comps.empty(); }
};

// The object that holds stripe `stripe` of component `comp` of a file.
inline ObjectId ObjectOf(InodeId ino, const Layout& l, uint32_t comp, uint32_t stripe) {
  return ObjectId{ino.value(), l.comps[comp].id, stripe};
}

// Every object of file `ino`'s layout `l`, grouped by the OST that holds it
// (kMdtTarget for a Data-on-MDT component's).
std::map<OstIndex, std::vector<ObjectId>> ObjectsByOst(InodeId ino, const Layout& l);

// One component of a layout request: covers the file up to `end` (from the
// previous component's end). stripe_count -1 means every OST, 0 the file
// system default; stripe_size 0 means the default; stripe_offset -1 lets the
// MDS choose the first OST. A non-empty `osts` names the OSTs exactly.
struct ComponentTemplate {
  uint64_t end = kLayoutEof;
  int32_t stripe_count = 0;
  uint64_t stripe_size = 0;
  int32_t stripe_offset = -1;
  std::vector<OstIndex> osts;  // {kMdtTarget}: Data-on-MDT (pattern=mdt)
  AMLFS_FIELDS(end, stripe_count, stripe_size, stripe_offset, osts)
  bool on_mdt() const { return osts.size() == 1 && osts[0] == kMdtTarget; }
  static ComponentTemplate Mdt(uint64_t end) {
    return ComponentTemplate{end, 1, 0, -1, {kMdtTarget}};
  }
  bool IsDefault() const {
    return stripe_count == 0 && stripe_size == 0 && stripe_offset == -1 && osts.empty();
  }
};

// A layout request: a directory's default layout (what new files inherit),
// or what setstripe asks for a new file. No component means "inherit".
struct LayoutTemplate {
  std::vector<ComponentTemplate> comps;
  AMLFS_FIELDS(comps)
  bool IsDefault() const { return comps.empty(); }
  bool composite() const { return comps.size() > 1; }
  static LayoutTemplate Plain(int32_t count, uint64_t size, int32_t offset = -1) {
    LayoutTemplate t;
    t.comps.push_back(ComponentTemplate{kLayoutEof, count, size, offset, {}});
    return t;
  }
};

// One piece of a file extent mapped onto an object.
struct StripeExtent {
  uint32_t comp = 0;    // component index
  uint32_t stripe = 0;  // stripe index within the component
  OstIndex ost;         // where that stripe's object lives
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
uint64_t FileOffsetOf(const Layout& layout, uint32_t comp, uint32_t stripe, uint64_t object_offset);

Status ValidateStripeSize(uint64_t stripe_size);
Status ValidateLayout(const Layout& layout);
// Component ends strictly increasing, the last at EOF, each end a multiple
// of 64 KiB and of the component's stripe size; sizes and counts in range;
// a Data-on-MDT component only first, at most kMaxDomSize long, and
// followed by another. A single all-default component is normalised to
// "no template".
Status ValidateTemplate(LayoutTemplate& t);

// The xattr text forms (lustre.lov, user.amlfs.layout), e.g.
//   "stripe_count=4 stripe_size=1048576 stripe_offset=-1"
// and, for a file, with the OSTs: "... stripe_offset=0 osts=0,1,2,3".
// Components of a progressive layout each start with comp_start=/comp_end=;
// a Data-on-MDT component reads "pattern=mdt" (its stripe size with it, for
// a file: "comp_start=0 comp_end=65536 pattern=mdt stripe_size=65536").
std::string FormatTemplate(const LayoutTemplate& t);
std::string FormatLayout(const Layout& l);
// Parses either form (keys in any order, space separated; a second
// comp_end= or a comp_start= starts the next component). A file layout
// parses to a template that pins the same OSTs.
Result<LayoutTemplate> ParseTemplate(const std::string& text);
// The template that asks for exactly `l`'s geometry.
LayoutTemplate TemplateOf(const Layout& l);

// A whole decimal integer in [lo, hi] ("-1", "4"); false for anything else.
bool ParseIntIn(const std::string& text, long lo, long hi, long* out);

// "1,3-5" -> {1,3,4,5}.
Result<std::vector<OstIndex>> ParseOstList(const std::string& text);

// Parses a size with an optional K/M/G/T suffix (binary units): "4M" -> 4194304.
Result<uint64_t> ParseSize(const std::string& text);

}  // namespace amlfs
