"""What machine a benchmark ran on, printed with every figure (figures without it mean little)."""

from __future__ import annotations

import os
import platform
import time


def describe() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            kb = int(f.readline().split()[1])
            mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    return (f"machine: {cpu}, {os.cpu_count()} cores{mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}; core speed {core_speed():.1f} M Python loop steps/s")


def core_speed(steps: int = 2_000_000) -> float:
    """Million steps/s of a plain Python loop, on CPU time (best of 3).

    The shared build machines run on different hosts from day to day: "AMD EPYC, 2 cores" was
    measured running the same engine 1,500/s one day and 2,500/s another. Figures from two runs
    compare only next to this number (roughly proportional to it).
    """
    best = 0.0
    for _ in range(3):
        started = time.process_time()
        total = 0
        for i in range(steps):
            total += i
        best = max(best, steps / max(time.process_time() - started, 1e-9) / 1e6)
    return best

