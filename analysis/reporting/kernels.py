"""Kernels for the report build, through jupyter_client's public extension point: a kernel provisioner.

The project kernelspec ``kz-injuries`` names :class:`ForkProvisioner` (registered as the entry point
``kz-fork-provisioner`` in ``jupyter_client.kernel_provisioners``). It behaves exactly like jupyter_client's
``LocalProvisioner`` (a fresh ``ipykernel`` process), except inside a build worker connected to the build's
:class:`ZygoteServer`: there the kernel is forked from a process that has already imported pandas, scipy,
statsmodels, seaborn and the study modules, which saves 2-3 s of CPU per report (one zygote per build, started as
soon as the build knows it has work, so its imports overlap the workers' start). JupyterLab and plain papermill never start a
zygote, so for them nothing changes. Where ``fork`` does not exist the zygote is not used.

``python -m analysis.reporting.kernels install`` installs the kernelspec into the current environment (``make``
runs it).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Any

from jupyter_client import protocol_version_info
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from jupyter_client.provisioning import LocalProvisioner
from traitlets import DottedObjectName, Type

from analysis.reporting import KERNEL_NAME

DISPLAY_NAME = "Python (kz-injuries)"
PROVISIONER_NAME = "kz-fork-provisioner"
LOG_ENV = "KZ_KERNEL_LOG"  # the runner names the kernel's log file in the kernel environment


class ZygoteServer:
    """The build's kernel zygote (``python -m analysis.reporting.zygote``): started by the builder, listening on a
    Unix socket its workers connect to (:func:`connect_zygote`). ``stop()`` ends it and every kernel it forked."""

    def __init__(self, modules: Sequence[str], log: str | None = None):
        import socket
        import tempfile

        self._dir = tempfile.mkdtemp(prefix="kz-zygote-")  # short path: Unix socket names are limited to ~100 bytes
        self.address = os.path.join(self._dir, "socket")
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(self.address)
        listener.listen(64)
        out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the zygote keeps its own copy
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "analysis.reporting.zygote", "--listen", str(listener.fileno()), *modules],
                stdin=subprocess.PIPE, stdout=out, stderr=out, close_fds=True, pass_fds=(listener.fileno(),),
            )
        finally:
            listener.close()  # the zygote has its own copy; workers connect by address
            if log:
                out.close()

    def preload(self, modules: Sequence[str]) -> None:
        """Import ``modules`` into the zygote for the kernels it forks from now on (a zygote shared by several
        builds: :func:`shared_zygote`); returns once they are imported.

        Parameters
        ----------
        modules : sequence of str
            Module names. A zygote that has gone away is not an error here: the builds' kernels then start
            plainly.
        """
        with contextlib.suppress(OSError, RuntimeError):
            client = Zygote(self.address)
            try:
                client.preload(modules)
            finally:
                client.close()

    def stop(self, timeout: float = 10) -> None:
        """End the zygote: close its input (it terminates every kernel it forked and exits), wait up to ``timeout``
        seconds, then kill it; remove its socket folder.

        Parameters
        ----------
        timeout : float, default 10
            Seconds to wait for a clean exit.
        """
        import shutil

        with contextlib.suppress(OSError):
            self.proc.stdin.close()  # end of input: the zygote terminates its kernels and exits
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        shutil.rmtree(self._dir, ignore_errors=True)


class Zygote:
    """A worker's connection to the build's :class:`ZygoteServer`."""

    def __init__(self, address: str, reply_timeout: float = 120.0):
        import socket

        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(address)
        self.sock.settimeout(reply_timeout)  # the first reply waits for the zygote's imports
        self.reader = self.sock.makefile("r", encoding="utf-8", newline="\n")
        self._ok = True

    def ready(self) -> bool:
        """Whether the zygote has answered every request so far (after a failure, kernels start plainly).

        Returns
        -------
        bool
        """
        return self._ok

    def spawn(self, argv: list[str], env: Mapping[str, str], cwd: str, log: str | None) -> int:
        """Fork a kernel running ``argv`` (an ipykernel command line).

        Parameters
        ----------
        argv : list of str
            The kernel's command line.
        env : mapping of str to str
            Its whole environment.
        cwd : str
            Its working folder.
        log : str or None
            File receiving its standard output and error.

        Returns
        -------
        int
            The kernel's pid (the leader of its own process group).

        Raises
        ------
        RuntimeError
            The zygote did not answer (timed out or gone); later launches start plain kernels.
        """
        try:
            self.sock.sendall((json.dumps({"argv": argv, "env": dict(env), "cwd": cwd, "log": log}) + "\n").encode())
            reply = self.reader.readline()
        except OSError as exc:  # timeout or a dead zygote
            self._ok = False
            raise RuntimeError(f"kernel zygote: {exc}") from None
        if not reply.strip().isdigit():
            self._ok = False
            raise RuntimeError("kernel zygote exited")
        return int(reply)

    def preload(self, modules: Sequence[str]) -> None:
        """Have the zygote import ``modules`` before it forks any further kernel; returns once it has.

        Parameters
        ----------
        modules : sequence of str
            Module names (one that fails to import is skipped: the notebook's own import reports it).

        Raises
        ------
        RuntimeError
            The zygote did not answer.
        """
        try:
            self.sock.sendall((json.dumps({"import": list(modules)}) + "\n").encode())
            reply = self.reader.readline()
        except OSError as exc:
            self._ok = False
            raise RuntimeError(f"kernel zygote: {exc}") from None
        if reply.strip() != "imported":
            self._ok = False
            raise RuntimeError("kernel zygote exited")

    def close(self) -> None:
        """Close the connection (the zygote then terminates the kernels this connection asked for)."""
        with contextlib.suppress(OSError):
            self.reader.close()
            self.sock.close()


_ZYGOTE: Zygote | None = None


def start_zygote(modules: Sequence[str], log: str | None = None) -> ZygoteServer | None:
    """Start the build's zygote (the builder calls it once, output to ``log``); None where ``fork`` or Unix
    sockets are missing.

    Parameters
    ----------
    modules : sequence of str
        The modules the zygote imports before forking kernels (what the notebooks import).
    log : str, optional
        File receiving the zygote's output.

    Returns
    -------
    ZygoteServer or None
        The running zygote, or None on a platform without ``os.fork`` or ``AF_UNIX`` sockets.
    """
    import socket

    if not hasattr(os, "fork") or not hasattr(socket, "AF_UNIX"):
        return None
    return ZygoteServer(modules, log)


_SHARED: ZygoteServer | None = None


@contextlib.contextmanager
def shared_zygote(modules: Sequence[str], log: str | None = None):
    """One zygote for every build this process runs while the context is open (a test session running dozens of
    small builds, each of which would otherwise start its own zygote and wait for its imports).

    Builds started inside the context connect their workers to this zygote instead of starting one; they leave it
    running. Nothing else changes: every kernel is still a fresh fork with its own namespace.

    Parameters
    ----------
    modules : sequence of str
        What the zygote imports before forking kernels (a superset of what the notebooks built meanwhile import
        is best; a module missing here is imported by the kernel itself, as a fresh kernel would).
    log : str, optional
        File receiving the zygote's output.

    Yields
    ------
    ZygoteServer or None
        The zygote (None where ``fork`` or Unix sockets are missing: builds then start plain kernels).
    """
    global _SHARED
    if _SHARED is not None:
        raise RuntimeError("a shared kernel zygote is already running in this process")
    server = start_zygote(modules, log)
    _SHARED = server
    try:
        yield server
    finally:
        _SHARED = None
        if server is not None:
            server.stop()


def shared() -> ZygoteServer | None:
    """The zygote opened by :func:`shared_zygote` in this process, if any (the builder uses it instead of its own).

    Returns
    -------
    ZygoteServer or None
        The running shared zygote, or None.
    """
    return _SHARED


def connect_zygote(address: str) -> Zygote | None:
    """Connect this process (a build worker) to the build's zygote; None (plain kernels) if that fails.

    Parameters
    ----------
    address : str
        The zygote's Unix socket address (``ZygoteServer.address``).

    Returns
    -------
    Zygote or None
        The connection, kept for this process's kernel launches; None when connecting fails.
    """
    global _ZYGOTE
    try:
        _ZYGOTE = Zygote(address)
    except OSError:
        _ZYGOTE = None
    return _ZYGOTE


def stop_zygote() -> None:
    """Close this process's connection to the build's zygote, if any (later kernels start plainly)."""
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
        """The exit status if the kernel has exited (0: the zygote reaped it, so its status is unknown here), else None.

        Returns
        -------
        int or None
        """
        if self.returncode is None:
            try:
                os.kill(self.pid, 0)  # the zygote reaps its children at once, so a dead kernel's pid is gone
            except ProcessLookupError:
                self.returncode = 0
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        """Wait until the kernel has exited, polling every 20 ms.

        Parameters
        ----------
        timeout : float, optional
            Seconds before ``subprocess.TimeoutExpired``; None waits for ever.

        Returns
        -------
        int
            The exit status (:meth:`poll`).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` to the kernel (nothing if it is gone).

        Parameters
        ----------
        sig : int
            The signal number.
        """
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, sig)

    def terminate(self) -> None:
        """Send SIGTERM."""
        self.send_signal(15)

    def kill(self) -> None:
        """Send SIGKILL."""
        self.send_signal(9)


class ForkProvisioner(LocalProvisioner):
    """``LocalProvisioner`` that forks the kernel from this process's :class:`Zygote` when there is one."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        """Launch the kernel: forked by this process's zygote when there is one and ``cmd`` is an ipykernel
        command line, else as ``LocalProvisioner.launch_kernel`` does (output to the runner's kernel log).

        Parameters
        ----------
        cmd : list of str
            The kernel's command line (from the kernelspec).
        **kwargs
            ``env``, ``cwd`` and the other keyword arguments of ``LocalProvisioner.launch_kernel``.

        Returns
        -------
        dict
            The connection information (``KernelProvisionerBase.connection_info``).
        """
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

    async def kill(self, restart: bool = False) -> None:
        """Kill the kernel (as ``LocalProvisioner.kill``), then wait up to a second, polling every 5 ms, until it is
        gone. The kernel manager checks right after this whether the kernel is still alive and otherwise sleeps
        100 ms before checking again: without the short wait every report would lose those 100 ms.

        Parameters
        ----------
        restart : bool, default False
            Passed on to ``LocalProvisioner.kill``.
        """
        import asyncio

        await super().kill(restart=restart)
        for _ in range(200):
            if self.process is None or self.process.poll() is not None:
                return
            await asyncio.sleep(0.005)


class ReadyClient(AsyncKernelClient):
    """``AsyncKernelClient`` whose ``wait_for_ready`` returns as soon as the kernel is ready.

    jupyter_client's own ``wait_for_ready`` sends ``kernel_info`` until the reply arrives on the shell channel and,
    within 0.2 s of it, a message on IOPub (so IOPub is known to be connected; a subscription that connects late
    misses the message, and the round starts again); then it drains IOPub until 0.2 s pass without a message. That is
    0.2-0.6 s of idle waiting per kernel, most of a small report's kernel time. This one applies the same two
    checks, without the idle waits: IOPub counts as connected at the first message that says so (the kernel's
    ``iopub_welcome``, or the status of one of our requests), and a new ``kernel_info`` goes out every 50 ms until it
    comes. Nothing needs draining: nbclient reads only the messages whose parent is the request it is executing.
    Public API only: a subclass named by the kernel manager's ``client_factory`` trait, overriding a public method.
    """

    def start_channels(self, *args: Any, **kwargs: Any) -> None:
        """Start the channels (as ``AsyncKernelClient.start_channels``), reconnecting every 10 ms instead of ZeroMQ's
        100 ms: a kernel binds its ports only once it runs (10-20 ms after the fork for a zygote's kernel), and a
        connection attempted before that would otherwise wait a whole 100 ms to be tried again.

        Parameters
        ----------
        *args, **kwargs
            Which channels to start, as for ``KernelClient.start_channels``.
        """
        import zmq

        self.context.setsockopt(zmq.RECONNECT_IVL, 10)
        super().start_channels(*args, **kwargs)

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        """Wait until the kernel answered ``kernel_info`` on the shell channel and IOPub is connected.

        Parameters
        ----------
        timeout : float, optional
            Seconds before giving up with ``RuntimeError``; None waits as long as the kernel lives.

        References
        ----------
        .. [1] Jupyter, "Messaging in Jupyter": kernel info, kernel status, IOPub welcome message,
           https://jupyter-client.readthedocs.io/en/stable/messaging.html
        """
        from queue import Empty

        deadline = time.monotonic() + (float("inf") if timeout is None else timeout)

        def check() -> None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"Kernel didn't respond in {timeout:g} seconds")

        requests, sent = {self.kernel_info()}, time.monotonic()
        while True:  # the reply on the shell channel
            try:
                reply = await self.shell_channel.get_msg(timeout=0.1)
            except Empty:
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info") from None
                check()
                if time.monotonic() - sent >= 1:  # as jupyter_client does: ask again every second
                    requests.add(self.kernel_info())
                    sent = time.monotonic()
                continue
            if reply["msg_type"] == "kernel_info_reply" and reply["parent_header"].get("msg_id") in requests:
                break
        version = int(reply["content"]["protocol_version"].split(".")[0])
        if version != protocol_version_info[0]:  # what jupyter_client does with the reply
            self.session.adapt_version = version
        while True:  # a message on IOPub showing the subscription is live
            try:
                msg = await self.iopub_channel.get_msg(timeout=0.05)
            except Empty:
                if not await self.is_alive():
                    raise RuntimeError("Kernel died before its IOPub channel connected") from None
                check()
                requests.add(self.kernel_info())  # its status messages will come once IOPub is connected
                continue
            if msg["msg_type"] == "iopub_welcome" or msg["parent_header"].get("msg_id") in requests:
                return


class BuildKernelManager(AsyncKernelManager):
    """nbclient's kernel manager, with :class:`ReadyClient` as its client (passed to papermill as
    ``kernel_manager_class``, a documented ``NotebookClient`` trait)."""

    client_class = DottedObjectName("analysis.reporting.kernels.ReadyClient")
    client_factory = Type(ReadyClient, klass=AsyncKernelClient)


def install(prefix: str | None = None) -> str:
    """Install the ``kz-injuries`` kernelspec (ipykernel's, plus the provisioner) into ``prefix``
    (sys.prefix).

    Parameters
    ----------
    prefix : str, optional
        The installation prefix; default ``sys.prefix`` (the virtual environment).

    Returns
    -------
    str
        The kernelspec's folder.

    References
    ----------
    .. [1] jupyter_client, "Kernel Provisioning",
       https://jupyter-client.readthedocs.io/en/stable/provisioning.html
    """
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
