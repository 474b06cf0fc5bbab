#!/usr/bin/env python3
"""Metadata churn for the MDS failover test: runs create / write / rename /
unlink / mkdir / chmod in a loop under DIR until STOP exists, journaling
every operation that succeeded to JOURNAL (one line each, flushed), and
exits 1 at the first error, naming it. Any error fails the test: a failover
must look like a pause to the program, never an error.

    meta_churn.py DIR JOURNAL STOP
"""
import os
import sys
import time

d, journal, stop = sys.argv[1:4]
os.makedirs(d, exist_ok=True)
worst, i = 0.0, 0
with open(journal, "w") as j:
    while not os.path.exists(stop):
        t = time.monotonic()
        try:
            name = f"f{i:06d}"
            data = f"{d}/{name} {i}\n".encode() * (1 + i % 7)
            fd = os.open(f"{d}/{name}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            os.write(fd, data)
            os.close(fd)
            j.write(f"file {name} {len(data)} {i}\n")
            if i % 3 == 0:
                os.rename(f"{d}/{name}", f"{d}/r{name}")
                j.write(f"rename {name} r{name}\n")
                name = f"r{name}"
            if i % 5 == 0:
                os.mkdir(f"{d}/d{i:06d}")
                os.chmod(f"{d}/d{i:06d}", 0o700)
                j.write(f"dir d{i:06d} 700\n")
            if i % 4 == 1:
                os.unlink(f"{d}/{name}")
                j.write(f"unlink {name}\n")
        except OSError as e:
            print(f"meta_churn: operation {i} in {d} failed: {e}", file=sys.stderr)
            sys.exit(1)
        j.flush()
        worst = max(worst, time.monotonic() - t)
        i += 1
print(f"{i} iterations, longest {worst:.2f} s")
