"""The programs the import gate runs in a child interpreter (``python -I -B -c PROGRAM``).

They are source text, not modules of this package: the child may be another interpreter (the
target repository's), so they use only the standard library and stay importable by Python 3.8.

* ``COMMON``: entering the sandbox (user, network and mount namespaces; a read-only filesystem
  except the scratch directory) and importing one batch of the repo's modules.
* ``ONE_SHOT``: one batch in one child, for an interpreter without a working server.
* ``SERVER``: a forking server. It imports third-party packages once, then forks a child per
  check, which imports the repo's modules afresh. Two transports:

  - ``pipe SCRATCH``: one request a line on stdin, one reply a line on stdout; it lives as long
    as the run that started it;
  - ``socket SCRATCH SOCKET LOCK IDLE``: a server kept between runs. It holds ``LOCK`` (flock)
    while alive, listens on the Unix socket ``SOCKET`` (the client made its folder 0700, and the
    server answers only its own uid), serves one connection at a time, and exits after ``IDLE``
    seconds without a request, on a ``stop`` request, or as soon as a file it imported, an entry
    of ``sys.path`` or the interpreter changed (it answers ``stale`` and the client starts a fresh
    one), so a kept server never answers with code a fresh import would not load.
"""

from __future__ import annotations

COMMON = r'''
import ctypes, importlib, json, os, sys, traceback

CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET = 0x00020000, 0x10000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
MS_NOATIME, MS_NODIRATIME, MS_RELATIME = 1024, 2048, 1 << 21
_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC, "noatime": MS_NOATIME,
          "nodiratime": MS_NODIRATIME, "relatime": MS_RELATIME}


def _write(path, text):
    with open(path, "w") as handle:
        handle.write(text)


def sandbox(scratch):
    """Enter user+net(+mount) namespaces; a description of what was achieved."""
    if not sys.platform.startswith("linux"):
        return "none (no namespaces on " + sys.platform + ")"
    try:
        libc = ctypes.CDLL(None, use_errno=True)
    except OSError as err:
        return "none (no libc: %s)" % err
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(CLONE_NEWUSER | CLONE_NEWNET | CLONE_NEWNS) != 0:
        error = os.strerror(ctypes.get_errno())
        if libc.unshare(CLONE_NEWNET) == 0:
            return "net namespace (no user namespace: %s)" % error
        return "none (unshare unavailable: %s)" % error
    try:  # the same uid inside, so the repo stays readable as before
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", "%d %d 1" % (uid, uid))
        _write("/proc/self/gid_map", "%d %d 1" % (gid, gid))
    except OSError:
        pass
    described = "user+net+mount namespaces"
    mount = libc.mount
    mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_void_p]
    if mount(None, b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return described + " (filesystem writable: %s)" % os.strerror(ctypes.get_errno())
    scratch_bytes = os.fsencode(scratch)
    if mount(scratch_bytes, scratch_bytes, None, MS_BIND, None) != 0:
        return described + " (filesystem writable: %s)" % os.strerror(ctypes.get_errno())
    kept = []
    with open("/proc/self/mountinfo") as handle:
        rows = [line.split() for line in handle]
    for row in rows:
        point = row[4].encode().decode("unicode_escape").encode("latin-1")
        if point == scratch_bytes or point == b"/dev" or point.startswith(b"/dev/"):
            continue
        flags = MS_REMOUNT | MS_BIND | MS_RDONLY
        for option in row[5].split(","):
            flags |= _FLAGS.get(option, 0)
        if mount(None, point, None, flags, None) != 0:
            kept.append(row[4])
    if kept:
        return described + " (read-only filesystem except %d mount(s): %s)" % (len(kept), ", ".join(kept[:3]))
    return described + " (read-only filesystem except the scratch directory and /dev)"


def import_batch(root, modules):
    sys.path.insert(0, root)
    owned = {n[:-3] if n.endswith(".py") else n for n in os.listdir(root)}
    for name in list(sys.modules):  # a preloaded package must not stand in for the repo's own
        if name.split(".")[0] in owned:
            del sys.modules[name]
    results = []
    for module in modules:
        try:
            imported = importlib.import_module(module)
            results.append({"module": module, "ok": True, "names": sorted(vars(imported))})
        except ModuleNotFoundError as err:
            results.append({"module": module, "ok": False, "kind": "missing", "name": err.name or "",
                            "detail": str(err)})
        except BaseException as err:
            tb = traceback.extract_tb(err.__traceback__)
            frame = tb[-1] if tb else None
            where = "%s:%s: " % (frame.filename, frame.lineno) if frame else ""
            results.append({"module": module, "ok": False, "kind": "error",
                            "detail": where + type(err).__name__ + ": " + str(err)})
    return results
'''

# One-shot child: python -I -B -c ONE_SHOT SCRATCH ROOT MODULE...
ONE_SHOT = (
    COMMON
    + r"""
isolation = sandbox(sys.argv[1])
os.chdir(sys.argv[2])
print(json.dumps({"isolation": isolation, "results": import_batch(sys.argv[2], sys.argv[3:])}))
"""
)

# The server: python -I -B -c SERVER pipe SCRATCH | socket SCRATCH SOCKET LOCK IDLE
SERVER = (
    COMMON
    + r'''
import select, shutil, signal, socket, struct, time

NULL = os.open(os.devnull, os.O_RDWR)
MAX_REQUEST = 1 << 24


def preload(names):
    for name in names:
        try:
            importlib.import_module(name)
        except BaseException:
            pass  # the check itself reports it


def new_pid_namespace():
    """Whether the next fork starts a PID namespace (inside the server's user namespace)."""
    try:
        return ctypes.CDLL(None, use_errno=True).unshare(0x20000000) == 0  # CLONE_NEWPID
    except (OSError, AttributeError):
        return False


def check(request, scratch, isolation, private_fds):
    """Fork a child that imports the request's modules; its reply (killed after the timeout)."""
    preload(request.get("preload", ()))
    home = os.path.join(scratch, "check")  # every check starts with an empty HOME and TMPDIR
    shutil.rmtree(home, ignore_errors=True)
    os.mkdir(home, 0o700)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.setpgid(0, 0)  # whatever the imported code starts dies with the check
        os.close(read_end)
        for fd in private_fds:  # the server's own channels are not the imported code's
            try:
                os.close(fd)
            except OSError:
                pass
        for fd in (0, 1, 2):
            os.dup2(NULL, fd)
        if new_pid_namespace():  # the check runs as its PID 1: when it ends, the kernel kills
            inner = os.fork()    # every process it left, even one that called setsid
            if inner:
                os.close(write_end)
                os.waitpid(inner, 0)
                os._exit(0)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.environ["HOME"] = os.environ["TMPDIR"] = home
        if "tempfile" in sys.modules:
            sys.modules["tempfile"].tempdir = None
        importlib.invalidate_caches()
        try:
            os.chdir(request["root"])
            body = json.dumps({"isolation": isolation,
                               "results": import_batch(request["root"], request["modules"])})
        except BaseException as err:
            body = json.dumps({"isolation": isolation, "error": repr(err)})
        with os.fdopen(write_end, "w") as out:
            out.write(body)
        os._exit(0)
    os.close(write_end)
    try:
        os.setpgid(pid, pid)  # here too: the child may not have run yet
    except OSError:
        pass
    chunks, deadline, timed_out = [], time.monotonic() + request["timeout"], False
    while True:
        left = deadline - time.monotonic()
        ready = select.select([read_end], [], [], max(left, 0))[0] if left > 0 else []
        if not ready:
            timed_out = True
            break
        chunk = os.read(read_end, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_end)
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except OSError:
            pass
    os.waitpid(pid, 0)
    shutil.rmtree(home, ignore_errors=True)
    if timed_out:
        return {"isolation": isolation, "timeout": True}
    text = b"".join(chunks).decode("utf-8", "replace")
    return json.loads(text) if text else {"isolation": isolation, "error": "the check died"}


def serve_pipe(scratch):
    isolation = sandbox(scratch)
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(NULL, 1)  # whatever imported code prints must not reach the protocol
    send = lambda value: (protocol.write(json.dumps(value) + "\n"), protocol.flush())
    send({"ready": True, "isolation": isolation})
    for line in sys.stdin:
        send(check(json.loads(line), scratch, isolation, [protocol.fileno()]))


def stamp(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_mtime_ns, st.st_size, st.st_ino]


def imported_files(known):
    """Add every file a module was loaded from (and every sys.path entry) not yet in ``known``."""
    files = [getattr(module, "__file__", None) for module in list(sys.modules.values())]
    for path in [sys.executable] + files + sys.path:
        if isinstance(path, str) and os.path.isabs(path) and path not in known:
            known[path] = stamp(path)


def changed(known):
    for path, seen in known.items():
        if stamp(path) != seen:
            return path
    return None


def read_request(conn):
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(65536)
        if not chunk or len(data) > MAX_REQUEST:
            return None
        data += chunk
    return json.loads(data)


def serve_socket(scratch, path, lock_path, idle):
    import fcntl

    lock = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        print(json.dumps({"ready": True, "running": True}), flush=True)  # another one serves
        return
    shutil.rmtree(scratch, ignore_errors=True)  # what a previous server with this key left
    os.mkdir(scratch, 0o700)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    os.environ["HOME"] = os.environ["TMPDIR"] = scratch
    isolation = sandbox(scratch)
    if os.fork():
        print(json.dumps({"ready": True, "isolation": isolation}), flush=True)
        os._exit(0)  # the client waits for this; the server lives on in the fork
    os.setsid()
    for fd in (0, 1, 2):
        os.dup2(NULL, fd)
    known, started, checks, used = {}, time.time(), 0, time.monotonic()
    imported_files(known)
    while True:
        left = used + idle - time.monotonic()  # a status or stop request does not keep it alive
        if left <= 0 or not select.select([listener], [], [], left)[0]:
            break
        conn = listener.accept()[0]
        with conn:
            uid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))[1]
            if uid != os.getuid():
                continue  # only the user who started it
            conn.settimeout(30)
            try:
                request = read_request(conn)
            except (OSError, ValueError):
                continue
            if not isinstance(request, dict):
                continue
            reply, stop = None, bool(request.get("stop"))
            stale = changed(known)
            if stale is not None:
                reply, stop = {"stale": stale}, True
            elif request.get("status") or stop:
                reply = {"pid": os.getpid(), "started": started, "checks": checks,
                         "idle": round(time.monotonic() - used, 3),
                         "modules": len(sys.modules), "isolation": isolation, "stopping": stop}
            else:
                reply = check(request, scratch, isolation, [listener.fileno(), lock, conn.fileno()])
                checks, used = checks + 1, time.monotonic()
                idle = float(request.get("idle", idle))  # the latest run's keep-import-server
                imported_files(known)
            try:
                conn.sendall(json.dumps(reply).encode() + b"\n")
            except OSError:
                pass
            if stop:
                break
    shutil.rmtree(os.path.join(scratch, "check"), ignore_errors=True)


if sys.argv[1] == "pipe":
    serve_pipe(sys.argv[2])
else:
    serve_socket(sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
'''
)
