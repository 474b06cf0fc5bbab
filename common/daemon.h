// Start-up and shutdown helpers shared by the server daemons.
#pragma once

#include <string>

#include "common/status.h"

namespace amlfs {

// Blocks SIGINT/SIGTERM in the calling thread (call first in main, before
// any thread starts, so every thread inherits the mask).
void BlockStopSignals();

// Keeps freed I/O buffers (up to 64 MiB each) in the heap instead of
// returning them to the kernel: otherwise every request over 128 KiB maps,
// faults in and zeroes fresh pages, which costs more than the I/O itself.
void TuneMallocForIo();
// Waits until SIGINT or SIGTERM arrives. REQUIRES: BlockStopSignals().
int WaitForStopSignal();
// Writes "<text>\n" to `path` atomically (temp file + rename). No-op if
// `path` is empty.
Status WriteReadyFile(const std::string& path, const std::string& text);
// Makes `dir` (and parents) exist.
Status MakeDirs(const std::string& dir);

}  // namespace amlfs
