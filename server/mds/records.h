// Values stored under the keys of keys.h, encoded with common/codec.h
// (fields in declaration order). Decode rejects trailing bytes, so a field
// cannot simply be appended: InodeRec leads with a version (1) that a later
// format raises, decoding both. The Raft log's batches: logged_batch.h.
#pragma once

#include <string>
#include <vector>

#include "common/codec.h"
#include "common/layout.h"
#include "common/protocol.h"

namespace amlfs::mds {

// 'I' ino: one inode.
struct InodeRec {
  uint8_t version = 1;
  Attr attr;                  // attr.ino is the inode number
  InodeId parent;             // directories: the parent (root: itself)
  Layout layout;              // regular files
  bool has_template = false;  // directories: a default layout is set
  LayoutTemplate tmpl;
  std::string symlink;  // symlinks: the target
  AMLFS_FIELDS(version, attr, parent, layout, has_template, tmpl, symlink)

  uint32_t type() const { return attr.mode & 0170000; }
  bool is_dir() const { return type() == 0040000; }
  bool is_reg() const { return type() == 0100000; }
  bool is_symlink() const { return type() == 0120000; }
};

// 'D' parent name: a directory entry.
struct DentryRec {
  InodeId ino;
  uint32_t type = 0;  // S_IFMT bits of the target
  AMLFS_FIELDS(ino, type)
};

// 'Q' seq: a destroyed file's objects still to remove, per OST not yet done.
struct QueueRec {
  InodeId ino;
  Layout layout;
  std::vector<OstIndex> pending;  // OSTs that still hold objects
  AMLFS_FIELDS(ino, layout, pending)
};

// 'T' index: a registered OST.
struct OstRec {
  std::string address;
  std::string uuid;
  AMLFS_FIELDS(address, uuid)
};

}  // namespace amlfs::mds
