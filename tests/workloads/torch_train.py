#!/usr/bin/python3
"""A PyTorch training job over a shared file system, as an AI team runs one.

    torch_train.py prepare DIR [--samples N] [--dirs D] [--shards S] [--shard-mib M]
    torch_train.py train --data DIR0 --data DIR1 [--netns NS0 --netns NS1] ...
    torch_train.py checkpoint --save DIR0 --load DIR1 [--mib M] ...

`prepare` writes the dataset: N small sample files spread over D directories
and S large shard files of packed samples, each sample self-checking (its
index and a CRC of its features). `train` starts one rank per --data
directory (rank r reads through DIR r, inside network namespace NS r when
given), trains a small model with DistributedDataParallel over gloo, each rank
reading the sample files through a DataLoader (2 workers, shuffled by a
DistributedSampler) and streaming the shards; rank 0 writes a torch.save
checkpoint every --ckpt-every steps, with the digest of every tensor beside
it. `train --resume` loads the newest checkpoint, checks every tensor against
that digest and carries on training. `checkpoint` times torch.save of a
state_dict of --mib MiB into DIR0 and torch.load of it from DIR1.

Every check that fails ends the job with a one-line error and exit status 1.
The figures go to stdout as one JSON object (and to --report FILE).
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import signal
import struct
import subprocess
import sys
import time
import zlib

import torch
import torch.distributed as dist
from torch.utils.data import DataLoader, Dataset, DistributedSampler, IterableDataset, get_worker_info

FEATURES = 768  # float32: a 3,088-byte sample with its header
CLASSES = 10
HEADER = struct.Struct("<IIII")  # magic, index, label, crc32 of the features
MAGIC = 0x414D4C53
RECORD = HEADER.size + FEATURES * 4


class JobError(Exception):
    pass


# --- the dataset --------------------------------------------------------------
def sample_dir(root, index, dirs):
    return os.path.join(root, "samples", f"d{index % dirs:03d}")


def sample_path(root, index, dirs):
    return os.path.join(sample_dir(root, index, dirs), f"s{index:07d}.bin")


def make_records(first, count):
    """Records first..first+count-1: class centres plus noise, reproducible."""
    centres = torch.randn(CLASSES, FEATURES, generator=torch.Generator().manual_seed(1))
    g = torch.Generator().manual_seed(1000 + first)
    labels = [(first + i) * 7 % CLASSES for i in range(count)]
    x = centres[labels] + 3.0 * torch.randn(count, FEATURES, generator=g)
    out = []
    for i in range(count):
        payload = x[i].numpy().tobytes()
        out.append(HEADER.pack(MAGIC, first + i, labels[i], zlib.crc32(payload)) + payload)
    return out


def parse_record(buf, expect_index=None):
    magic, index, label, crc = HEADER.unpack_from(buf)
    payload = buf[HEADER.size:RECORD]
    if magic != MAGIC or len(payload) != FEATURES * 4 or zlib.crc32(payload) != crc:
        raise JobError(f"corrupt sample (index field {index}, expected {expect_index})")
    if expect_index is not None and index != expect_index:
        raise JobError(f"sample {expect_index} holds sample {index}")
    return index, label, torch.frombuffer(bytearray(payload), dtype=torch.float32)


def read_meta(root):
    with open(os.path.join(root, "dataset.json")) as f:
        return json.load(f)


def prepare(args):
    root = args.dir
    shard_records = args.shard_mib * 1048576 // RECORD
    os.makedirs(os.path.join(root, "shards"), exist_ok=True)
    for d in range(args.dirs):
        os.makedirs(os.path.join(root, "samples", f"d{d:03d}"), exist_ok=True)
    t0 = time.perf_counter()
    chunk = 1000
    for first in range(0, args.samples, chunk):
        for rec in make_records(first, min(chunk, args.samples - first)):
            index = HEADER.unpack_from(rec)[1]
            with open(sample_path(root, index, args.dirs), "wb") as f:
                f.write(rec)
    t_files = time.perf_counter() - t0
    t0 = time.perf_counter()
    base = args.samples
    for s in range(args.shards):
        with open(os.path.join(root, "shards", f"shard-{s:03d}.bin"), "wb") as f:
            for first in range(0, shard_records, chunk):
                f.write(b"".join(make_records(base + first, min(chunk, shard_records - first))))
            f.flush()
            os.fsync(f.fileno())
        base += shard_records
    t_shards = time.perf_counter() - t0
    meta = {"samples": args.samples, "dirs": args.dirs, "shards": args.shards,
            "shard_records": shard_records}
    with open(os.path.join(root, "dataset.json"), "w") as f:
        json.dump(meta, f)
    shard_mib = args.shards * shard_records * RECORD / 1048576
    return {"sample_files_per_s": args.samples / t_files,
            "shard_write_mib_s": shard_mib / t_shards if t_shards else 0.0,
            "dataset_mib": (args.samples * RECORD) / 1048576 + shard_mib}


class SampleFiles(Dataset):
    """One small file per sample, opened and read whole: the random-access shape."""

    def __init__(self, root, meta):
        self.root, self.n, self.dirs = root, meta["samples"], meta["dirs"]

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        with open(sample_path(self.root, i, self.dirs), "rb") as f:
            buf = f.read()
        if len(buf) != RECORD:
            raise JobError(f"sample {i} is {len(buf)} bytes, not {RECORD}")
        return parse_record(buf, i)


class ShardStream(IterableDataset):
    """Shards read front to back in 4 MiB pieces, shuffled through a buffer: the
    streaming shape. Each (rank, worker) reads its own share of the shards."""

    def __init__(self, root, meta, rank, world, workers, seed):
        self.root, self.meta = root, meta
        self.rank, self.world, self.workers, self.seed = rank, world, workers, seed

    def __iter__(self):
        info = get_worker_info()
        wid = info.id if info else 0
        readers = self.world * self.workers
        order = list(range(self.meta["shards"]))
        rng = random.Random(self.seed)
        rng.shuffle(order)
        mine = order[self.rank * self.workers + wid::readers]
        buf, keep = [], 512
        for s in mine:
            first = self.meta["samples"] + s * self.meta["shard_records"]
            path = os.path.join(self.root, "shards", f"shard-{s:03d}.bin")
            got = 0
            with open(path, "rb", buffering=0) as f:
                while True:
                    piece = f.read((4 << 20) // RECORD * RECORD)
                    if not piece:
                        break
                    if len(piece) % RECORD:
                        raise JobError(f"{path}: short read of {len(piece)} bytes")
                    for off in range(0, len(piece), RECORD):
                        buf.append(parse_record(piece[off:off + RECORD], first + got))
                        got += 1
                        if len(buf) >= keep:
                            yield buf.pop(rng.randrange(len(buf)))
            if got != self.meta["shard_records"]:
                raise JobError(f"{path}: {got} records, expected {self.meta['shard_records']}")
        rng.shuffle(buf)
        yield from buf


# --- training -----------------------------------------------------------------
def make_model(hidden):
    return torch.nn.Sequential(
        torch.nn.Linear(FEATURES, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
        torch.nn.Linear(hidden, CLASSES))


def digest(state):
    """sha256 of every tensor (and plain value) in a nested state dict."""
    out = {}

    def walk(prefix, v):
        if isinstance(v, torch.Tensor):
            out[prefix] = hashlib.sha256(v.detach().cpu().contiguous().numpy().tobytes()).hexdigest()
        elif isinstance(v, dict):
            for k in sorted(v, key=str):
                walk(f"{prefix}.{k}" if prefix else str(k), v[k])
        elif isinstance(v, (list, tuple)):
            for i, x in enumerate(v):
                walk(f"{prefix}[{i}]", x)
        else:
            out[prefix] = repr(v)
    walk("", state)
    return out


def write_durably(path, write):
    """write(f) into path.tmp, fsync, rename over path: what a careful trainer does."""
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())
    os.rename(tmp, path)
    return os.path.getsize(path)


def latest_checkpoint(ckdir):
    names = sorted(n for n in os.listdir(ckdir) if n.startswith("step-") and n.endswith(".pt"))
    if not names:
        raise JobError(f"no checkpoint in {ckdir}")
    return os.path.join(ckdir, names[-1])


def drop_caches():
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")


def rank_main(args):
    torch.set_num_threads(1)
    rank, world = args.rank, len(args.data)
    root = args.data[rank]
    host, port = args.master.rsplit(":", 1)
    # A collective waits this long for the other rank: a loaded machine can
    # hold one rank's step (a checkpoint, new DataLoader workers) for long;
    # a rank that truly hangs is caught by the launcher's --timeout, which
    # reports where each process waits.
    dist.init_process_group("gloo", init_method=f"tcp://{host}:{port}", rank=rank,
                            world_size=world, timeout=datetime.timedelta(seconds=300))
    meta = read_meta(root)
    ckdir = os.path.join(root, "ckpt")
    torch.manual_seed(0)
    model = make_model(args.hidden)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    step, start_epoch, report = 0, 0, {}
    if args.resume:
        if rank == 0:
            path = latest_checkpoint(ckdir)
            if args.drop_caches:
                drop_caches()
            t0 = time.perf_counter()
            state = torch.load(path)
            dt = time.perf_counter() - t0
            with open(path[:-3] + ".sha256.json") as f:
                saved = json.load(f)
            if digest(state) != saved:
                bad = [k for k, v in digest(state).items() if saved.get(k) != v]
                raise JobError(f"{path}: loaded state differs from what was saved ({len(bad)} entries, first {bad[:1]})")
            report["resume"] = {"checkpoint": os.path.basename(path), "entries": len(saved),
                                "read_mib_s": os.path.getsize(path) / 1048576 / dt}
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            step, start_epoch = state["step"], state["epoch"]
        box = [step, start_epoch]
        dist.broadcast_object_list(box, src=0)
        step, start_epoch = box
    ddp = torch.nn.parallel.DistributedDataParallel(model)  # broadcasts rank 0's parameters
    if args.resume:
        # Adam's state must also be rank 0's on every rank.
        box = [opt.state_dict()]
        dist.broadcast_object_list(box, src=0)
        opt.load_state_dict(box[0])
    files = SampleFiles(root, meta)

    def loaders(epoch):
        sampler = DistributedSampler(files, num_replicas=world, rank=rank, shuffle=True, seed=7)
        sampler.set_epoch(epoch)
        return {
            "files": DataLoader(files, batch_size=args.batch, sampler=sampler, num_workers=args.workers),
            "shards": DataLoader(ShardStream(root, meta, rank, world, args.workers, seed=epoch),
                                 batch_size=args.batch, num_workers=args.workers),
        }

    def sync_drop_caches():
        if args.drop_caches:
            dist.barrier()
            if rank == 0:
                drop_caches()
            dist.barrier()

    def measured(name, loader, step_fn):
        """Runs step_fn over every batch; checks coverage, returns the figures."""
        seen = torch.zeros(2, dtype=torch.float64)  # samples, sum of indices
        wait, t0 = 0.0, time.perf_counter()
        it = iter(loader)
        while True:
            tw = time.perf_counter()
            try:
                index, label, x = next(it)
            except StopIteration:
                break
            wait += time.perf_counter() - tw
            seen += torch.tensor([len(index), float(index.sum())], dtype=torch.float64)
            step_fn(label, x)
        dt = time.perf_counter() - t0
        times = torch.tensor([dt, wait], dtype=torch.float64)
        dist.all_reduce(seen)
        dist.all_reduce(times)
        check_coverage(name, seen, meta)
        rate = float(seen[0]) / (float(times[0]) / world)
        return {"samples_per_s": rate, "mib_s": rate * RECORD / 1048576,
                "wait_fraction": float(times[1]) / float(times[0])}

    # Data loading alone, from a cold cache when --drop-caches: the reading
    # the file system serves, without the model's arithmetic in between.
    report["load"] = {}
    for name, loader in loaders(0).items():
        sync_drop_caches()
        report["load"][name] = measured(name, loader, lambda label, x: None)

    epochs, ckpt_times, ckpt_bytes, losses = [], [], 0, []
    step_box = [step]

    def train_step(epoch, label, x):
        loss = torch.nn.functional.cross_entropy(ddp(x), label)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
        step_box[0] += 1
        if rank == 0 and step_box[0] % args.ckpt_every == 0:
            nonlocal ckpt_bytes
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(),
                     "step": step_box[0], "epoch": epoch}  # resume redoes this epoch
            path = os.path.join(ckdir, f"step-{step_box[0]:07d}.pt")
            tc = time.perf_counter()
            ckpt_bytes += write_durably(path, lambda f: torch.save(state, f))
            ckpt_times.append(time.perf_counter() - tc)
            write_durably(path[:-3] + ".sha256.json",
                          lambda f: f.write(json.dumps(digest(state)).encode()))

    for epoch in range(start_epoch, args.epochs):
        sync_drop_caches()
        er = {"epoch": epoch}
        for name, loader in loaders(epoch).items():
            with ddp.join():
                er[name] = measured(name, loader, lambda label, x: train_step(epoch, label, x))
        epochs.append(er)
    step = step_box[0]
    # DDP keeps the replicas equal: every rank must end with the same weights.
    mine = hashlib.sha256(json.dumps(digest(model.state_dict())).encode()).hexdigest()
    all_digests = [None] * world
    dist.all_gather_object(all_digests, mine)
    if len(set(all_digests)) != 1:
        raise JobError(f"ranks ended with different weights: {all_digests}")
    if rank == 0:
        report.update({"epochs": epochs, "steps": step, "weights": mine[:16],
                       "loss_first": sum(losses[:10]) / max(1, len(losses[:10])),
                       "loss_last": sum(losses[-10:]) / max(1, len(losses[-10:])),
                       "checkpoints": len(ckpt_times)})
        if ckpt_times:
            report["checkpoint_mib"] = ckpt_bytes / len(ckpt_times) / 1048576
            report["checkpoint_write_mib_s"] = ckpt_bytes / 1048576 / sum(ckpt_times)
        print(json.dumps(report), flush=True)
    dist.barrier()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown: with gloo's threads and the DataLoader's
    # it can hang a rank whose peer has already left (seen under load).
    os._exit(0)


def check_coverage(name, seen, meta):
    """Every sample read exactly once per epoch, over all the ranks."""
    if name == "files":
        n = meta["samples"]
        expect_n, expect_sum = n, n * (n - 1) / 2
    else:
        first, n = meta["samples"], meta["shards"] * meta["shard_records"]
        expect_n, expect_sum = n, n * first + n * (n - 1) / 2
    if int(seen[0]) != expect_n or float(seen[1]) != float(expect_sum):
        raise JobError(f"{name}: the ranks read {int(seen[0])} samples (index sum {seen[1]:.0f}),"
                       f" expected {expect_n} (sum {expect_sum:.0f})")


def launch(args):
    """Starts one rank per --data, waits for all; if one fails, stops the rest."""
    if args.netns and len(args.netns) != len(args.data):
        raise JobError("give one --netns per --data, or none")
    meta = read_meta(args.data[0])
    if meta["samples"] % len(args.data):
        raise JobError(f"{meta['samples']} sample files do not split evenly over {len(args.data)} ranks")
    if meta["shards"] % (len(args.data) * args.workers):
        raise JobError(f"{meta['shards']} shards do not split evenly over "
                       f"{len(args.data)} ranks x {args.workers} workers")
    os.makedirs(os.path.join(args.data[0], "ckpt"), exist_ok=True)
    procs = []
    for r in range(len(args.data)):
        cmd = [sys.executable, os.path.abspath(__file__), "rank", "--rank", str(r)] + rank_options(args)
        env = dict(os.environ)
        if args.netns:
            cmd = ["nsenter", f"--net=/run/netns/{args.netns[r]}"] + cmd
            env["GLOO_SOCKET_IFNAME"] = args.ifname
        else:
            env["GLOO_SOCKET_IFNAME"] = "lo"
        # A session of its own: a failed job is killed with its DataLoader
        # workers, which would otherwise hold the mount and the test's output.
        procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True,
                                      start_new_session=True))
    deadline = time.monotonic() + args.timeout
    failed = None
    while any(p.poll() is None for p in procs) and failed is None:
        failed = next((r for r, p in enumerate(procs) if p.poll() not in (None, 0)), None)
        if time.monotonic() > deadline:
            failed = "timeout"
        time.sleep(0.2)
    if failed is not None:
        # Where the ranks still running wait (a rank that failed on a
        # collective's timeout names the other rank, not the cause).
        stuck_report([p.pid for p in procs if p.poll() is None])
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for p in procs:
            p.wait()
        raise JobError(f"rank {failed} failed" if failed != "timeout"
                       else f"the ranks did not finish in {args.timeout} s")
    out = procs[0].stdout.read()
    return json.loads(out.strip().splitlines()[-1])


def stuck_report(pids):
    """Where each process of a stuck job waits: its kernel stack and wchan."""
    seen = set()
    while pids:
        pid = pids.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")[:120]
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            stack = ""
            if os.path.exists(f"/proc/{pid}/stack"):
                with open(f"/proc/{pid}/stack") as f:
                    stack = " <- ".join(line.split()[-1] for line in f.read().splitlines()[:6])
            print(f"stuck: pid {pid} state {state} [{cmd}] {stack}", file=sys.stderr)
            for t in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{t}/children") as f:
                    pids += [int(c) for c in f.read().split()]
        except OSError:
            continue


def rank_options(args):
    """The training options of `train`, as a rank's command line."""
    out = []
    for d in args.data:
        out += ["--data", d]
    for opt in ("master", "epochs", "batch", "hidden", "workers", "ckpt_every"):
        out += ["--" + opt.replace("_", "-"), str(getattr(args, opt))]
    return out + ["--resume"] * args.resume + ["--drop-caches"] * args.drop_caches


def checkpoint_bench(args):
    """torch.save of a --mib MiB state_dict into DIR0 (fsync'd), torch.load from DIR1."""
    n = args.mib * 1048576 // 4 // 8
    state = {f"layer{i}.weight": torch.randn(n, generator=torch.Generator().manual_seed(i))
             for i in range(8)}
    path = os.path.join(args.save, "ckpt-bench.pt")
    t0 = time.perf_counter()
    size = write_durably(path, lambda f: torch.save(state, f))
    t_write = time.perf_counter() - t0
    drop_caches()
    other = os.path.join(args.load, "ckpt-bench.pt")
    t0 = time.perf_counter()
    loaded = torch.load(other)
    t_read = time.perf_counter() - t0
    if digest(loaded) != digest(state):
        raise JobError(f"{other}: loaded state differs from what was saved")
    os.unlink(path)
    mib = size / 1048576
    return {"checkpoint_mib": mib, "write_mib_s": mib / t_write, "read_mib_s": mib / t_read}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--report", help="also write the figures (JSON) to this file")
    sub = p.add_subparsers(dest="cmd", required=True)
    pp = sub.add_parser("prepare")
    pp.add_argument("dir")
    pp.add_argument("--samples", type=int, default=20000)
    pp.add_argument("--dirs", type=int, default=100)
    pp.add_argument("--shards", type=int, default=8)
    pp.add_argument("--shard-mib", type=int, default=64)
    for name in ("train", "rank"):
        t = sub.add_parser(name)
        t.add_argument("--data", action="append", required=True, help="one per rank")
        t.add_argument("--master", default="127.0.0.1:29500", help="rank 0's HOST:PORT")
        t.add_argument("--epochs", type=int, default=2)
        t.add_argument("--batch", type=int, default=64)
        t.add_argument("--hidden", type=int, default=256)
        t.add_argument("--workers", type=int, default=2)
        t.add_argument("--ckpt-every", type=int, default=100)
        t.add_argument("--resume", action="store_true")
        t.add_argument("--drop-caches", action="store_true")
        if name == "rank":
            t.add_argument("--rank", type=int, required=True)
        else:
            t.add_argument("--netns", action="append", help="one per rank")
            t.add_argument("--ifname", default="eth0")
            t.add_argument("--timeout", type=float, default=600)
    c = sub.add_parser("checkpoint")
    c.add_argument("--save", required=True)
    c.add_argument("--load", required=True)
    c.add_argument("--mib", type=int, default=256)
    args = p.parse_args()
    try:
        if args.cmd == "prepare":
            result = prepare(args)
        elif args.cmd == "rank":
            rank_main(args)
            return 0
        elif args.cmd == "train":
            result = launch(args)
        else:
            result = checkpoint_bench(args)
    except (JobError, OSError) as e:
        print(f"torch_train.py {args.cmd}: {e}", file=sys.stderr)
        return 1
    text = json.dumps(result)
    print(text)
    if args.report:
        with open(args.report, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
