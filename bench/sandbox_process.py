"""The sandbox a bench measures against: in a process of its own (``python -m sandbox``), as
Stripe is a remote server, or in the bench's own process (``start_background``, the old way).

Either way the bench controls it over HTTP only (``sandbox.client.Simulator``: the fault rate,
the rate limit, the request log), so both ways measure the same thing but the sharing of one
interpreter (one GIL) between the job, the loops and the server. ``measured`` times a part of a
bench in wall time and in the CPU of both processes (``Cost``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from sandbox.client import Simulator

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]
Call = tuple[str, str, str, dict[str, str]]  # method, path, query, headers a replay needs


@dataclass
class BenchSandbox:
    base_url: str
    seed_seconds: float  # from start to answering: seeding the world is most of it
    process: subprocess.Popen[str] | None = None  # None: in this process
    handle: Any | None = None  # the in-process handle (None in its own process)
    refused: int = 0  # 429s answered during the last ``recording``
    control: Simulator = field(init=False)

    def __post_init__(self) -> None:
        self.control = Simulator(self.base_url, timeout=120)

    @property
    def where(self) -> str:
        return f"own process (pid {self.process.pid})" if self.process else "this process"

    def cpu_seconds(self) -> float | None:
        """User + system CPU the sandbox's process has used (None when it is this process:
        its CPU is then part of the bench's own)."""
        if self.process is None:
            return None
        stat = Path(f"/proc/{self.process.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": state is field 3
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.handle is not None:
            self.handle.stop()
        if self.process is not None:
            self.process.terminate()  # SIGTERM: ``python -m sandbox`` stops its server
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    @contextmanager
    def recording(self) -> Iterator[list[Call]]:
        """The /v1 requests the sandbox serves in the block, filled in when it ends (fetched
        after the block: not part of what it times). ``self.refused``: how many got 429."""
        log: list[Call] = []
        self.control.record_requests(True)
        try:
            yield log
        finally:
            self.control.record_requests(False)
            recorded = self.control.recorded_requests()
            self.refused = int(recorded["refused"])
            log.extend((e["method"], e["path"], e["query"], e["headers"]) for e in recorded["data"])

    @contextmanager
    def fault_rate(self, rate: float) -> Iterator[None]:
        self.control.set_fault_rate(rate)
        try:
            yield
        finally:
            self.control.set_fault_rate(0)

    @contextmanager
    def rate_limit(self, per_second: float) -> Iterator[None]:
        self.control.set_rate_limit(per_second)
        try:
            yield
        finally:
            self.control.set_rate_limit(0)


def start_process(customers: int, *, seed: int = 42) -> BenchSandbox:
    """``python -m sandbox`` on a free loopback port, configured as the app's in-process sandbox
    in the bench (refresh delay 0, test-mode ACH); returns once it answers."""
    began = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable, "-m", "sandbox", "--port", "0", "--seed", str(seed),
            "--customers", str(customers), "--refresh-delay", "0", "--ach-mode", "test",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:  # "Stripe sandbox ready at http://127.0.0.1:PORT" once seeded
        if "ready at" in line:
            base_url = line.rsplit(" ", 1)[1].strip()
            break
    else:
        process.kill()
        raise RuntimeError(f"the sandbox process exited ({process.wait()}) before answering")
    sandbox = BenchSandbox(base_url, time.perf_counter() - began, process=process)
    if sandbox.control.health().get("customers", 0) < customers:
        sandbox.stop()
        raise RuntimeError("the sandbox process answered without its customers")
    return sandbox


def in_process(handle: Any, seed_seconds: float) -> BenchSandbox:
    """The sandbox ``bootstrap.build_app`` started in this process."""
    return BenchSandbox(handle.base_url, seed_seconds, handle=handle)


@dataclass
class Cost:
    """What one timed part cost: wall time, the bench process's CPU (every thread: the job's,
    the loop's; and the sandbox's when it runs in this process), the sandbox process's CPU."""

    name: str
    wall: float
    cpu: float
    sandbox_cpu: float | None

    @property
    def total(self) -> float:
        """CPU of both processes (the bench's alone when the sandbox runs in it)."""
        return self.cpu + (self.sandbox_cpu or 0.0)

    def line(self) -> str:
        own = "-" if self.sandbox_cpu is None else f"{self.sandbox_cpu:.2f} s"
        return (
            f"{self.name}: wall {self.wall:.2f} s, bench CPU {self.cpu:.2f} s "
            f"({self.cpu / self.wall:.2f} of wall), sandbox process CPU {own}"
        )


def measured(costs: list[Cost], sb: BenchSandbox, name: str, run: Callable[[], T]) -> T:
    """``run()``, its wall and CPU time appended to ``costs``."""
    sandbox_before = sb.cpu_seconds()
    cpu_before, began = time.process_time(), time.perf_counter()
    result = run()
    wall, cpu = time.perf_counter() - began, time.process_time() - cpu_before
    sandbox_after = sb.cpu_seconds()
    sandbox_cpu = None if sandbox_before is None or sandbox_after is None else sandbox_after - sandbox_before
    costs.append(Cost(name, wall, cpu, sandbox_cpu))
    return result
