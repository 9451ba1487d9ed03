"""GET /metrics against a real cofferd, read with a real Prometheus text
parser (python3-prometheus-client) and checked by `promtool check
metrics` (Debian's prometheus package): the bearer token is required,
counters move with the requests made here, tenant usage and disk error
counters follow what happened on disk, and nothing secret, no bucket and
no key name appears."""
import glob
import http.client
import os
import shutil
import subprocess
import time
import urllib.parse

import pytest

try:
    from prometheus_client.parser import text_string_to_metric_families
except ImportError:  # a clear failure, not a skip: contrib/deps.sh installs it
    text_string_to_metric_families = None

VAR = os.path.join(os.environ.get("COFFER_TMP", ""), "var")


def token():
    with open(os.path.join(VAR, "metrics-token")) as f:
        return f.read().strip()


def get(path, headers=None):
    parsed = urllib.parse.urlsplit(os.environ["COFFER_ENDPOINT"])
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read().decode()
    finally:
        conn.close()


def scrape_text():
    status, headers, text = get("/metrics", {"Authorization": "Bearer " + token()})
    assert status == 200, text
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return text


def scrape():
    """{(sample name, frozenset of labels): value}"""
    assert text_string_to_metric_families, \
        "python3-prometheus-client is missing (contrib/deps.sh installs it)"
    out = {}
    for family in text_string_to_metric_families(scrape_text()):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def value(m, name, **labels):
    return m.get((name, frozenset(labels.items())), 0.0)


def scrape_once_counted(before, **last):
    """A scrape that counts the last request made, given its
    coffer_requests_total labels. A request is counted when it completes,
    after its response has gone out (server/telemetry.c), so a client can
    read the response before the server thread that sent it has counted
    it: scrape until the count moves, for at most 10 s."""
    deadline = time.monotonic() + 10
    while True:
        after = scrape()
        if value(after, "coffer_requests_total", **last) > \
                value(before, "coffer_requests_total", **last) or time.monotonic() > deadline:
            return after
        time.sleep(0.05)


def test_token_is_required():
    status, headers, _ = get("/metrics")
    assert status == 401
    assert headers.get("WWW-Authenticate", "").startswith("Bearer")
    status, _, _ = get("/metrics", {"Authorization": "Bearer " + "x" * 43})
    assert status == 401
    status, _, _ = get("/metrics", {"Authorization": "Bearer " + token() + "x"})
    assert status == 401
    assert get("/metrics", {"Authorization": "Bearer " + token()})[0] == 200


def test_promtool_accepts_the_exposition():
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (contrib/deps.sh installs prometheus)"
    out = subprocess.run([promtool, "check", "metrics"], input=scrape_text(),
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert out.stdout.strip() == "" and out.stderr.strip() == "", out.stdout + out.stderr


def test_families_are_there():
    m = scrape()
    names = {name for name, _ in m}
    for want in ["coffer_build_info", "coffer_requests_in_flight",
                 "coffer_tenant_stored_bytes", "coffer_tenant_objects",
                 "coffer_tenant_buckets", "coffer_disk_capacity_bytes",
                 "coffer_disk_used_bytes", "coffer_disk_state",
                 "coffer_disk_read_errors_total", "coffer_disk_write_errors_total",
                 "coffer_disk_crc_errors_total", "coffer_index_commits_total",
                 "coffer_index_wal_fsyncs_total",
                 "coffer_index_wal_fsync_duration_seconds_count",
                 "coffer_heal_queue_segments", "coffer_delete_queue_segments",
                 "coffer_pack_files", "coffer_pack_bytes",
                 "coffer_job_running", "coffer_job_runs_total",
                 "process_cpu_seconds_total", "process_resident_memory_bytes",
                 "process_open_fds", "process_start_time_seconds"]:
        assert want in names, want
    assert value(m, "coffer_requests_in_flight") >= 1      # this scrape
    assert value(m, "process_resident_memory_bytes") > 1 << 20
    disks = {dict(l)["disk"] for n, l in m if n == "coffer_disk_capacity_bytes"}
    assert disks == {str(i) for i in range(6)}
    for d in disks:
        states = {dict(l)["state"]: v for (n, l), v in m.items()
                  if n == "coffer_disk_state" and dict(l)["disk"] == d}
        assert states["online"] == 1 and states["offline"] == 0
    jobs = {dict(l)["job"] for n, l in m if n == "coffer_job_running"}
    assert jobs == {"heal", "gc", "snapshot", "scrub", "drill", "lifecycle",
                    "compact"}


def test_counters_move_with_requests(s3, bucket):
    sizes = [10, 70000, 300000]
    before = scrape()
    for i, n in enumerate(sizes):
        s3.put_object(Bucket=bucket, Key=f"m{i}", Body=os.urandom(n))
    assert len(s3.get_object(Bucket=bucket, Key="m2")["Body"].read()) == sizes[2]
    with pytest.raises(Exception):
        s3.head_object(Bucket=bucket, Key="missing")
    after = scrape_once_counted(before, tenant="dev", operation="HeadObject",
                                status_class="4xx")

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("coffer_requests_total", tenant="dev", operation="PutObject",
                 status_class="2xx") == 3
    assert delta("coffer_requests_total", tenant="dev", operation="GetObject",
                 status_class="2xx") == 1
    assert delta("coffer_requests_total", tenant="dev", operation="HeadObject",
                 status_class="4xx") == 1
    assert delta("coffer_request_duration_seconds_count", operation="PutObject") == 3
    assert delta("coffer_request_duration_seconds_sum", operation="PutObject") > 0
    assert delta("coffer_received_bytes_total", tenant="dev") >= sum(sizes)
    assert delta("coffer_sent_bytes_total", tenant="dev") >= sizes[2]
    assert delta("coffer_tenant_stored_bytes", tenant="dev") == sum(sizes)
    assert delta("coffer_tenant_objects", tenant="dev") == 3
    assert delta("coffer_index_commits_total") >= 3
    assert delta("coffer_index_wal_fsyncs_total") >= 1
    assert delta("coffer_index_wal_fsync_duration_seconds_count") >= 1
    s3.delete_object(Bucket=bucket, Key="m1")
    s3.put_object(Bucket=bucket, Key="m0", Body=b"x" * 5)      # overwrite
    last = scrape()
    assert value(last, "coffer_tenant_stored_bytes", tenant="dev") - \
        value(before, "coffer_tenant_stored_bytes", tenant="dev") == 5 + sizes[2]
    assert value(last, "coffer_tenant_objects", tenant="dev") - \
        value(before, "coffer_tenant_objects", tenant="dev") == 2


def test_unauthenticated_requests_have_no_tenant():
    before = scrape()
    assert get("/")[0] == 403                     # anonymous ListBuckets
    key = dict(tenant="", operation="ListBuckets", status_class="4xx")
    after = scrape_once_counted(before, **key)
    assert value(after, "coffer_requests_total", **key) - \
        value(before, "coffer_requests_total", **key) == 1


def shard_files():
    return set(glob.glob(os.path.join(VAR, "disk*", "objects", "*", "*")))


def disk_of(path):
    return str(int(os.path.basename(os.path.dirname(os.path.dirname(
        os.path.dirname(path))))[len("disk"):]) - 1)


def test_disk_errors_are_counted(s3, bucket):
    existing = shard_files()
    data = os.urandom(2 * 1024 * 1024 + 77)
    s3.put_object(Bucket=bucket, Key="damaged", Body=data)
    new = sorted(shard_files() - existing)
    assert len(new) == 6
    flipped, lost = new[0], new[1]              # data shards 0 and 1
    with open(flipped, "r+b") as f:
        f.seek(4096 + 100)                      # inside block 0, past the header
        b = f.read(1)
        f.seek(4096 + 100)
        f.write(bytes([b[0] ^ 0xFF]))
    os.unlink(lost)
    before = scrape()
    assert s3.get_object(Bucket=bucket, Key="damaged")["Body"].read() == data
    after = scrape()

    def delta(name, path):
        labels = dict(disk=disk_of(path), path=os.path.dirname(os.path.dirname(
            os.path.dirname(path))))
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("coffer_disk_crc_errors_total", flipped) >= 1
    assert delta("coffer_disk_read_errors_total", lost) >= 1
    assert delta("coffer_disk_read_errors_total", flipped) == 0
    assert value(after, "coffer_heal_queue_segments") >= 1


def test_no_secret_bucket_or_key_in_the_metrics(s3, bucket):
    key = "zz-very-private-key-name"
    s3.put_object(Bucket=bucket, Key=key, Body=b"private")
    s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    text = scrape_text()
    secrets = [os.environ["COFFER_SECRET_KEY"], os.environ["COFFER_ADMIN_SECRET_KEY"],
               token()]
    with open(os.path.join(VAR, "master.key")) as f:
        secrets.append(f.read().strip())
    for s in secrets:
        assert s not in text
    assert bucket not in text
    assert key not in text


def test_readme_scrape_config_is_valid(tmp_path):
    """The README's prometheus.yml, with its token file made, passes
    `promtool check config`."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing (contrib/deps.sh installs prometheus)"
    readme = open(os.path.join(os.path.dirname(__file__), "..", "..", "README.md")).read()
    start = readme.index("\n    scrape_configs:\n")
    block = []
    for line in readme[start + 1:].split("\n"):
        if not line.startswith("    "):
            break
        block.append(line[4:])
    text = "\n".join(block) + "\n"
    token_file = tmp_path / "token"
    token_file.write_text(token() + "\n")
    assert "/etc/prometheus/coffer-metrics-token" in text
    config = tmp_path / "prometheus.yml"
    config.write_text(text.replace("/etc/prometheus/coffer-metrics-token", str(token_file)))
    out = subprocess.run([promtool, "check", "config", str(config)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
