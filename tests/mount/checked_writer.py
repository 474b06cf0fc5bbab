#!/usr/bin/env python3
"""Writes files and records the checksum of each one the file system
acknowledged; later verifies them all.

    checked_writer.py write DIR MANIFEST STOPFILE [SEED]
    checked_writer.py verify MANIFEST

write: until STOPFILE exists, creates files of 4 KiB to 2 MiB of random
bytes in DIR (write, fsync, close); appends "sha256 size path" to MANIFEST
(on the local disk, fsynced) only for files whose fsync and close
succeeded. An error (EIO while a server restarts, say) is counted and the
file left out: the application was told. Every tenth file also re-reads an
earlier one. Prints "files N, bytes B, errors E".

verify: reads every file in MANIFEST; prints "verified N files, B bytes;
lost L files, X bytes" and exits 1 when anything differs or is missing.
"""
import hashlib
import os
import random
import sys
import time


def write(directory, manifest, stopfile, seed):
    rng = random.Random(seed)
    os.makedirs(directory, exist_ok=True)
    done, written, errors, n = [], 0, 0, 0
    with open(manifest, "a") as man:
        while not os.path.exists(stopfile):
            n += 1
            path = os.path.join(directory, f"f{n:06d}")
            data = rng.randbytes(rng.randint(4 << 10, 2 << 20))
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                finally:
                    os.close(fd)
            except OSError as e:
                errors += 1
                print(f"{path}: {e.strerror} (left out)", flush=True)
                time.sleep(0.2)
                continue
            man.write(f"{hashlib.sha256(data).hexdigest()} {len(data)} {path}\n")
            man.flush()
            os.fsync(man.fileno())
            done.append((path, hashlib.sha256(data).hexdigest()))
            written += len(data)
            if n % 10 == 0:
                old, want = rng.choice(done)
                try:
                    with open(old, "rb") as f:
                        if hashlib.sha256(f.read()).hexdigest() != want:
                            print(f"{old}: read back different bytes", flush=True)
                            sys.exit(1)
                except OSError as e:
                    errors += 1
                    print(f"{old}: re-read: {e.strerror}", flush=True)
    print(f"files {len(done)}, bytes {written}, errors {errors}", flush=True)


def verify(manifest):
    files = size_total = lost = lost_bytes = 0
    with open(manifest) as man:
        for line in man:
            want, size, path = line.split(" ", 2)
            path = path.rstrip("\n")
            files += 1
            size_total += int(size)
            try:
                with open(path, "rb") as f:
                    got = hashlib.sha256(f.read()).hexdigest()
            except OSError as e:
                got = "unreadable: " + e.strerror
            if got != want:
                lost += 1
                lost_bytes += int(size)
                print(f"{path}: {got if got.startswith('unreadable') else 'content differs'}")
    print(f"verified {files} files, {size_total} bytes; lost {lost} files, {lost_bytes} bytes")
    return 1 if lost else 0


if __name__ == "__main__":
    if len(sys.argv) >= 5 and sys.argv[1] == "write":
        write(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]) if len(sys.argv) > 5 else 1)
    elif len(sys.argv) == 3 and sys.argv[1] == "verify":
        sys.exit(verify(sys.argv[2]))
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
