# lazycluster runtime agent: one per runtime connection, started by the manager.
#
# Why it exists: sshd runs every exec request through the user's login shell, which costs
# ~100 ms on machines with pyenv/conda/nvm in .bashrc, and sshd will not deliver signals for
# root sessions. The agent pays the shell once, then starts processes in ~2 ms, streams their
# output, signals whole process trees, and - the point of it all - kills everything it
# started and removes every temp dir it made as soon as its stdin closes, which is what
# happens when the manager exits, crashes, is SIGKILLed or loses the connection.
#
# Protocol: one JSON object per line both ways. Bytes travel base64-encoded.
# Requests carry an integer "id"; every event about that request echoes it.
# Standard library only; runs on Python 3.6+.
import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

GRACE_SECONDS = float(os.environ.get("LAZYCLUSTER_AGENT_GRACE", "3"))
HEARTBEAT_SECONDS = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0

_out = sys.stdout.buffer
_out_lock = threading.Lock()
_procs = {}  # id -> Popen
_procs_lock = threading.Lock()
_owned_dirs = []
# Process groups whose leader has exited while members remain (`sh -c 'server &'`):
# still ours to stop.
_left_groups = set()
_last_message = [time.monotonic()]
_stopping = threading.Event()


def send(obj):
    line = (json.dumps(obj, separators=(",", ":")) + "\n").encode("utf-8")
    with _out_lock:
        try:
            _out.write(line)
            _out.flush()
        except (BrokenPipeError, ValueError, OSError):
            _stopping.set()


def b64(data):
    return base64.b64encode(data).decode("ascii")


def descendants(root_pid):
    """Every live descendant of root_pid, found through /proc (children that left the
    process group with setsid are still found while they have not been re-parented)."""
    children = {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return []
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    found, todo = [], [root_pid]
    while todo:
        pid = todo.pop()
        for child in children.get(pid, []):
            found.append(child)
            todo.append(child)
    return found


def signal_tree(proc, sig):
    """Signal the process group the command leads plus any descendant outside it."""
    pids = descendants(proc.pid)
    try:
        os.killpg(proc.pid, sig)
    except OSError:
        pass
    for pid in pids:
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def group_alive(pgid):
    """True while a process of the group still runs. Zombies do not count: a child orphaned
    by the group's leader waits for init to reap it, and some inits (in containers, VMs)
    take seconds to do so, which would stall every cleanup for the whole grace period."""
    try:
        os.killpg(pgid, 0)
    except OSError:
        return False
    try:
        names = os.listdir("/proc")
    except OSError:
        return True  # no /proc: trust killpg
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                stat = f.read().decode("utf-8", "replace")
            state, _ppid, pgrp = stat[stat.rindex(")") + 2:].split()[:3]
            if int(pgrp) == pgid and state != "Z":
                return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def terminate(procs, grace):
    """SIGTERM every tree, wait up to grace for the groups to go, then SIGKILL the rest."""
    trees = {}
    for proc in procs:
        trees[proc] = descendants(proc.pid)
        signal_tree(proc, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not any(proc.poll() is None or group_alive(proc.pid) for proc in procs):
            return
        time.sleep(0.02)
    for proc in procs:
        for pid in trees[proc] + descendants(proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def pump(rid, stream, kind, done):
    try:
        while True:
            chunk = stream.read1(65536) if hasattr(stream, "read1") else os.read(stream.fileno(), 65536)
            if not chunk:
                break
            send({"id": rid, "ev": kind, "d": b64(chunk)})
    except (OSError, ValueError):
        pass
    finally:
        done.set()


def watch(rid, proc, readers):
    code = proc.wait()
    for reader in readers:
        # A background child holding the pipe open must not hold the exit event forever.
        reader.wait(5)
    with _procs_lock:
        _procs.pop(rid, None)
        if group_alive(proc.pid):
            _left_groups.add(proc.pid)
    if code < 0:
        send({"id": rid, "ev": "exit", "code": None, "signal": signal.Signals(-code).name})
    else:
        send({"id": rid, "ev": "exit", "code": code, "signal": None})


def run(msg):
    rid = msg["id"]
    env = dict(os.environ) if msg.get("inheritEnv", True) else {}
    env.update(msg.get("env") or {})
    argv = msg.get("argv") or ["/bin/sh", "-c", msg["cmd"]]
    try:
        proc = subprocess.Popen(
            argv,
            cwd=msg.get("cwd") or None,
            env=env,
            stdin=subprocess.PIPE if msg.get("stdin") else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
            close_fds=True,
        )
    except (OSError, ValueError) as exc:
        send({"id": rid, "ev": "error", "message": str(exc)})
        return
    with _procs_lock:
        _procs[rid] = proc
    send({"id": rid, "ev": "started", "pid": proc.pid})
    readers = []
    for stream, kind in ((proc.stdout, "out"), (proc.stderr, "err")):
        done = threading.Event()
        readers.append(done)
        threading.Thread(target=pump, args=(rid, stream, kind, done), daemon=True).start()
    threading.Thread(target=watch, args=(rid, proc, readers), daemon=True).start()


def kill(msg):
    with _procs_lock:
        proc = _procs.get(msg["id"])
    if proc is None:
        return
    sig = getattr(signal, msg.get("signal") or "SIGTERM", signal.SIGTERM)
    if msg.get("escalate"):
        threading.Thread(target=terminate, args=([proc], float(msg.get("grace", GRACE_SECONDS))), daemon=True).start()
    else:
        signal_tree(proc, sig)


def write_stdin(msg):
    with _procs_lock:
        proc = _procs.get(msg["id"])
    if proc is None or proc.stdin is None:
        return
    try:
        if "d" in msg:
            proc.stdin.write(base64.b64decode(msg["d"]))
            proc.stdin.flush()
        else:
            proc.stdin.close()
    except OSError:
        pass


def reply(rid, fn):
    try:
        send({"id": rid, "ev": "result", "value": fn()})
    except Exception as exc:  # noqa: BLE001 - every failure goes back to the manager
        send({"id": rid, "ev": "error", "message": "%s: %s" % (type(exc).__name__, exc)})


def make_temp_dir(msg):
    path = tempfile.mkdtemp(prefix=msg.get("prefix") or "lazycluster-", dir=msg.get("dir") or None)
    _owned_dirs.append(path)
    return path


def make_dirs(msg):
    # "~" and relative paths mean the home directory, as in ssh and scp; the path comes back
    # absolute, because it becomes WORKING_DIR and every command's cwd.
    path = os.path.abspath(os.path.expanduser(msg["path"]))
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def remove_tree(msg):
    path = msg["path"]
    shutil.rmtree(path, ignore_errors=True)
    if path in _owned_dirs:
        _owned_dirs.remove(path)
    return not os.path.exists(path)


def listening_ports_netlink():
    """Ports in LISTEN over IPv4 and IPv6, asked of the kernel through sock_diag netlink:
    a fraction of a millisecond, where reading /proc/net/tcp walks the whole connection
    hash table (~5 ms per file on a large machine)."""
    import socket
    import struct
    ports = set()
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    try:
        for seq, family in enumerate((socket.AF_INET, socket.AF_INET6), 1):
            # inet_diag_req_v2: family, IPPROTO_TCP, no extensions, states = 1 << TCP_LISTEN
            request = struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 1 << 10) + bytes(48)
            # nlmsghdr: SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP
            sock.send(struct.pack("=IHHII", 16 + len(request), 20, 0x301, seq, 0) + request)
            done = False
            while not done:
                data = sock.recv(65536)
                offset = 0
                while offset + 16 <= len(data):
                    length, kind = struct.unpack_from("=IH", data, offset)
                    if kind == 3:  # NLMSG_DONE
                        done = True
                        break
                    if kind == 2:  # NLMSG_ERROR
                        raise OSError("sock_diag refused the request")
                    # inet_diag_msg: family, state, timer, retrans, then the socket id (sport first, big-endian)
                    ports.add(struct.unpack_from(">H", data, offset + 16 + 4)[0])
                    offset += (length + 3) & ~3
                if not data:
                    break
    finally:
        sock.close()
    return sorted(ports)


def listening_sockets(_msg):
    """What listens on this host: a list of ports through netlink, else the LISTEN lines of
    /proc/net/tcp{,6} for the manager to parse, else None (the manager then falls back to
    `ss` through the shell)."""
    try:
        return listening_ports_netlink()
    except (OSError, AttributeError, ValueError):
        pass
    lines = []
    readable = False
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                readable = True
                for line in f:
                    fields = line.split()
                    if len(fields) > 3 and fields[3] == "0A":
                        lines.append(line.rstrip("\n"))
        except OSError:
            continue
    return "\n".join(lines) if readable else None


HANDLERS = {
    "run": run,
    "kill": kill,
    "stdin": write_stdin,
    "ping": lambda msg: send({"id": msg["id"], "ev": "result", "value": time.time()}),
    # Any line counts as a sign of life; this one says nothing else.
    "beat": lambda msg: None,
    "mkdtemp": lambda msg: reply(msg["id"], lambda: make_temp_dir(msg)),
    "mkdirs": lambda msg: reply(msg["id"], lambda: make_dirs(msg)),
    "rmtree": lambda msg: reply(msg["id"], lambda: remove_tree(msg)),
    "listening": lambda msg: reply(msg["id"], lambda: listening_sockets(msg)),
}


def stop_groups(groups, grace):
    """SIGTERM whole process groups, then SIGKILL what is left after grace."""
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGTERM)
        except OSError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(group_alive(g) for g in groups):
        time.sleep(0.02)
    for pgid in groups:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass


def shutdown():
    _stopping.set()
    with _procs_lock:
        procs = list(_procs.values())
        groups = [g for g in _left_groups if group_alive(g)]
    stopper = threading.Thread(target=stop_groups, args=(groups, GRACE_SECONDS), daemon=True)
    stopper.start()
    if procs:
        terminate(procs, GRACE_SECONDS)
    stopper.join()
    for path in list(_owned_dirs):
        shutil.rmtree(path, ignore_errors=True)


def heartbeat_watch():
    # A partitioned network may never close the connection; silence for too long
    # counts as the manager being gone.
    while not _stopping.wait(HEARTBEAT_SECONDS / 4):
        if time.monotonic() - _last_message[0] > HEARTBEAT_SECONDS:
            shutdown()
            os._exit(0)


def main():
    # The manager may vanish at any moment; a write to a closed pipe must not kill us
    # before we have cleaned up.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda *_: (shutdown(), os._exit(0)))
    if HEARTBEAT_SECONDS > 0:
        threading.Thread(target=heartbeat_watch, daemon=True).start()
    send({"ev": "hello", "pid": os.getpid(), "python": sys.version.split()[0]})
    stdin = sys.stdin.buffer
    while True:
        line = stdin.readline()
        if not line:
            break
        _last_message[0] = time.monotonic()
        try:
            msg = json.loads(line.decode("utf-8"))
            handler = HANDLERS.get(msg.get("op"))
            if handler is None:
                send({"id": msg.get("id"), "ev": "error", "message": "unknown op %r" % msg.get("op")})
            else:
                handler(msg)
        except Exception as exc:  # noqa: BLE001 - a bad request must not stop the agent
            send({"ev": "error", "message": "bad request: %s" % exc})
    shutdown()
    os._exit(0)


main()
