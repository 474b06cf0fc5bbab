// Lustre's `lfs getstripe` text formats (lfs-getstripe(1), Lustre 2.15),
// for amlfs layouts. A plain file prints the lmm_* block and the
// "obdidx objid objid group" table; a progressive layout the lcm_*/lcme_*
// block with an indented lmm_* block per component; a directory its
// default on one line. Object ids: objid is the inode number, group the
// component id (an object is <objid>.<group>.<stripe> on its OST).
#pragma once

#include <string>

#include "common/protocol.h"

namespace amlfs::tools {

// Which fields to print (Lustre's VERBOSE_* bits). With one field alone,
// only its bare value is printed.
enum Field : unsigned {
  kFieldCount = 1u << 0,
  kFieldSize = 1u << 1,
  kFieldOffset = 1u << 2,
  kFieldPattern = 1u << 3,
  kFieldGeneration = 1u << 4,
  kFieldObjects = 1u << 5,
  kFieldDetail = 1u << 6,
  kFieldsDefault =
      kFieldCount | kFieldSize | kFieldOffset | kFieldPattern | kFieldGeneration | kFieldObjects,
};

struct StripeFormat {
  unsigned fields = kFieldsDefault;
  bool yaml = false;
  bool print_path = true;  // the path line before the block
  bool raw = false;        // -R: a directory without a default prints zeros
};

// One file's block, ending with the blank line.
std::string FormatFileStripe(const std::string& path, uint64_t ino, const Layout& l,
                             const StripeFormat& f);
// One directory's default, ending with the blank line.
std::string FormatDirStripe(const std::string& path, const GetLayoutRsp& d, const StripeFormat& f);

}  // namespace amlfs::tools
