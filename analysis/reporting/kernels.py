"""Kernels for the report build, through jupyter_client's public extension point: a kernel provisioner.

The project kernelspec ``kz-injuries`` names :class:`ForkProvisioner` (registered as the entry point
``kz-fork-provisioner`` in ``jupyter_client.kernel_provisioners``). It behaves exactly like jupyter_client's
``LocalProvisioner`` (a fresh ``ipykernel`` process), except inside a build worker that has started a
:class:`Zygote`: there the kernel is forked from a process that has already imported pandas, scipy, statsmodels,
seaborn and the study modules, which saves 2-3 s of CPU per report. JupyterLab and plain papermill never start a
zygote, so for them nothing changes. Where ``fork`` does not exist the zygote is not used.

``python -m analysis.reporting.kernels install`` installs the kernelspec into the current environment (``make``
runs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_client.provisioning import LocalProvisioner

from analysis.reporting import KERNEL_NAME

DISPLAY_NAME = "Python (kz-injuries)"
PROVISIONER_NAME = "kz-fork-provisioner"
LOG_ENV = "KZ_KERNEL_LOG"  # the runner names the kernel's log file in the kernel environment


class Zygote:
    """Client of a ``python -m analysis.reporting.zygote`` process (one per build worker)."""

    def __init__(self, modules: Sequence[str], ready_timeout: float = 120.0):
        self.ready_timeout = ready_timeout
        self._ready: bool | None = None
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "analysis.reporting.zygote", *modules],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1, close_fds=True,
        )

    def ready(self) -> bool:
        """Wait (once) for the imports; False if the zygote died or took too long."""
        if self._ready is None:
            ok, _, _ = select.select([self.proc.stdout], [], [], self.ready_timeout)
            self._ready = bool(ok) and self.proc.stdout.readline().strip() == "ready"
        return self._ready

    def spawn(self, argv: list[str], env: Mapping[str, str], cwd: str, log: str | None) -> int:
        """Fork a kernel running ``argv`` (an ipykernel command line); its pid (a process-group leader)."""
        self.proc.stdin.write(json.dumps({"argv": argv, "env": dict(env), "cwd": cwd, "log": log}) + "\n")
        reply = self.proc.stdout.readline()
        if not reply.strip().isdigit():
            self._ready = False
            raise RuntimeError("kernel zygote exited")
        return int(reply)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)


_ZYGOTE: Zygote | None = None


def start_zygote(modules: Sequence[str]) -> Zygote | None:
    """Start this process's zygote (build workers call it once); None where ``fork`` is unavailable."""
    global _ZYGOTE
    if not hasattr(os, "fork"):
        return None
    _ZYGOTE = Zygote(modules)
    return _ZYGOTE


def stop_zygote() -> None:
    global _ZYGOTE
    if _ZYGOTE is not None:
        _ZYGOTE.close()
        _ZYGOTE = None


class ForkedKernel:
    """The part of ``subprocess.Popen`` a provisioner needs, for a kernel forked by the zygote (not our child)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)  # the zygote reaps its children at once, so a dead kernel's pid is gone
            except ProcessLookupError:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(15)

    def kill(self) -> None:
        self.send_signal(9)


class ForkProvisioner(LocalProvisioner):
    """``LocalProvisioner`` that forks the kernel from this process's :class:`Zygote` when there is one."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        env = kwargs.get("env") or dict(os.environ)
        log = env.get(LOG_ENV)
        zygote = _ZYGOTE
        if zygote is not None and any("ipykernel" in part for part in cmd) and zygote.ready():
            try:
                pid = zygote.spawn(list(cmd), env, str(kwargs.get("cwd") or os.getcwd()), log)
            except (OSError, RuntimeError, ValueError):
                pass  # an ordinary kernel below
            else:
                self.process = ForkedKernel(pid)  # type: ignore[assignment]
                self.pid = self.pgid = pid
                self.cwd = kwargs.get("cwd")
                return self.connection_info
        if log and "stdout" not in kwargs:
            fh = open(log, "ab")  # noqa: SIM115 - the kernel process keeps its own copy of the descriptor
            kwargs = {**kwargs, "stdout": fh, "stderr": fh}
            try:
                return await super().launch_kernel(cmd, **kwargs)
            finally:
                fh.close()
        return await super().launch_kernel(cmd, **kwargs)


def install(prefix: str | None = None) -> str:
    """Install the ``kz-injuries`` kernelspec (ipykernel's, plus the provisioner) into ``prefix`` (sys.prefix)."""
    from ipykernel.kernelspec import install as ipykernel_install

    dest = ipykernel_install(kernel_name=KERNEL_NAME, display_name=DISPLAY_NAME, prefix=prefix or sys.prefix)
    path = os.path.join(dest, "kernel.json")
    with open(path, encoding="utf-8") as fh:
        spec = json.load(fh)
    spec.setdefault("metadata", {})["kernel_provisioner"] = {"provisioner_name": PROVISIONER_NAME, "config": {}}
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(spec, fh, indent=1)
    return dest


if __name__ == "__main__":
    if sys.argv[1:] != ["install"]:
        sys.exit("usage: python -m analysis.reporting.kernels install")
    print(install())
