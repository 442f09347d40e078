"""What a process and the processes it started hold, read from /proc (Linux).

A rebuild makes its documents in processes it forks, whose pages are the parent's until either
writes them: adding their resident memories would count the shared pages once per process. The
proportional set size (Pss) counts a shared page once, split between those sharing it, so the
Pss of a tree of processes, added, is what the tree holds."""
from __future__ import annotations

import re
import threading
import time
from pathlib import Path


def tree(pid: int) -> list[int]:
    """`pid` and its descendants."""
    pids, i = [pid], 0
    while i < len(pids):
        for task in Path(f"/proc/{pids[i]}/task").glob("*/children"):
            try:
                pids += [int(child) for child in task.read_text().split()]
            except FileNotFoundError:  # a thread or process that has just ended
                pass
        i += 1
    return pids


def peak_resident_mb(pids: list[int]) -> float:
    """The peak resident memory of each of `pids` (VmHWM), added up: an upper bound where they
    share pages."""
    return sum(_kb(pid, "status", r"^VmHWM:\s+(\d+) kB") for pid in pids) / 1024


class TreePeak:
    """Samples the Pss of a process and its descendants, added, every `every` seconds while in
    the `with` block; `mb` is the highest sample (a peak shorter than `every` may be missed).
    The kernel walks a process's pages to count its Pss (some 25 ms for 2 GB), so a sample
    waits at least twenty times as long as the last one took: the sampling then takes no more
    than a twentieth of a core from what it measures (sampling every 0.25 s, it took 14 s of
    a core during a rebuild of 1,000,000 variables on two cores)."""

    def __init__(self, pid: int, every: float = 0.25):
        self.pid, self.every, self.mb = pid, every, 0.0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._done.set()
        self._thread.join()

    def _sample(self) -> None:
        while True:
            started = time.perf_counter()
            self.mb = max(self.mb, sum(_kb(pid, "smaps_rollup", r"^Pss:\s+(\d+) kB") for pid in tree(self.pid)) / 1024)
            if self._done.wait(max(self.every, 20 * (time.perf_counter() - started))):
                return


def _kb(pid: int, name: str, pattern: str) -> int:
    try:
        text = Path(f"/proc/{pid}/{name}").read_text()
    except (FileNotFoundError, ProcessLookupError):  # ended since it was listed
        return 0
    found = re.search(pattern, text, re.M)
    return int(found[1]) if found else 0
