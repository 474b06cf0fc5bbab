#!/usr/bin/env python3
"""The checks of metrics.sh, against the live cluster it started.

Every number compared comes from two places that must agree: what a
program (fio, dd) says it moved, and what the servers' and the mount's
/metrics say they counted.
"""
import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

MiB = 1 << 20


def log(msg):
    print("[metrics] " + msg, flush=True)


def check(msg):
    print("[metrics] CHECK: " + msg, flush=True)


def die(msg):
    print("[metrics] FAIL: " + msg, flush=True)
    sys.exit(1)


def http(addr, path, method="GET", body=None, timeout=5):
    """(status, headers, text) of one request; HTTP errors are answers too."""
    req = urllib.request.Request("http://%s%s" % (addr, path), data=body, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.headers, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


SAMPLE = re.compile(r'^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """[(name, {label: value}, float)] of a Prometheus text exposition."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            die("unparseable /metrics line: %r" % line)
        labels = dict(LABEL.findall(m.group(2) or ""))
        out.append((m.group(1), labels, float(m.group(3))))
    return out


def total(samples, name, **want):
    """Sum of the series of `name` whose labels include `want`."""
    return sum(v for n, labels, v in samples
               if n == name and all(labels.get(k) == w for k, w in want.items()))


def within(expected, got, what, tolerance=0.01):
    if expected <= 0:
        die("%s: expected a positive figure, got %d" % (what, expected))
    off = abs(got - expected) / expected
    log("%s: %d counted, %d expected (%.3f%% off)" % (what, got, expected, off * 100))
    if off > tolerance:
        die("%s: counted %d bytes, but %d moved (%.2f%% off, more than %.0f%%)"
            % (what, got, expected, off * 100, tolerance * 100))


def wait_for(what, fn, timeout=40, step=0.5):
    """Polls fn() until it returns something true; dies naming `what`."""
    end = time.time() + timeout
    last = None
    while time.time() < end:
        last = fn()
        if last:
            return last
        time.sleep(step)
    die("%s: not within %d s" % (what, timeout))


class Cluster:
    def __init__(self, args):
        self.root, self.mnt, self.bin = args.root, args.mount, args.bin
        self.script, self.tmux = args.cluster, args.tmux_socket
        self.addr = {}
        for name in ("mds", "ost0", "ost1"):
            with open(os.path.join(self.root, "run", name + ".ready")) as f:
                lines = f.read().splitlines()
            metrics = [l.split()[1] for l in lines if l.startswith("metrics ")]
            if not metrics:
                die("%s's ready file names no metrics address: %r" % (name, lines))
            self.addr[name] = metrics[0]
        self.addr["client"] = os.getxattr(self.mnt, "amlfs.metrics").decode()
        self.client_name = "%s:%s" % (socket.gethostname(), os.path.realpath(self.mnt))

    def pid(self, name):
        with open(os.path.join(self.root, "run", name + ".pid")) as f:
            return int(f.read())

    def scrape(self, *names):
        """All samples of the named processes (default: every one)."""
        samples = []
        for name in names or ("mds", "ost0", "ost1", "client"):
            status, headers, text = http(self.addr[name], "/metrics")
            if status != 200:
                die("%s /metrics answered %d" % (name, status))
            samples += parse(text)
        return samples

    def up(self):
        subprocess.run(["bash", self.script, "up", "--root", self.root], check=True,
                       stdout=subprocess.DEVNULL)

    def run(self, cmd, job=None, **kw):
        env = dict(os.environ)
        env.pop("SLURM_JOB_ID", None)
        if job:
            env["SLURM_JOB_ID"] = job
        return subprocess.run(cmd, env=env, check=True, **kw)


def delta(before, after, name, **labels):
    return total(after, name, **labels) - total(before, name, **labels)


def check_endpoints(c):
    check("every daemon and the mount serve /metrics and a healthy /healthz")
    roles = {"mds": "mds", "ost0": "ost", "ost1": "ost", "client": "client"}
    for name, addr in c.addr.items():
        status, headers, text = http(addr, "/metrics")
        if status != 200 or "version=0.0.4" not in headers.get("Content-Type", ""):
            die("%s /metrics: %d %s" % (name, status, headers.get("Content-Type")))
        info = [l for n, l, v in parse(text) if n == "amlfs_build_info"]
        if not info or info[0].get("role") != roles[name]:
            die("%s /metrics has no amlfs_build_info{role=%s}" % (name, roles[name]))
        status, _, body = http(addr, "/healthz")
        if status != 200 or not body.startswith("ok\n"):
            die("%s /healthz: %d %r" % (name, status, body))
        log("%s at %s: %d series, healthz %r" % (name, addr, len(parse(text)),
                                                 body.splitlines()[1:]))
    if http(c.addr["mds"], "/nothing")[0] != 404:
        die("an unknown path is not 404")
    if http(c.addr["mds"], "/metrics", method="POST", body=b"x")[0] != 405:
        die("POST /metrics is not 405")


def fio(c, rw, job, path, size_mb):
    out = c.run(["fio", "--name=" + rw, "--filename=" + path, "--rw=" + rw, "--bs=1M",
                 "--size=%dM" % size_mb, "--ioengine=psync", "--end_fsync=1",
                 "--invalidate=1", "--output-format=json"], job=job,
                capture_output=True, text=True).stdout
    result = json.loads(out[out.index("{"):])["jobs"][0]
    return result["read" if rw == "read" else "write"]["io_bytes"]


def check_fio(c):
    check("fio's bytes show in the mount's, the OSTs', the job's and the client's counters (1%)")
    path = os.path.join(c.mnt, "fio.dat")
    for rw, job in (("write", "fio-writer"), ("read", "fio-reader")):
        before = c.scrape()
        moved = fio(c, rw, job, path, 96)
        after = c.scrape()
        within(moved, delta(before, after, "amlfs_client_%s_bytes_total" % rw),
               "fio %s: the mount's amlfs_client_%s_bytes_total" % (rw, rw))
        within(moved, delta(before, after, "amlfs_ost_%s_bytes_total" % rw),
               "fio %s: OST0+OST1 amlfs_ost_%s_bytes_total" % (rw, rw))
        within(moved, delta(before, after, "amlfs_ost_job_%s_bytes_total" % rw, jobid=job),
               "fio %s: the OSTs' bytes of job %s" % (rw, job))
        within(moved, delta(before, after, "amlfs_ost_client_%s_bytes_total" % rw,
                            client=c.client_name),
               "fio %s: the OSTs' bytes of client %s" % (rw, c.client_name))
        for ost in ("OST0000", "OST0001"):
            share = delta(before, after, "amlfs_ost_%s_bytes_total" % rw, ost=ost)
            if share < moved / 4:
                die("fio %s: %s counted %d of %d bytes of a 2-stripe file" % (rw, ost, share, moved))
        ops = delta(before, after, "amlfs_mds_job_ops_total", jobid=job)
        if ops <= 0:
            die("the MDS counted no operations for job %s" % job)
        log("fio %s: the MDS counted %d operations of job %s" % (rw, ops, job))


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def check_jobs(c):
    check("two jobs writing at once, then one reading: each job's bytes counted to it")
    before = c.scrape()
    a, b = os.path.join(c.mnt, "job-a.dat"), os.path.join(c.mnt, "job-b.dat")
    env = dict(os.environ)
    procs = []
    for job, path, mb in (("job-a", a, 24), ("job-b", b, 8)):
        env["SLURM_JOB_ID"] = job
        procs.append(subprocess.Popen(["dd", "if=/dev/zero", "of=" + path, "bs=1M",
                                       "count=%d" % mb, "conv=fsync", "status=none"], env=dict(env)))
    for p in procs:
        if p.wait() != 0:
            die("dd failed")
    drop_cache(a)
    c.run(["dd", "if=" + a, "of=/dev/null", "bs=1M", "status=none"], job="job-b")
    after = c.scrape()
    within(24 * MiB, delta(before, after, "amlfs_ost_job_write_bytes_total", jobid="job-a"),
           "job-a's written bytes")
    within(8 * MiB, delta(before, after, "amlfs_ost_job_write_bytes_total", jobid="job-b"),
           "job-b's written bytes")
    within(24 * MiB, delta(before, after, "amlfs_ost_job_read_bytes_total", jobid="job-b"),
           "job-b's read bytes")
    if delta(before, after, "amlfs_ost_job_read_bytes_total", jobid="job-a") != 0:
        die("job-a read nothing, but bytes were counted to it")
    if delta(before, after, "amlfs_mds_job_ops_total", jobid="job-a", op="create") < 1:
        die("the MDS counted no create for job-a")


def log_level(c, name):
    return total(c.scrape(name), "amlfs_log_level")


def check_log_level(c):
    check("the log level changes at run time: SIGUSR1/SIGUSR2, and PUT /loglevel")
    logfile = os.path.join(c.root, "log", "ost0.log")
    os.kill(c.pid("ost0"), signal.SIGUSR1)
    wait_for("ost0 logs 'log level now debug'",
             lambda: "log level now debug" in open(logfile).read(), timeout=10)
    if log_level(c, "ost0") != 0:
        die("after SIGUSR1 ost0's amlfs_log_level is not 0 (debug)")
    os.kill(c.pid("ost0"), signal.SIGUSR2)
    wait_for("ost0 back at info", lambda: log_level(c, "ost0") == 1, timeout=10)
    status, _, body = http(c.addr["ost0"], "/loglevel", method="PUT", body=b"warn")
    if status != 200 or log_level(c, "ost0") != 2:
        die("PUT /loglevel warn: %d %r" % (status, body))
    status, _, body = http(c.addr["ost0"], "/loglevel", method="PUT", body=b"loud")
    if status != 400:
        die("PUT /loglevel loud answered %d, not 400" % status)
    if http(c.addr["ost0"], "/loglevel")[2].strip() != "warn":
        die("a rejected level changed the log level")
    http(c.addr["ost0"], "/loglevel", method="PUT", body=b"info")
    before = log_level(c, "client")
    os.kill(c.pid("fuse"), signal.SIGUSR1)
    wait_for("the mount one step more verbose after SIGUSR1",
             lambda: log_level(c, "client") == before - 1, timeout=10)
    log("ost0: debug, info, warn, info; the mount: %d -> %d" % (before, before - 1))


def stats_json(c):
    r = subprocess.run([os.path.join(c.bin, "amlfs"), "stats", "--json", c.mnt],
                       capture_output=True, text=True, timeout=30)
    try:
        return r.returncode, json.loads(r.stdout)
    except ValueError:
        die("amlfs stats --json printed no JSON (exit %d): %s %s" % (r.returncode, r.stdout, r.stderr))


def check_stats(c):
    check("amlfs stats --json: every server, up, with its metrics")
    rc, doc = stats_json(c)
    names = sorted(s["name"] for s in doc["servers"])
    if rc != 0 or not all(s["up"] for s in doc["servers"]) or len(names) != 3:
        die("amlfs stats --json: exit %d, servers %s" % (rc, names))
    for s in doc["servers"]:
        if not any(m["name"] == "amlfs_build_info" for m in s["metrics"]):
            die("amlfs stats --json: %s has no amlfs_build_info" % s["name"])
    log("amlfs stats --json: %s" % ", ".join(names))


def check_top(c):
    check("amlfs top renders in a terminal (tmux) while a job writes, and quits on q")
    path = os.path.join(c.mnt, "top.dat")
    writer = subprocess.Popen(
        ["bash", "-c", "for i in $(seq 40); do dd if=/dev/zero of='%s' bs=1M count=16 "
                       "conv=fsync status=none; done" % path],
        env=dict(os.environ, SLURM_JOB_ID="top-job"))
    try:
        tmux = ["tmux", "-L", c.tmux]
        cmd = "exec env AMLFS_KEY_FILE=%s %s top %s" % (
            os.environ["AMLFS_KEY_FILE"], os.path.join(c.bin, "amlfs"), c.mnt)
        subprocess.run(tmux + ["new-session", "-d", "-s", "top", "-x", "160", "-y", "50", cmd],
                       check=True)

        def screen():
            r = subprocess.run(tmux + ["capture-pane", "-p", "-t", "top"],
                               capture_output=True, text=True)
            text = r.stdout
            want = ("OST0000", "OST0001", "top-job", socket.gethostname())
            return text if r.returncode == 0 and all(w in text for w in want) else None

        text = wait_for("amlfs top shows both OSTs, the job and the client", screen, timeout=20)
        log("amlfs top, as tmux shows it:\n" + "\n".join(
            l.rstrip() for l in text.splitlines() if l.strip()))
        subprocess.run(tmux + ["send-keys", "-t", "top", "q"], check=True)
        wait_for("amlfs top quits on q",
                 lambda: subprocess.run(tmux + ["has-session", "-t", "top"],
                                        stderr=subprocess.DEVNULL).returncode != 0, timeout=10)
    finally:
        writer.kill()
        writer.wait()


def health(c, name):
    status, _, body = http(c.addr[name], "/healthz")
    return status, body


def check_ost_stopped(c):
    check("OST1 stopped: the MDS's /healthz and metrics say so, the mount's /healthz fails")
    os.kill(c.pid("ost1"), signal.SIGTERM)
    wait_for("the MDS's /healthz warns that OST0001 is down",
             lambda: "warn: OST0001 down" in health(c, "mds")[1])
    status, body = health(c, "mds")
    if status != 200:
        die("the MDS is unhealthy (%d) with one OST down: %r" % (status, body))
    if total(c.scrape("mds"), "amlfs_mds_ost_up", ost="OST0001") != 0:
        die("the MDS's amlfs_mds_ost_up{ost=OST0001} is not 0")
    status, body = wait_for("the mount's /healthz fails naming OST0001",
                            lambda: (lambda s, b: (s, b) if s == 503 and "OST0001 down" in b
                                     else None)(*health(c, "client")))
    log("the mount's /healthz: %d %r" % (status, body))
    if health(c, "ost0")[0] != 200:
        die("OST0's /healthz failed although OST0 is fine")
    rc, doc = stats_json(c)
    down = [s["name"] for s in doc["servers"] if not s["up"]]
    if rc == 0 or down != ["OST0001"]:
        die("amlfs stats --json with OST1 stopped: exit %d, down %s" % (rc, down))
    c.up()
    wait_for("the mount's /healthz is ok again after OST1's restart",
             lambda: health(c, "client")[0] == 200)


def check_mds_stopped(c):
    check("MDS stopped: the OSTs' /healthz fails; back once it returns")
    os.kill(c.pid("mds"), signal.SIGTERM)
    status, body = wait_for("OST0's /healthz fails without the MDS",
                            lambda: (lambda s, b: (s, b) if s == 503 and "fail: mds" in b
                                     else None)(*health(c, "ost0")), timeout=30)
    log("OST0's /healthz without the MDS: %d %r" % (status, body))
    c.up()
    wait_for("OST0's /healthz is ok once the MDS is back", lambda: health(c, "ost0")[0] == 200,
             timeout=30)


def main():
    p = argparse.ArgumentParser()
    for a in ("--root", "--mount", "--bin", "--cluster", "--tmux-socket"):
        p.add_argument(a, required=True)
    c = Cluster(p.parse_args())
    check_endpoints(c)
    check_fio(c)
    check_jobs(c)
    check_log_level(c)
    check_stats(c)
    check_top(c)
    check_ost_stopped(c)
    check_mds_stopped(c)
    log("all checks passed")


if __name__ == "__main__":
    main()
