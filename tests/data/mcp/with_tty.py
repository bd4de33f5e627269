#!/usr/bin/env python3
"""Runs a command with a pseudo-terminal as its controlling terminal (stdin, stdout and stderr
stay as they are) and answers each `choice: ` prompt on it, for hush's confirmation tests.

Usage: with_tty.py ANSWERS -- CMD ARGS
ANSWERS is a comma-separated list typed in order ("-" types nothing: let the prompt time out).
The terminal transcript goes to stderr, each line prefixed with `tty| `. Exits with the
command's status.
"""
import os
import select
import sys

answers = [a for a in sys.argv[1].split(",") if a]
cmd = sys.argv[sys.argv.index("--") + 1:]
master, slave = os.openpty()
name = os.ttyname(slave)
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    # A session leader opening a terminal without O_NOCTTY makes it its controlling terminal.
    fd = os.open(name, os.O_RDWR)
    os.close(fd)
    os.close(slave)
    os.execvp(cmd[0], cmd)
# The parent keeps the slave open, so reading the master never fails with EIO while the
# command has no terminal file open.
seen = b""
transcript = b""
status = None
while status is None:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        chunk = os.read(master, 4096)
        seen += chunk
        transcript += chunk
        while b"choice: " in seen:
            seen = seen.split(b"choice: ", 1)[1]
            answer = answers.pop(0) if answers else "-"
            if answer != "-":
                os.write(master, answer.encode() + b"\n")
        continue
    done, st = os.waitpid(pid, os.WNOHANG)
    if done:
        status = st
for line in transcript.decode("utf-8", "replace").splitlines():
    sys.stderr.write("tty| " + line + "\n")
sys.exit(os.waitstatus_to_exitcode(status))
