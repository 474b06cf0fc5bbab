#!/usr/bin/env python3
"""Runs one sequence of fcntl and flock lock calls from two processes, A and B,
on PATH_A and PATH_B (the same file: on the local disk, the same path twice;
on amlfs, the file through two nodes' mounts), and prints the answers as
JSON, one per step, so that the answers on amlfs can be compared with the
local disk's.

    locks.py PATH_A PATH_B
"""
import json
import select
import struct
import subprocess
import sys

AGENT = r'''
import errno, fcntl, json, os, signal, struct, sys, time
FMT = "hhqqi4x"  # struct flock on Linux x86_64 / aarch64
fds = {}
def flock_bytes(t, start, length):
    return struct.pack(FMT, t, os.SEEK_SET, start, length, 0)
class Interrupted(Exception):
    pass
def on_alarm(sig, frame):
    raise Interrupted()
signal.signal(signal.SIGALRM, on_alarm)
TYPES = {"R": fcntl.F_RDLCK, "W": fcntl.F_WRLCK, "U": fcntl.F_UNLCK}
NAMES = {v: k for k, v in TYPES.items()}
for line in sys.stdin:
    a = line.split()
    out = None
    try:
        if a[0] == "open":
            fds[a[1]] = os.open(a[2], os.O_RDWR | os.O_CREAT, 0o644)
            out = "ok"
        elif a[0] == "close":
            os.close(fds.pop(a[1]))
            out = "ok"
        elif a[0] in ("setlk", "setlkw", "setlkw_intr"):
            cmd = fcntl.F_SETLK if a[0] == "setlk" else fcntl.F_SETLKW
            if a[0] == "setlkw_intr":
                signal.setitimer(signal.ITIMER_REAL, 0.5)
            try:
                fcntl.fcntl(fds[a[1]], cmd, flock_bytes(TYPES[a[2]], int(a[3]), int(a[4])))
                out = "ok"
            except Interrupted:
                out = "EINTR"
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        elif a[0] == "getlk":
            r = fcntl.fcntl(fds[a[1]], fcntl.F_GETLK, flock_bytes(TYPES[a[2]], int(a[3]), int(a[4])))
            t, _, start, length, pid = struct.unpack(FMT, r)
            out = "none" if t == fcntl.F_UNLCK else f"{NAMES[t]} {start} {length} pid={pid}"
        elif a[0] == "flock":
            op = {"sh": fcntl.LOCK_SH, "ex": fcntl.LOCK_EX, "un": fcntl.LOCK_UN}[a[2]]
            if "nb" in a[3:]:
                op |= fcntl.LOCK_NB
            fcntl.flock(fds[a[1]], op)
            out = "ok"
        elif a[0] == "pid":
            out = str(os.getpid())
    except OSError as e:
        out = errno.errorcode.get(e.errno, str(e.errno))
    print(out, flush=True)
'''


class Agent:
    def __init__(self, name):
        self.name = name
        self.p = subprocess.Popen([sys.executable, "-c", AGENT], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.pid = int(self.call("pid"))

    def send(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()

    def reply(self):
        line = self.p.stdout.readline()
        if not line:
            raise SystemExit(f"agent {self.name} died")
        return line.strip()

    def answered_within(self, seconds):
        """True if a reply is waiting, or arrives within `seconds`."""
        return bool(select.select([self.p.stdout], [], [], seconds)[0])

    def call(self, cmd):
        self.send(cmd)
        return self.reply()

    def stop(self):
        self.p.stdin.close()
        self.p.wait(timeout=30)


def main():
    path_a, path_b = sys.argv[1], sys.argv[2]
    a, b = Agent("A"), Agent("B")
    names = {str(a.pid): "A", str(b.pid): "B"}
    answers = []

    def step(agent, cmd):
        r = agent.call(cmd)
        if "pid=" in r:  # name the holder instead of printing its PID
            head, pid = r.rsplit("pid=", 1)
            r = head + "held by " + names.get(pid, "pid " + pid)
        answers.append(f"{agent.name}: {cmd.replace(path_a, 'FILE').replace(path_b, 'FILE')} -> {r}")

    step(a, f"open 1 {path_a}")
    step(b, f"open 1 {path_b}")
    # Conflicts, ranges, upgrade and downgrade, splitting.
    step(a, "setlk 1 W 0 100")
    step(b, "getlk 1 W 50 10")
    step(b, "setlk 1 R 50 10")
    step(b, "setlk 1 W 100 100")
    step(a, "getlk 1 W 0 0")
    step(a, "setlk 1 R 0 100")
    step(b, "setlk 1 R 10 10")
    step(b, "setlk 1 W 10 10")
    step(a, "setlk 1 U 40 20")
    step(b, "getlk 1 W 40 20")
    step(b, "getlk 1 W 0 50")
    step(b, "getlk 1 W 55 10")
    step(b, "setlk 1 U 0 0")
    # A waiting request interrupted by a signal gets EINTR and takes nothing.
    step(b, "setlkw_intr 1 W 0 10")
    step(a, "setlk 1 U 0 0")
    step(a, "getlk 1 W 0 0")
    # F_SETLKW waits for the holder, and a close releases the holder's locks:
    # B's request is still unanswered while A holds the lock (checked as
    # state, not timed), and is answered once A closes.
    step(a, "setlk 1 W 0 100")
    b.send("setlkw 1 W 50 100")
    early = b.answered_within(0.8)
    step(a, "close 1")
    order = "answered while A held the lock" if early else "answered after A's close"
    answers.append(f"B: setlkw 1 W 50 100 -> {b.reply()} ({order})")
    step(a, f"open 2 {path_a}")
    step(a, "getlk 2 R 0 0")
    step(b, "close 1")
    step(a, "getlk 2 W 0 0")
    # flock: whole-file, separate from fcntl locks, released by close.
    step(b, f"open 2 {path_b}")
    step(a, "flock 2 ex")
    step(b, "flock 2 ex nb")
    step(b, "flock 2 sh nb")
    step(b, "setlk 2 W 0 0")
    step(a, "flock 2 un")
    step(b, "flock 2 sh nb")
    step(a, "flock 2 sh nb")
    step(a, "flock 2 ex nb")
    # flock locks go with the open file's last close, which FUSE reports
    # (RELEASE) just after close(2) returns: a waiting request gets the lock.
    step(b, "close 2")
    step(a, "flock 2 ex")
    step(a, "close 2")
    a.stop()
    b.stop()
    print(json.dumps(answers, indent=1))


if __name__ == "__main__":
    main()
