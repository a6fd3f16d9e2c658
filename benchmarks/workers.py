"""Each contender in its own fresh worker process, timed in interleaved rounds from a parent.

Why processes: Python's cyclic garbage collector scans every tracked object in the
process at each full collection, so a library whose graphs are Python objects pays for
whatever else was imported (importing torch adds ~165,000 tracked objects). A user runs
one library, so each contender runs alone, importing only what it needs.

Protocol: the parent writes a task's name, one line; the worker answers one JSON line.
A timed task's answer is its CPU time (`time.thread_time`, one run, after a collection),
plus the phases it timed itself when it returns them as {phase: seconds}; an untimed
task's answer is its return value.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import time


def serve(timed: dict, untimed: dict | None = None, warmup: int = 1) -> None:
    """Worker side: answer each task name read from stdin with one JSON line."""
    untimed = untimed or {}
    warm = set()
    for line in sys.stdin:
        name = line.strip()
        if name in timed:
            if name not in warm:  # warm-up runs: imports, caches, memory pools
                for _ in range(warmup):
                    timed[name]()
                warm.add(name)
            reply = _timed_run(name, timed[name])
        else:
            reply = untimed[name]()
        print(json.dumps(reply), flush=True)


def _timed_run(name: str, fn) -> dict:
    """One run's CPU seconds, as {name: total, "name phase": seconds, ...}."""
    gc.collect()  # start clean: no run pays for the previous run's garbage
    t0 = time.thread_time()
    result = fn()
    total = time.thread_time() - t0
    phases = result if isinstance(result, dict) else {}
    return {name: total, **{f"{name} {k}": v for k, v in phases.items()}}


class Workers:
    """One fresh worker process per contender: `argv` run with `env` added to os.environ."""

    def __init__(self, commands: dict):
        base = {**os.environ, "OMP_NUM_THREADS": "1"}
        self.procs = {name: subprocess.Popen(argv, text=True, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, env={**base, **env})
                      for name, (argv, env) in commands.items()}

    def ask(self, name: str, task: str):
        """The worker `name`'s answer to `task`."""
        proc = self.procs[name]
        proc.stdin.write(task + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker {name!r} died on task {task!r}")
        return json.loads(line)

    def ask_all(self, task: str, names=None) -> dict:
        """{contender: answer} for each worker (or those named)."""
        return {name: self.ask(name, task) for name in (names or self.procs)}

    def close(self) -> None:
        for proc in self.procs.values():
            proc.stdin.close()
            proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def interleaved(workers: Workers, tasks: dict, rounds: int) -> dict:
    """Median CPU seconds {contender: {label: s}}; tasks: {task: contenders that run it}.

    Each round runs each task once in each of its contenders, the contenders' order
    rotating from round to round, so the machine's noise falls on all alike."""
    times = {}
    for r in range(rounds):
        for task, names in tasks.items():
            names = list(names)
            shift = r % len(names)
            for name in names[shift:] + names[:shift]:
                for label, t in workers.ask(name, task).items():
                    times.setdefault(name, {}).setdefault(label, []).append(t)
    return {name: {label: statistics.median(ts) for label, ts in by_label.items()}
            for name, by_label in times.items()}


def script_worker(script: str, *args: str, env: dict | None = None) -> tuple:
    """A Workers command: this Python running `script --worker args...`."""
    return [sys.executable, script, "--worker", *args], env or {}
