#!/usr/bin/env python3
"""Every command README.md quotes starts as written, in a fresh clone.

    readme_commands.py SRC BIN

Clones SRC with git (so only what is committed, with the file modes git
records, as a new user gets it) and reads the clone's README.md. For each
command in its `sh` and `console` code blocks (a console block's commands
follow a "# " or "$ " prompt), and each part of it joined by ; && || or |:

- a script (scripts/NAME.sh) must be executable in git and in the clone, and
  `scripts/NAME.sh --help`, run from the clone exactly so, must exit 0 and
  print its usage (a missing run bit gives "Permission denied");
- amlfs, lfs, amlfs-fuse, amlfs-mds and amlfs-ost must be built (in BIN),
  and `PROGRAM [SUBCOMMAND...] --help` must exit 0;
- any other program (mount, umount, chmod, ...) must be on PATH.

Every scripts/NAME.sh that README.md or docs/*.md names must be executable
in git too. Prints one line per command; exits 1 naming each that fails.
"""
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

OURS = {"amlfs", "lfs", "amlfs-fuse", "amlfs-mds", "amlfs-ost"}
# amlfs subcommands that have subcommands of their own.
NESTED = {"mds"}


def code_blocks(text):
    """(language, lines) of each fenced code block."""
    blocks, lang, lines = [], None, None
    for line in text.splitlines():
        m = re.match(r"^```(\w*)\s*$", line)
        if m and lines is None:
            lang, lines = m.group(1), []
        elif line.startswith("```") and lines is not None:
            blocks.append((lang, lines))
            lang, lines = None, None
        elif lines is not None:
            lines.append(line)
    return blocks


def commands(blocks):
    """The command lines of the sh and console blocks, continuations joined."""
    out = []
    for lang, lines in blocks:
        if lang not in ("sh", "console"):
            continue
        pending = None
        for line in lines:
            if pending is not None:
                pending += " " + line.strip()
            elif lang == "console":
                m = re.match(r"^[#$] (.*)$", line)
                if not m:
                    continue
                pending = m.group(1)
            else:
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                pending = line
            if pending.endswith("\\"):
                pending = pending[:-1]
                continue
            out.append(pending.strip())
            pending = None
    return out


def simple_commands(line):
    """The token lists of the parts of `line` joined by ; && || |."""
    lex = shlex.shlex(line, posix=True, punctuation_chars=True)
    lex.commenters = "#"
    lex.whitespace_split = True
    parts, cur, skip_next = [], [], False
    for tok in lex:
        if tok in (";", "&&", "||", "|", "&"):
            parts.append(cur)
            cur = []
        elif tok in (">", ">>", "<", "2>", "&>"):
            skip_next = True
        elif skip_next:
            skip_next = False
        else:
            cur.append(tok)
    parts.append(cur)
    # Leading VAR=value assignments are not the program.
    return [[t for i, t in enumerate(p) if not (re.match(r"^\w+=", t) and
                                                all(re.match(r"^\w+=", x) for x in p[:i + 1]))]
            for p in parts if p]


def run(argv, cwd):
    """Runs argv in a session of its own; on a timeout, kills all of it (a
    script that ignores --help would otherwise leave its children behind)."""
    try:
        p = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    except OSError as e:
        return 126, "", str(e)
    try:
        out, err = p.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        return 124, "", "still running after 60 s: it does not answer --help"
    return p.returncode, out, err


def git_mode(clone, path):
    out = subprocess.run(["git", "-C", clone, "ls-files", "-s", "--", path],
                         capture_output=True, text=True).stdout.split()
    return out[0] if out else None


def check_script(clone, path, failures, seen):
    if path in seen:
        return
    seen.add(path)
    mode = git_mode(clone, path)
    full = os.path.join(clone, path)
    if mode is None:
        failures.append(f"{path}: not in the repository")
    elif mode != "100755":
        failures.append(f"{path}: committed with mode {mode}, not executable "
                        f"(git update-index --chmod=+x {path})")
    elif not os.access(full, os.X_OK):
        failures.append(f"{path}: not executable in a fresh clone")


def check(clone, binaries, line, failures, seen_scripts):
    for argv in simple_commands(line):
        prog = argv[0]
        if prog.startswith("scripts/"):
            check_script(clone, prog, failures, seen_scripts)
            rc, out, err = run([prog, "--help"], clone)
            if rc != 0 or not out.strip() or "Permission denied" in err:
                failures.append(f"`{prog} --help` in a fresh clone: exit {rc}: "
                                f"{(err or out).strip()[:200]}")
            else:
                print(f"ok: {line}  ({prog} --help: {out.splitlines()[0][:60]})")
        elif prog in OURS:
            exe = os.path.join(binaries, prog)
            if not os.access(exe, os.X_OK):
                failures.append(f"{prog}: not built ({exe})")
                continue
            sub = []
            if prog in ("amlfs", "lfs"):
                for tok in argv[1:]:
                    if tok.startswith("-") or "/" in tok:
                        break
                    sub.append(tok)
                    if tok not in NESTED:
                        break
            rc, out, err = run([exe, *sub, "--help"], clone)
            if rc != 0 or not out.strip():
                failures.append(f"`{' '.join([prog, *sub])} --help`: exit {rc}: {err.strip()[:200]}")
            else:
                print(f"ok: {line}  ({' '.join([prog, *sub])} --help)")
        elif shutil.which(prog):
            print(f"ok: {line}  ({prog} is {shutil.which(prog)})")
        else:
            failures.append(f"{line}: {prog} is not installed (scripts/install-deps.sh)")


def main():
    src, binaries = sys.argv[1], os.path.abspath(sys.argv[2])
    failures, seen_scripts = [], set()
    with tempfile.TemporaryDirectory(prefix="amlfs-readme.") as tmp:
        clone = os.path.join(tmp, "amlfs")
        subprocess.run(["git", "clone", "-q", src, clone], check=True)
        with open(os.path.join(clone, "README.md")) as f:
            readme = f.read()
        lines = commands(code_blocks(readme))
        if len(lines) < 10:
            failures.append(f"README.md: only {len(lines)} commands found in its code blocks")
        for line in lines:
            check(clone, binaries, line, failures, seen_scripts)
        docs = [readme]
        docs_dir = os.path.join(clone, "docs")
        for name in sorted(os.listdir(docs_dir)):
            if name.endswith(".md"):
                with open(os.path.join(docs_dir, name)) as f:
                    docs.append(f.read())
        named = sorted(set(re.findall(r"scripts/[A-Za-z0-9_.-]+\.sh", "\n".join(docs))))
        for path in named:
            check_script(clone, path, failures, seen_scripts)
        print(f"{len(lines)} commands of README.md, {len(named)} scripts named in README.md "
              f"and docs/")
    if failures:
        for f in failures:
            print("FAIL:", f, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
