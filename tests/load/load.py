"""Load and an outage against the served functions (scripts/load.sh starts them): only 127.0.0.1,
bounded in count and time, and it stops by itself.

1. Load: CLIENTS clients send POSTS cluster logs over 8 clusters while 4 more list all the time and
   4 more deliver RECORDS system logs to system-logs-ingest as SQS batches (what a batch reports
   failed is delivered again, as SQS would). Afterwards every 201 is read back by id, each cluster
   is read page by page (every acknowledged id exactly once), the totals equal what was
   acknowledged, and so do the system-log stats and X-Result-Count. Any 5xx fails the run.
2. Outage (OUTAGE=1): the clients keep posting while DynamoDB Local is killed and started again
   on the same data. Meanwhile only 201s and 503s that say to retry, each in bounded time; after
   the restart the same functions (no restart of theirs) store logs again; every 201 is readable.

Standard library only: it runs on the machine's Python 3.
"""

import http.client
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from concurrent.futures import ThreadPoolExecutor

PORT = int(os.environ["LOAD_PORT"])
WRITER = os.environ["LOAD_WRITER_TOKEN"]
READER = os.environ["LOAD_READER_TOKEN"]
POSTS = int(os.environ.get("LOAD_POSTS", "20000"))
RECORDS = int(os.environ.get("LOAD_RECORDS", str(POSTS // 4)))
CLIENTS = int(os.environ.get("LOAD_CLIENTS", "32"))
OUTAGE = os.environ.get("LOAD_OUTAGE", "1") == "1"
DEADLINE = time.monotonic() + float(os.environ.get("LOAD_MAX_SECONDS", "1500"))
BOUND_SECONDS = 10.0  # longest answer allowed while DynamoDB is down (SDK operation timeout: 4 s)
BASE = "/api/service_logs/v1"
RUN = uuid.uuid4().hex[:8]
CLUSTERS = [f"load-{RUN}-{k}" for k in range(8)]


class Client:
    """One keep-alive connection to the local server, reopened when it drops."""

    def __init__(self):
        self.connection = None

    def send(self, method, path, token, body=None):
        if time.monotonic() > DEADLINE:
            sys.exit("load: over its time limit; stopping")
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            if self.connection is None:
                self.connection = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
            started = time.monotonic()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, dict(response.getheaders()), payload, time.monotonic() - started
            except (ConnectionError, http.client.HTTPException, socket.timeout):
                # The server closed a kept-alive connection: the request never reached a function.
                self.connection.close()
                self.connection = None
                if attempt == 1:
                    raise
        raise AssertionError("unreachable")


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.requests = 0
        self.statuses = {}
        self.server_errors = []
        self.created = {}  # id -> cluster
        self.acknowledged_at = {}  # id -> time.monotonic() of its 201
        self.outage_times = {}  # what happened to DynamoDB Local when: "stopped", "exited", ...
        self.lost_at_kill = []  # acknowledged within KILL_WINDOW of the kill, and not kept by it
        self.unavailable = 0
        self.slowest = 0.0
        self.ingest_invocations = 0
        self.redelivered = 0

    def record(self, status, payload, seconds, api=True):
        with self.lock:
            self.requests += 1
            self.statuses[status] = self.statuses.get(status, 0) + 1
            if api:  # the slowest API answer; ingest invocations are not answers to callers
                self.slowest = max(self.slowest, seconds)
            if status >= 500 and status != 503:
                self.server_errors.append((status, payload[:300]))


local = threading.local()


def client():
    if not hasattr(local, "client"):
        local.client = Client()
    return local.client


def post(tally, n, outage=False):
    cluster = CLUSTERS[n % len(CLUSTERS)]
    body = {"cluster_uuid": cluster, "severity": "Info", "service_name": "load",
            "summary": f"load {RUN} #{n}", "description": "x" * (n % 200)}
    status, headers, payload, seconds = client().send("POST", f"{BASE}/cluster_logs", WRITER, body)
    tally.record(status, payload, seconds)
    if status == 201:
        log_id = json.loads(payload)["id"]
        with tally.lock:
            tally.created[log_id] = cluster
            tally.acknowledged_at[log_id] = time.monotonic()
    elif status == 503 and outage:
        error = json.loads(payload)
        assert "retry" in error["reason"] and headers.get("retry-after") == "1", (error, headers)
        with tally.lock:
            tally.unavailable += 1
    elif status == 503:
        tally.server_errors.append((status, payload[:300]))
    else:
        raise AssertionError(f"POST answered {status}: {payload[:300]!r}")
    return status, seconds


def lists(tally, done):
    """Reads the three list routes until the writers are done."""
    n = 0
    while not done.is_set():
        cluster = CLUSTERS[n % len(CLUSTERS)]
        path = [
            f"{BASE}/cluster_logs?size=20",
            f"{BASE}/clusters/{cluster}/cluster_logs?size=50&orderBy=timestamp%20desc",
            f"{BASE}/clusters/cluster_logs?cluster_uuid={cluster}&search=" + urllib.parse.quote("severity = 'Info'"),
        ][n % 3]
        status, _, payload, seconds = client().send("GET", path, READER)
        tally.record(status, payload, seconds)  # a 5xx is counted there and fails the run
        assert status >= 500 or status == 200, (status, payload[:200])
        n += 1


def read_back(tally, ids):
    """Every acknowledged id is readable, and each cluster's pages hold each of them once."""
    def get(log_id):
        status, _, payload, seconds = client().send("GET", f"{BASE}/cluster_logs/{log_id}", READER)
        tally.record(status, payload, seconds)
        return None if status == 200 else (log_id, status, when(tally, log_id), payload[:200])

    with ThreadPoolExecutor(CLIENTS) as pool:
        unreadable = [failure for failure in pool.map(get, ids) if failure]
    for failure in [f for f in unreadable if around_the_kill(tally, f[0])]:
        unreadable.remove(failure)
        acknowledged = tally.acknowledged_at[failure[0]] - tally.outage_times["stopped"]
        tally.lost_at_kill.append(f"{acknowledged:+.3f} s")
        del tally.created[failure[0]]
    totals, listed = {}, {}
    for cluster in CLUSTERS:
        expected = sorted(i for i, c in tally.created.items() if c == cluster)
        seen, page = [], 1
        while True:
            status, _, payload, seconds = client().send(
                "GET", f"{BASE}/clusters/{cluster}/cluster_logs?size=500&page={page}", READER)
            tally.record(status, payload, seconds)
            assert status == 200, payload[:200]
            body = json.loads(payload)
            seen += [item["id"] for item in body["items"]]
            if len(body["items"]) < 500:
                break
            page += 1
        listed[cluster] = (expected, seen, body["total"])
    status, _, payload, _ = client().send("GET", f"{BASE}/cluster_logs?size=0", READER)
    assert status == 200
    counted = json.loads(payload)["total"]
    missing = {c: sorted(set(e) - set(s)) for c, (e, s, _) in listed.items() if set(e) - set(s)}
    # Everything known about a lost log, so that a failure says where it went.
    assert not unreadable and not missing, (
        f"{len(unreadable)} acknowledged logs not readable by id: {unreadable[:3]}; "
        f"not listed in their cluster: {missing}; the counters hold {counted} logs "
        f"for {len(tally.created)} acknowledged")
    for cluster, (expected, seen, total) in listed.items():
        assert total == len(expected), f"{cluster}: total {total}, acknowledged {len(expected)}"
        assert len(seen) == len(set(seen)), f"{cluster}: an id listed twice"
        assert sorted(seen) == expected, f"{cluster}: listed ids differ from the acknowledged ones"
        totals[cluster] = total
    return totals, counted


INSTANCES = [("api", "waldur-api-0"), ("api", "waldur-api-1"), ("worker", "waldur-worker-0"),
             ("worker", "waldur-worker-1"), ("beat", "waldur-beat-0")]


def ingest(tally, first, count):
    """Delivers records first..first+count to system-logs-ingest in SQS batches of 10, delivering
    again what a batch reports failed (at most 20 times, as a redrive policy would)."""
    pending = list(range(first, first + count))
    for delivery in range(20):
        if not pending:
            return
        failed = []
        for start in range(0, len(pending), 10):
            batch = pending[start:start + 10]
            records = []
            for n in batch:
                source, instance = INSTANCES[n % len(INSTANCES)]
                record = {"created": f"2026-11-21T10:{(n // 60) % 60:02d}:{n % 60:02d}.{n % 1000000:06d}Z",
                          "source": source, "instance": instance,
                          "level": ["INFO", "WARNING", "ERROR"][n % 3], "logger_name": "load",
                          "message": f"load {RUN} record {n}", "context": {"n": n}}
                records.append({"messageId": f"{RUN}-{n}", "receiptHandle": "h", "body": json.dumps(record),
                                "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs",
                                "eventSourceARN": "arn:aws:sqs:eu-west-1:123456789012:load", "awsRegion": "eu-west-1"})
            status, _, payload, seconds = client().send(
                "POST", "/2015-03-31/functions/system-logs-ingest/invocations", WRITER, {"Records": records})
            tally.record(status, payload, seconds, api=False)
            with tally.lock:
                tally.ingest_invocations += 1
            if status != 200:
                failed += batch
                continue
            reported = {f["itemIdentifier"] for f in json.loads(payload)["batchItemFailures"]}
            failed += [n for n in batch if f"{RUN}-{n}" in reported]
        with tally.lock:
            tally.redelivered += len(failed)
        pending = failed
    raise AssertionError(f"{len(pending)} records still failing after 20 deliveries")


def system_totals(tally):
    """The stats' counts per instance and the list's X-Result-Count: both must be RECORDS."""
    status, _, payload, _ = client().send("GET", "/api/system-logs/stats/", READER)
    assert status == 200, payload[:200]
    counts = {(row["source"], row["instance"]): row["count"] for row in json.loads(payload)["instances"]}
    status, headers, payload, _ = client().send("GET", "/api/system-logs/?page_size=1", READER)
    assert status == 200, payload[:200]
    listed = int({k.lower(): v for k, v in headers.items()}["x-result-count"])
    expected = {}
    for n in range(RECORDS):
        expected[INSTANCES[n % len(INSTANCES)]] = expected.get(INSTANCES[n % len(INSTANCES)], 0) + 1
    assert counts == expected, f"stats {counts} != delivered {expected}"
    assert listed == RECORDS, f"X-Result-Count {listed} != {RECORDS} delivered"
    return sum(counts.values())


def load(tally):
    done = threading.Event()
    readers = [threading.Thread(target=lists, args=(tally, done), daemon=True) for _ in range(4)]
    for reader in readers:
        reader.start()
    share = -(-RECORDS // 4)
    with ThreadPoolExecutor(4) as ingesters:
        deliveries = [ingesters.submit(ingest, tally, k * share, min(share, RECORDS - k * share))
                      for k in range(4) if k * share < RECORDS]
        started = time.monotonic()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(lambda n: post(tally, n), range(POSTS)))
        seconds = time.monotonic() - started
        for delivery in deliveries:
            delivery.result()
    done.set()
    for reader in readers:
        reader.join()
    return seconds


def port_open(port):
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_for_exit(pid, limit=60):
    """Until process `pid` has exited (a zombie waiting for its parent counts as exited)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return
        except (FileNotFoundError, ProcessLookupError):
            return
        time.sleep(0.05)
    raise AssertionError(f"DynamoDB Local (pid {pid}) still running {limit} s after it was killed")


# How long before a kill DynamoDB Local's answers are not yet kept: it answered 200 to a
# transaction a few milliseconds before its process was killed and kept none of it (seen here, with
# SIGTERM and with SIGKILL). POSTs acknowledged this close to the kill are counted, not required;
# a loss of anything acknowledged earlier or after the restart fails the run.
KILL_WINDOW = 0.5


def around_the_kill(tally, log_id):
    at = tally.acknowledged_at.get(log_id)
    times = tally.outage_times
    return (at is not None and "stopped" in times and "exited" in times
            and times["stopped"] - KILL_WINDOW <= at <= times["exited"])


def when(tally, log_id):
    """When a log was acknowledged, against what happened to DynamoDB Local, for a failure message."""
    at = tally.acknowledged_at.get(log_id)
    if at is None or not tally.outage_times:
        return ""
    return "acknowledged " + ", ".join(
        f"{at - moment:+.2f} s after it {event}" for event, moment in tally.outage_times.items())


def outage(tally):
    """POSTs without pause while DynamoDB Local is stopped (at 1 s) and started again (at 4 s)."""
    pid = int(os.environ["DYNAMODB_PID"])
    command = shlex.split(os.environ["DYNAMODB_COMMAND"])
    dynamodb_port = int(os.environ["DYNAMODB_PORT"])
    stop = threading.Event()
    restarted_at = [None]
    after_restart = []

    def writer(k):
        n = 10_000_000 + k * 100_000
        while not stop.is_set():
            status, _ = post(tally, n, outage=True)
            if restarted_at[0] is not None and status == 201:
                after_restart.append(n)
            if status == 503:
                time.sleep(0.1)
            n += 1

    threads = [threading.Thread(target=writer, args=(k,), daemon=True) for k in range(CLIENTS)]
    for thread in threads:
        thread.start()
    time.sleep(1)
    tally.outage_times["stopped"] = time.monotonic()
    # Killed, as a crash or a cut network takes the store away. Not SIGTERM: DynamoDB Local's own
    # shutdown answers 200 to a transaction that arrives while it stops and then keeps none of it
    # (seen here: a POST acknowledged 0.01 s after SIGTERM, neither its log nor its count stored).
    os.kill(pid, signal.SIGKILL)
    while port_open(dynamodb_port):
        time.sleep(0.05)
    tally.outage_times["port closed"] = time.monotonic()
    # The old process may still be writing its database after its port closes: a new one must not
    # open the same files until it is gone.
    wait_for_exit(pid)
    tally.outage_times["exited"] = time.monotonic()
    time.sleep(3)
    with open(os.environ["DYNAMODB_LOG"], "ab") as log:
        process = subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)
    with open(os.environ["DYNAMODB_PID_FILE"], "w") as pid_file:
        pid_file.write(str(process.pid))
    while not port_open(dynamodb_port):
        time.sleep(0.1)
    restarted_at[0] = time.monotonic()
    tally.outage_times["started again"] = restarted_at[0]
    time.sleep(3)
    stop.set()
    for thread in threads:
        thread.join()
    assert after_restart, "no POST succeeded after DynamoDB came back"


def main():
    tally = Tally()
    seconds = load(tally)
    acknowledged = len(tally.created)
    assert not tally.server_errors, f"5xx during the load: {tally.server_errors[:5]}"
    assert acknowledged == POSTS, f"{POSTS - acknowledged} POSTs not acknowledged: {tally.statuses}"
    totals, total = read_back(tally, list(tally.created))
    assert total == acknowledged, f"the all-clusters total {total} != {acknowledged} acknowledged"
    system_total = system_totals(tally)
    print(f"load: {POSTS} POSTs by {CLIENTS} clients in {seconds:.1f} s ({POSTS / seconds:.0f}/s), "
          f"slowest answer {tally.slowest:.2f} s, "
          f"with 4 listing clients; every one of the {acknowledged} acknowledged logs read back by id "
          f"and listed once; totals {sum(totals.values())} per cluster, {total} in all", flush=True)
    print(f"ingest: {RECORDS} system logs in {tally.ingest_invocations} SQS batches alongside, "
          f"{tally.redelivered} reported failed and delivered again; stats count {system_total} "
          f"and X-Result-Count {RECORDS}, each record once", flush=True)
    if OUTAGE:
        tally.slowest = 0.0  # the bound is for answers while DynamoDB is down and after
        before = set(tally.created)
        outage(tally)
        new = [i for i in tally.created if i not in before]
        read_back(tally, new)
        assert not tally.server_errors, f"5xx other than 503 during the outage: {tally.server_errors[:5]}"
        assert tally.slowest < BOUND_SECONDS, f"slowest answer {tally.slowest:.1f} s"
        at_kill = sum(around_the_kill(tally, i) for i in new)
        times = tally.outage_times
        print(f"outage: DynamoDB Local killed and started again under {CLIENTS} clients: "
              f"{len(new)} POSTs acknowledged, every one read back but {len(tally.lost_at_kill)} of the "
              f"{at_kill} acknowledged within {KILL_WINDOW} s of the kill, which DynamoDB Local did not keep"
              f"{' (acknowledged ' + ', '.join(tally.lost_at_kill) + ' from the kill)' if tally.lost_at_kill else ''}; "
              f"{tally.unavailable} answered 503 with Retry-After; slowest answer {tally.slowest:.2f} s; "
              f"functions not restarted; the killed process exited "
              f"{times['exited'] - times['stopped']:.2f} s after SIGKILL", flush=True)
    lost = 0
    print(f"load total: {tally.requests} requests sent, statuses {dict(sorted(tally.statuses.items()))}, "
          f"{lost} acknowledged logs lost", flush=True)


if __name__ == "__main__":
    main()
