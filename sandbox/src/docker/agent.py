# Lathe's in-container exec agent. Started once per session container with `docker exec -i`,
# it runs commands for the host without a new docker exec per command (runc exec is the slow
# part of an exec). Requests arrive as JSON lines on stdin; frames go out on stdout:
#   kind (1 byte) | request id (u32 BE) | length (u32 BE) | payload
# kinds: r ready {"oom": n}, o stdout bytes, e stderr bytes, x exit {"code": c, "oom": n}.
# Each command leads its own session; when it exits, what it left in its session, or anywhere
# with its marker in the environment, is killed.
import json, os, selectors, signal, struct, subprocess, sys, threading

try:
    import ctypes
    # PR_SET_DUMPABLE 0: commands (same uid) cannot open our /proc fds to forge frames.
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)
except Exception:
    pass

OUT = sys.stdout.buffer
LOCK = threading.Lock()
PROCS = {}


def send(kind, rid, data):
    with LOCK:
        OUT.write(kind + struct.pack(">II", rid, len(data)) + data)
        OUT.flush()


def oom_kills():
    n = 0
    for path in ("/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"):
        try:
            with open(path) as f:
                for line in f:
                    key, _, value = line.partition(" ")
                    if key == "oom_kill":
                        n = max(n, int(value))
        except (OSError, ValueError):
            pass
    return n


def processes():
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            yield int(d)


def in_session(pid, sid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0] != b"Z" and int(fields[3]) == sid
    except (OSError, IndexError, ValueError):
        return False


def marked(pid, marker):
    try:
        with open("/proc/%d/environ" % pid, "rb") as f:
            return marker in f.read().split(b"\0")
    except OSError:
        return False


def kill_all(match, sig, rounds):
    for _ in range(rounds):
        hits = [p for p in processes() if match(p)]
        if not hits:
            return
        for p in hits:
            try:
                os.kill(p, sig)
            except OSError:
                pass


def run(req):
    rid = req["id"]
    if not os.path.isdir(req["cwd"]):
        send(b"e", rid, ("lathe: working directory %s does not exist\n" % req["cwd"]).encode())
        send(b"x", rid, json.dumps({"code": 126, "oom": oom_kills()}).encode())
        return
    env = dict(os.environ)
    env.update(req["env"])
    try:
        proc = subprocess.Popen(
            req["argv"], cwd=req["cwd"], env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    except OSError as e:
        send(b"e", rid, ("lathe: cannot run %s: %s\n" % (req["argv"][0], e.strerror)).encode())
        code = 127 if isinstance(e, FileNotFoundError) else 126
        send(b"x", rid, json.dumps({"code": code, "oom": oom_kills()}).encode())
        return
    marker = req.get("marker", "").encode()
    PROCS[rid] = (proc, req.get("marker", ""))

    def reap():
        proc.wait()
        # Also what left the session (setsid) but carries the command's marker: it would
        # hold the output pipes open until the timeout.
        kill_all(lambda p: in_session(p, proc.pid) or (marker and marked(p, marker)),
                 signal.SIGKILL, 100)

    waiter = threading.Thread(target=reap, daemon=True)
    waiter.start()
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ, b"o")
    sel.register(proc.stderr, selectors.EVENT_READ, b"e")
    while sel.get_map():
        for key, _ in sel.select():
            data = os.read(key.fd, 65536)
            if data:
                send(key.data, rid, data)
            else:
                sel.unregister(key.fileobj)
    waiter.join()
    PROCS.pop(rid, None)
    code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
    send(b"x", rid, json.dumps({"code": code, "oom": oom_kills()}).encode())


def spawn(req):
    try:
        threading.Thread(target=run, args=(req,), daemon=True).start()
    except RuntimeError as e:
        send(b"e", req["id"], ("lathe: cannot start command: %s\n" % e).encode())
        send(b"x", req["id"], json.dumps({"code": 126, "oom": oom_kills()}).encode())


def signal_request(req):
    entry = PROCS.get(req["id"])
    if entry is None:
        return
    proc, marker = entry
    sig = req["sig"]
    rounds = 1 if sig == signal.SIGTERM else 20
    kill_all(lambda p: in_session(p, proc.pid), sig, rounds)
    if marker:
        needle = marker.encode()
        kill_all(lambda p: marked(p, needle), sig, rounds)


send(b"r", 0, json.dumps({"oom": oom_kills()}).encode())
for line in sys.stdin.buffer:
    request = json.loads(line)
    if request["op"] == "run":
        spawn(request)
    elif request["op"] == "signal":
        signal_request(request)
for proc, _ in list(PROCS.values()):
    kill_all(lambda p: in_session(p, proc.pid), signal.SIGKILL, 20)
