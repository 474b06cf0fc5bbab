// The parsers of the parse fuzz target, in the order of their selector: an
// input whose first byte is b goes to kParserNames[b % kParserCount]. Seeds
// are named "<parser>-<n>" (corpus/parse/layout-0), and
// `fuzz_make_seeds --check` proves that each one selects its parser.
#pragma once

#include <cstddef>
#include <iterator>

namespace amlfs::fuzz {

inline constexpr const char* kParserNames[] = {
    "layout",      // layout xattr text: ParseTemplate
    "size",        // "4M": ParseSize
    "ost-list",    // "1,3-5": ParseOstList
    "integer",     // ParseIntIn
    "host-port",   // ParseHostPort
    "allow-list",  // AllowList::Parse
    "key",         // ClusterKey::Parse
    "squash",      // SquashPolicy::Parse: ids, mode and nets on three lines
};
inline constexpr size_t kParserCount = std::size(kParserNames);

}  // namespace amlfs::fuzz
