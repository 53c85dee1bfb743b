"""A kernel zygote: a process that imports the notebooks' modules once, then forks one fresh kernel per request.

The report build starts one per build (``analysis.reporting.kernels.ZygoteServer``) as soon as it knows it has work,
so the imports run while the build warms up and its workers start; every worker connects to it. Run as
``python -m analysis.reporting.zygote --listen FD MODULE [MODULE ...]`` with ``FD`` a listening Unix socket.
Protocol, one JSON object or number per line on each connection:

- each request ``{"argv": [...], "env": {...}, "cwd": "...", "log": "..."}`` is an ipykernel command line; the zygote
  forks, the child becomes that kernel (its own process group, stdout/stderr to ``log``) and the zygote answers with
  the child's pid (requests wait in the socket's queue while the imports run);
- a request ``{"import": [MODULE, ...]}`` imports more modules for the kernels forked after it (a zygote shared by
  several builds learns each build's modules) and is answered with ``imported``;
- when a connection closes (its worker finished or died) the zygote terminates the kernels it asked for;
- at end of input on stdin (the build is gone) the zygote terminates every kernel and exits.

Every kernel is a separate process with its own namespace; nothing is shared at run time except the pages of the
modules imported before the fork. The zygote dies with the build (Linux parent-death signal), and each kernel dies
with the zygote (ipykernel's parent poller, plus the same signal), so killing a build leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys


def die_with_parent(sig: int = signal.SIGTERM) -> None:
    """Ask Linux to send ``sig`` to this process when its parent exits (no-op elsewhere).

    Parameters
    ----------
    sig : int, default signal.SIGTERM
        The signal (``prctl(PR_SET_PDEATHSIG)``).

    References
    ----------
    .. [1] Linux man-pages, "prctl(2)": PR_SET_PDEATHSIG, https://man7.org/linux/man-pages/man2/prctl.2.html
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(sig), 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - exotic libc
        pass


def _kernel_child(spec: dict, zygote_pid: int) -> None:
    """Become the kernel described by ``spec`` (runs in the forked child; never returns normally)."""
    os.setsid()  # like jupyter_client's launcher: the kernel leads its own process group
    die_with_parent()
    for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # interrupts reach the kernel
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(spec["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644) if spec.get("log") else 2
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    _std_streams()
    os.chdir(spec["cwd"])
    os.environ.clear()
    os.environ.update(spec["env"])
    os.environ["JPY_PARENT_PID"] = str(zygote_pid)
    if "numpy" in sys.modules:  # a fresh kernel seeds numpy's global generator from the OS; so must a forked one
        sys.modules["numpy"].random.seed()
    argv = list(spec["argv"])
    args = argv[argv.index("ipykernel_launcher") + 1:] if "ipykernel_launcher" in argv else argv[1:]
    args.append(f"--IPKernelApp.parent_handle={zygote_pid}")  # exit with the zygote
    sys.argv = ["ipykernel_launcher", *args]
    from ipykernel.kernelapp import IPKernelApp

    IPKernelApp.launch_instance(argv=args)


def _std_streams() -> None:
    """Point sys.std* at fds 0-2 (the zygote's own streams belong to the protocol)."""
    for n, name in enumerate(("stdin", "stdout", "stderr")):
        stream = open(n, "r" if n == 0 else "w", buffering=1, encoding="utf-8",  # noqa: SIM115
                      errors="backslashreplace", closefd=False)
        setattr(sys, name, stream)
        setattr(sys, f"__{name}__", stream)


_RUNNING: set[int] = set()  # kernels forked and not yet reaped


def _serve(listener: socket.socket, proto_in, zygote_pid: int) -> None:
    """Accept workers on ``listener``; fork a kernel per request line; end at EOF on ``proto_in``."""
    import selectors

    sel = selectors.DefaultSelector()
    listener.setblocking(False)
    sel.register(listener, selectors.EVENT_READ, "accept")
    sel.register(proto_in, selectors.EVENT_READ, "parent")
    buffers: dict[socket.socket, bytes] = {}
    owned: dict[socket.socket, set[int]] = {}

    def close(conn: socket.socket) -> None:
        sel.unregister(conn)
        for pid in owned.pop(conn, set()) & _RUNNING:  # the worker is gone: take its kernels along
            with contextlib.suppress(OSError):
                os.killpg(pid, signal.SIGTERM)
        buffers.pop(conn, None)
        conn.close()

    while True:
        for key, _ in sel.select():
            if key.data == "parent":
                if not os.read(proto_in.fileno(), 4096):  # the build closed our stdin: it is done, or gone
                    for conn in list(owned):
                        close(conn)
                    return
            elif key.data == "accept":
                with contextlib.suppress(BlockingIOError):
                    conn, _ = listener.accept()
                    conn.setblocking(True)
                    sel.register(conn, selectors.EVENT_READ, "client")
                    buffers[conn], owned[conn] = b"", set()
            else:
                conn = key.fileobj
                data = conn.recv(1 << 16)
                if not data:
                    close(conn)
                    continue
                buffers[conn] += data
                while b"\n" in buffers[conn]:
                    line, buffers[conn] = buffers[conn].split(b"\n", 1)
                    spec = json.loads(line)
                    if "import" in spec:  # more modules for the kernels forked from now on
                        _import(spec["import"])
                        conn.sendall(b"imported\n")
                        continue
                    pid = _fork_kernel(spec, zygote_pid, [listener, conn, proto_in, *owned])
                    _RUNNING.add(pid)
                    owned[conn].add(pid)
                    conn.sendall(f"{pid}\n".encode())


def _import(modules: list[str]) -> None:
    """Import ``modules`` into the zygote (errors ignored: the notebook's own import reports a broken module
    properly), then freeze what is in memory so the kernels share its pages (no copy-on-write by the collector)."""
    import gc
    import importlib

    for name in modules:
        with contextlib.suppress(BaseException):
            importlib.import_module(name)
    gc.collect()
    gc.freeze()


def _fork_kernel(spec: dict, zygote_pid: int, close_in_child: list) -> int:
    pid = os.fork()
    if pid:
        return pid
    code = 0
    try:
        for obj in close_in_child:
            with contextlib.suppress(OSError):
                obj.close()
        _kernel_child(spec, zygote_pid)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave the zygote's stack
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        os._exit(code)


def main(argv: list[str]) -> int:
    """Entry point of the zygote process: import the modules once, then fork a kernel for each request.

    Parameters
    ----------
    argv : list of str
        ``["--listen", FD, MODULE, ...]``: the inherited listening socket's file descriptor and the modules to
        import ahead of time.

    Returns
    -------
    int
        0 after serving; 2 (with a usage line on standard error) when ``argv`` is malformed.
    """
    if argv[:1] != ["--listen"] or len(argv) < 2:
        print("usage: python -m analysis.reporting.zygote --listen FD MODULE ...", file=sys.stderr)
        return 2
    listener = socket.socket(fileno=int(argv[1]))
    modules = argv[2:]
    die_with_parent()
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")  # what ipykernel sets
    proto_in = sys.stdin
    os.dup2(2, 1)  # anything the imports print goes to the log
    # ipykernel's kernel, shell and debugger modules too: a kernel imports them while it initialises (the debugger
    # pulls in debugpy, about 0.1 s), so importing them here once saves that in every kernel.
    _import(["ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger", *modules])
    zygote_pid = os.getpid()

    def reap(*_):
        while True:
            try:
                pid, _status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            _RUNNING.discard(pid)

    signal.signal(signal.SIGCHLD, reap)
    _serve(listener, proto_in, zygote_pid)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
