#include "common/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace amlfs {

uint64_t Checksum64(const void* data, size_t len) { return XXH3_64bits(data, len); }
uint32_t Checksum32(const void* data, size_t len) { return XXH32(data, len, 0x616d6c66); }

}  // namespace amlfs
