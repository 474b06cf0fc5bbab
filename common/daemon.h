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
// Raises the soft open-file limit to the hard limit: a server holds one
// descriptor per client connection, and the usual soft limit of 1024 is
// below what a cluster of clients needs.
void RaiseOpenFileLimit();
// Waits until SIGINT or SIGTERM arrives; meanwhile SIGUSR1 makes logging
// one step more verbose (error -> warn -> info -> debug) and SIGUSR2 one
// step less, each change logged. REQUIRES: BlockStopSignals().
int WaitForStopSignal();
// Applies SIGUSR1 or SIGUSR2 to the log level, as above.
void StepLogLevel(int sig);
// Writes "<text>\n" to `path` atomically (temp file + rename). No-op if
// `path` is empty.
Status WriteReadyFile(const std::string& path, const std::string& text);
// Makes `dir` (and parents) exist.
Status MakeDirs(const std::string& dir);

}  // namespace amlfs
