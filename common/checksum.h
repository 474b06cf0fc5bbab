// Checksums: XXH3-64 over data blocks and payloads, XXH32 for frame headers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace amlfs {

// Checksum block size of the object store.
inline constexpr uint64_t kChecksumBlock = 64 * 1024;

uint64_t Checksum64(const void* data, size_t len);
inline uint64_t Checksum64(std::string_view s) { return Checksum64(s.data(), s.size()); }
uint32_t Checksum32(const void* data, size_t len);

}  // namespace amlfs
