"""The build's kernel manager (analysis.reporting.kernels): a client that is ready without idling, a provisioner
whose kill returns once the kernel is gone. Real kernels (plain ipykernel processes, no zygote), so these also show
that the quick readiness check leaves nothing out: the first request's output arrives on IOPub."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time

import pytest
import zmq
from jupyter_client.connect import write_connection_file
from jupyter_client.session import Session

from analysis.reporting import KERNEL_NAME
from analysis.reporting.kernels import BuildKernelManager, ReadyClient

pytestmark = pytest.mark.notebook


def run(coro):
    return asyncio.run(coro)


async def started(**kw) -> tuple[BuildKernelManager, ReadyClient]:
    km = BuildKernelManager(kernel_name=KERNEL_NAME)
    await km.start_kernel(**kw)
    kc = km.client()
    assert isinstance(kc, ReadyClient)
    kc.start_channels()
    return km, kc


async def execute(kc: ReadyClient, code: str) -> list[dict]:
    """Execute ``code`` and return every IOPub message of that request, up to its idle status."""
    msg_id = kc.execute(code)
    seen = []
    while True:
        msg = await kc.get_iopub_msg(timeout=30)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        seen.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return seen


def test_a_ready_kernel_delivers_the_first_requests_output_and_killing_it_waits_until_gone(tmp_path):
    async def go():
        km, kc = await started(cwd=str(tmp_path))
        try:
            await kc.wait_for_ready(timeout=60)
            # Ready means IOPub is connected: the very first execution's busy status and output are not lost.
            msgs = await execute(kc, "import os; print('hello from', os.getcwd())")
            kinds = [m["msg_type"] for m in msgs]
            assert kinds[0] == "status" and msgs[0]["content"]["execution_state"] == "busy"
            assert any(m["msg_type"] == "stream" and m["content"]["text"] == f"hello from {tmp_path}\n"
                       for m in msgs), kinds
            reply = await kc.get_shell_msg(timeout=30)
            while reply["msg_type"] != "execute_reply":  # kernel_info replies to the readiness probes
                assert reply["msg_type"] == "kernel_info_reply"
                reply = await kc.get_shell_msg(timeout=30)
            assert reply["content"]["status"] == "ok"
        finally:
            kc.stop_channels()
            pid = km.provisioner.pid
            await km.provisioner.kill()
            # kill() returns once the process is gone, so the manager's next liveness check needs no 0.1 s sleep.
            assert await km.provisioner.poll() is not None
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
            await km.shutdown_kernel(now=True)

    run(go())


def test_a_kernel_that_dies_before_answering_is_named(tmp_path):
    async def go():
        km, kc = await started(cwd=str(tmp_path))
        try:
            os.killpg(km.provisioner.pid, signal.SIGKILL)  # at once: it cannot have bound its ports yet
            with pytest.raises(RuntimeError, match="Kernel died before"):
                await kc.wait_for_ready(timeout=30)
        finally:
            kc.stop_channels()
            await km.shutdown_kernel(now=True)

    run(go())


def test_no_kernel_at_all_times_out_with_the_timeout_named(tmp_path):
    """A client whose connection file names ports nobody listens on (no manager: it counts as alive)."""
    path, _info = write_connection_file(str(tmp_path / "kernel-none.json"))

    async def go():
        kc = ReadyClient(connection_file=path)
        kc.load_connection_file()
        kc.start_channels(hb=False)
        try:
            with pytest.raises(RuntimeError, match=r"didn't respond in 0\.3 seconds"):
                await kc.wait_for_ready(timeout=0.3)
        finally:
            kc.stop_channels()

    run(go())


class SlowIOPubKernel(threading.Thread):
    """A stand-in kernel that answers ``kernel_info`` on its shell socket at once but binds its IOPub socket only
    after ``delay`` seconds (a slow-joining IOPub, which jupyter_client's readiness check exists for). Once bound it
    publishes the busy/idle status of every request, as a kernel does."""

    def __init__(self, info: dict, delay: float):
        super().__init__(daemon=True)
        self.info, self.delay = info, delay
        self.iopub_bound_at: float | None = None
        self.stop = threading.Event()

    def run(self):
        ctx = zmq.Context()
        session = Session(key=self.info["key"].encode(), signature_scheme=self.info["signature_scheme"])
        shell = ctx.socket(zmq.ROUTER)
        shell.bind(f"tcp://127.0.0.1:{self.info['shell_port']}")
        iopub = None
        start = time.monotonic()
        try:
            while not self.stop.is_set():
                if iopub is None and time.monotonic() - start >= self.delay:
                    iopub = ctx.socket(zmq.PUB)
                    iopub.bind(f"tcp://127.0.0.1:{self.info['iopub_port']}")
                    self.iopub_bound_at = time.monotonic()
                if not shell.poll(10):
                    continue
                idents, msg = session.recv(shell, mode=zmq.NOBLOCK)
                if msg["header"]["msg_type"] != "kernel_info_request":
                    continue
                if iopub is not None:
                    session.send(iopub, "status", {"execution_state": "busy"}, parent=msg)
                session.send(shell, "kernel_info_reply", {"status": "ok", "protocol_version": "5.3"}, parent=msg,
                             ident=idents)
                if iopub is not None:
                    session.send(iopub, "status", {"execution_state": "idle"}, parent=msg)
        finally:
            ctx.destroy(linger=0)


def test_ready_waits_for_a_slow_joining_iopub(tmp_path):
    path, info = write_connection_file(str(tmp_path / "kernel-slow.json"))
    kernel = SlowIOPubKernel(info, delay=0.3)
    kernel.start()

    async def go():
        kc = ReadyClient(connection_file=path)
        kc.load_connection_file()
        kc.start_channels(hb=False)
        try:
            await kc.wait_for_ready(timeout=10)
            return time.monotonic()
        finally:
            kc.stop_channels()

    try:
        ready_at = run(go())
    finally:
        kernel.stop.set()
        kernel.join(5)
    # The shell reply came within milliseconds; ready had to wait for IOPub, bound 0.3 s later.
    assert kernel.iopub_bound_at is not None and ready_at > kernel.iopub_bound_at
