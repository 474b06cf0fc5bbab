// The libfuse API level amlfs is written against (Debian 12's libfuse 3.14).
#pragma once
#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>
