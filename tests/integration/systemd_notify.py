"""Start cofferd the way cofferd.service does and check its sd_notify
messages: python3 systemd_notify.py UNIT DESTDIR CONFIG WORKDIR PORT PORT2.

The command line is the unit's ExecStart, split as systemd splits it; only
the installed paths are moved under DESTDIR and the configuration path is
replaced by one made from CONFIG (the installed example, with its
directories, secrets and address pointed at WORKDIR). The environment is
what systemd gives a service without Environment= lines (PATH, LANG, and
NOTIFY_SOCKET) plus the unit's Environment=, the umask is UMask=, and the
working directory is /, as for a system service. Then: READY=1 arrives
exactly once, and only when cofferd already answers /health/ready; SIGTERM
brings STOPPING=1 and a clean exit. Once over a socket path, once over an
abstract socket (NOTIFY_SOCKET=@name), as systemd may use either."""
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request


def unit_settings(path):
    out = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", "[")) and "=" in line:
            k, v = line.split("=", 1)
            out.setdefault(k, []).append(v)
    return out


def private_file(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, text.encode())
    os.close(fd)


def make_config(example, work, port):
    cfg = json.load(open(example))
    os.makedirs(work, exist_ok=True)
    cfg["listen"] = f"127.0.0.1:{port}"
    cfg["disks"] = [os.path.join(work, os.path.basename(d)) for d in cfg["disks"]]
    cfg["meta_dir"] = os.path.join(work, "meta")
    for d in cfg["disks"] + [cfg["meta_dir"]]:
        os.makedirs(d, mode=0o700, exist_ok=True)
    cfg["master_key_file"] = os.path.join(work, "master.key")
    private_file(cfg["master_key_file"], secrets.token_hex(32) + "\n")
    cfg["admin"] = {"access_key": "SYSTEMDTEST" + secrets.token_hex(5).upper(),
                    "secret_key": secrets.token_urlsafe(30)}
    cfg["metrics"]["bearer_token_file"] = os.path.join(work, "metrics-token")
    private_file(cfg["metrics"]["bearer_token_file"], secrets.token_urlsafe(32) + "\n")
    cfg["access_log"] = os.path.join(work, "access.log")
    path = os.path.join(work, "coffer.json")
    json.dump(cfg, open(path, "w"), indent=2)
    return path


def ready(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/ready",
                                    timeout=2) as r:
            return r.status == 200
    except Exception:
        return False


def run(unit, dest, example, work, port, abstract):
    settings = unit_settings(unit)
    assert settings["Type"] == ["notify"], "the unit is not Type=notify"
    argv = shlex.split(settings["ExecStart"][0])
    installed_config = argv[argv.index("-c") + 1]
    argv[0] = dest + argv[0]
    argv[argv.index("-c") + 1] = make_config(example, work, port)
    print("ok   ExecStart as run:", " ".join(argv), f"(the unit's config: {installed_config})")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    if abstract:
        name = "@coffer-notify-" + secrets.token_hex(6)
        sock.bind("\0" + name[1:])
    else:
        name = os.path.join(work, "notify.sock")
        sock.bind(name)
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "NOTIFY_SOCKET": name}
    for e in settings.get("Environment", []):
        for pair in shlex.split(e):
            k, v = pair.split("=", 1)
            env[k] = v
    umask = int(settings.get("UMask", ["0022"])[0], 8)
    log = open(os.path.join(work, "cofferd.log"), "w")
    proc = subprocess.Popen(argv, env=env, cwd="/", stdout=log, stderr=log,
                            preexec_fn=lambda: os.umask(umask))
    try:
        sock.settimeout(60)
        msg = sock.recv(4096).decode()
        assert "READY=1" in msg.split("\n"), f"first notification: {msg!r}"
        assert ready(port), "READY=1 came before cofferd answered /health/ready"
        print(f"ok   READY=1 ({'abstract' if abstract else 'path'} socket) "
              "while /health/ready answers 200")
        sock.settimeout(1.5)
        try:
            extra = sock.recv(4096).decode()
            assert "READY=1" not in extra, "READY=1 sent twice"
        except socket.timeout:
            pass
        proc.send_signal(signal.SIGTERM)
        sock.settimeout(20)
        msg = sock.recv(4096).decode()
        assert "STOPPING=1" in msg.split("\n"), f"after SIGTERM: {msg!r}"
        rc = proc.wait(timeout=60)
        assert rc == 0, f"cofferd exited {rc}"
        print("ok   SIGTERM: STOPPING=1, then a clean exit")
        assert os.stat(os.path.join(work, "meta", "index.db")).st_mode & 0o077 == 0, \
            "UMask=0077 not applied to the index"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
        sock.close()
    return open(os.path.join(work, "cofferd.log")).read()


def main():
    unit, dest, example, work, port, port2 = sys.argv[1:]
    try:
        run(unit, dest, example, os.path.join(work, "path"), int(port), abstract=False)
        run(unit, dest, example, os.path.join(work, "abstract"), int(port2), abstract=True)
    except (AssertionError, OSError) as e:
        print(f"FAIL: {e}")
        for sub in ("path", "abstract"):
            p = os.path.join(work, sub, "cofferd.log")
            if os.path.exists(p):
                print(f"=== {p}\n" + open(p).read()[-3000:])
        sys.exit(1)
    print("PASS: cofferd under cofferd.service's command line and environment")


if __name__ == "__main__":
    main()
