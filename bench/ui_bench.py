#!/usr/bin/env python3
"""Render time of the web UI's list and incident pages with 100,000 anomalies
in the state store (docs/ui.md, "Speed"), and with --lists the latency of
every list endpoint of the API, first page and a deep page (docs/api.md,
"Paging"; `--lists --no-browser --anomalies 1000000` for the 1 M figures).

Builds the demo state (182 days, about 1,300 anomalies), then copies its
anomaly groups and anomalies back in time, one demo span per copy, until the
store holds --anomalies anomalies; starts `osprey serve` on it and measures,
in headless chromium, the time from setting the page's route to the page
having rendered (data fetched, table or charts drawn), and the API time of
the requests behind each page. Prints the median of --runs runs. Needs
chromium and chromium-driver (not with --no-browser); not part of the tests
(it prints figures, it asserts nothing)."""
import argparse, glob, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import browser_test as bt  # noqa: E402


def grow(state, target):
    """Copies the demo's groups, their incidents rows and anomalies back in
    time, one demo span per copy, until the store holds `target` anomalies;
    adds one delivered alert message per copied incident, so the deliveries
    list grows with them. Ids are assigned here, so a copy is a few
    executemany calls."""
    db = sqlite3.connect(state)
    lo, hi = db.execute("select min(ts), max(end_ts) from anomaly_groups").fetchone()
    span = (hi - lo + 86400) // 86400 * 86400
    groups = db.execute("select id, detector_id, measure, ts, end_ts, severity, anomaly_count, contributions, "
                        "root_causes, related, incident_ts from anomaly_groups order by id").fetchall()
    incidents = db.execute("select detector_id, measure, incident_ts, end_ts, intervals, severity, top_group_id "
                           "from incidents").fetchall()
    anomalies = db.execute("select detector_id, series_id, group_id, ts, value, expected, lower, upper, severity, "
                           "direction, explanation from anomalies").fetchall()
    count = len(anomalies)
    next_group = db.execute("select max(id) from anomaly_groups").fetchone()[0] + 1
    k = 0
    while count < target:
        k += 1
        shift = k * span
        new_id = {g[0]: next_group + i for i, g in enumerate(groups)}
        next_group += len(groups)
        db.executemany("insert into anomaly_groups(id, detector_id, measure, ts, end_ts, severity, anomaly_count, "
                       "contributions, root_causes, related, incident_ts) values (?,?,?,?,?,?,?,?,?,?,?)",
                       [(new_id[g[0]], g[1], g[2], g[3] - shift, g[4] - shift) + g[5:10] + (g[10] - shift,)
                        for g in groups])
        db.executemany("insert into incidents(detector_id, measure, incident_ts, end_ts, intervals, severity, "
                       "top_group_id) values (?,?,?,?,?,?,?)",
                       [(i[0], i[1], i[2] - shift, i[3] - shift, i[4], i[5], new_id[i[6]]) for i in incidents])
        db.executemany("insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, severity, "
                       "idempotency_key, status, attempts, created_at, delivered_at) "
                       "values (?, 'bench', 'trigger', ?, ?, ?, ?, ?, 'delivered', 1, ?, ?)",
                       [(i[0], i[1], new_id[i[6]], i[2] - shift, i[5], f"{new_id[i[6]]}.bench", i[3] - shift,
                         i[3] - shift) for i in incidents])
        rows = [(a[0], a[1], new_id[a[2]], a[3] - shift) + a[4:] for a in anomalies]
        rows = rows[:target - count]
        db.executemany("insert into anomalies(detector_id, series_id, group_id, ts, value, expected, lower, upper, "
                       "severity, direction, explanation) values (?,?,?,?,?,?,?,?,?,?,?)", rows)
        count += len(rows)
    db.commit()
    n_groups = db.execute("select count(*) from anomaly_groups").fetchone()[0]
    db.close()
    return count, n_groups


def start_postgres():
    """A throw-away PostgreSQL cluster in a temporary directory on a free
    loopback port, as the integration tests start one
    (src/osprey/testing/db_servers.cc): initdb (as the postgres user when run
    as root), pg_ctl start without fsync. Returns the URL of its database
    `osprey` and a function that stops it and removes the directory."""
    bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda b: int(b.split("/")[-2].split(".")[0]))
    if not bins:
        raise SystemExit("--postgres needs the PostgreSQL server under /usr/lib/postgresql (scripts/install-deps.sh)")
    pg, as_user = bins[-1], (["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else [])
    d = tempfile.mkdtemp(prefix="osprey-pg-bench-")
    data = os.path.join(d, "data")
    if as_user:
        shutil.chown(d, "postgres", "postgres")
    subprocess.run(as_user + [f"{pg}/initdb", "-D", data, "-U", "osprey", "-A", "trust", "-E", "UTF8", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL)
    port = bt.free_port()
    subprocess.run(as_user + [f"{pg}/pg_ctl", "-D", data, "-l", os.path.join(d, "server.log"), "-w", "-t", "600",
                              "-o", f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c fsync=off "
                              "-c synchronous_commit=off -c full_page_writes=off", "start"],
                   check=True, stdout=subprocess.DEVNULL)

    def stop():
        subprocess.run(as_user + [f"{pg}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(d, ignore_errors=True)

    try:
        psql(f"postgresql://osprey@127.0.0.1:{port}/postgres", "create database osprey")
    except BaseException:
        stop()
        raise
    return f"postgresql://osprey@127.0.0.1:{port}/osprey", stop


def psql(url, sql):
    return subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True,
                          text=True).stdout.strip()


def grow_postgres(url, target):
    """grow() on a PostgreSQL state: the same copies, made by the server in
    one statement per table (copy k of item id gets id + k * stride)."""
    count = int(psql(url, "select count(*) from anomalies"))
    copies = max(0, -(-(target - count) // count))
    psql(url, f"""
        create temp table g0 as select * from anomaly_groups;
        create temp table i0 as select * from incidents;
        create temp table a0 as select * from anomalies;
        create temp table k0 as select k, k * (select max(id) + 1 from g0) as stride,
          k * (select ((max(end_ts) - min(ts) + 86400) / 86400) * 86400 from g0) as shift
          from generate_series(1, {copies}) k;
        insert into anomaly_groups(id, detector_id, measure, ts, end_ts, severity, anomaly_count, contributions,
                                   root_causes, related, incident_ts)
          select g.id + stride, g.detector_id, g.measure, g.ts - shift, g.end_ts - shift, g.severity,
                 g.anomaly_count, g.contributions, g.root_causes, g.related, g.incident_ts - shift from g0 g, k0;
        insert into incidents(detector_id, measure, incident_ts, end_ts, intervals, severity, top_group_id)
          select i.detector_id, i.measure, i.incident_ts - shift, i.end_ts - shift, i.intervals, i.severity,
                 i.top_group_id + stride from i0 i, k0;
        insert into alert_outbox(detector_id, alert, kind, measure, group_id, incident_ts, severity,
                                 idempotency_key, status, attempts, created_at, delivered_at)
          select i.detector_id, 'bench', 'trigger', i.measure, i.top_group_id + stride, i.incident_ts - shift,
                 i.severity, (i.top_group_id + stride) || '.bench', 'delivered', 1, i.end_ts - shift,
                 i.end_ts - shift from i0 i, k0;
        insert into anomalies(detector_id, series_id, group_id, ts, value, expected, lower, upper, severity,
                              direction, explanation)
          select a.detector_id, a.series_id, a.group_id + stride, a.ts - shift, a.value, a.expected, a.lower,
                 a.upper, a.severity, a.direction, a.explanation from a0 a, k0;
        select setval(pg_get_serial_sequence('anomaly_groups', 'id'), (select max(id) from anomaly_groups));
        analyze;""")
    return int(psql(url, "select count(*) from anomalies")), int(psql(url, "select count(*) from anomaly_groups"))


def percentile(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def list_latencies(base, auth, detector, runs, budget_s, depth):
    """p50 and p99 of each list endpoint: its first page, and the page
    reached after `depth` items by following `next` (500 a page)."""
    def timed(url):
        t = []
        end = time.perf_counter() + budget_s
        while len(t) < runs and (len(t) < 5 or time.perf_counter() < end):
            t0 = time.perf_counter()
            bt.http("GET", base + url, headers=auth, timeout=600)
            t.append((time.perf_counter() - t0) * 1000)
        return f"p50 {percentile(t, 0.5):.1f} ms, p99 {percentile(t, 0.99):.1f} ms (n={len(t)})"

    def deep(url, key):
        """The URL of the page after `depth` items (or of the last page)."""
        sep = "&" if "?" in url else "?"
        page = bt.http("GET", f"{base}{url}{sep}limit=500", headers=auth, timeout=600)
        seen = len(page[key])
        while page.get("next") and seen < depth:
            nxt = page["next"]
            page = bt.http("GET", base + nxt, headers=auth, timeout=600)
            seen += len(page[key])
            url = nxt
        return url.replace("limit=500", "limit=50"), seen

    lists = [("/api/v1/anomaly-groups?limit=50", "anomaly_groups"),
             ("/api/v1/anomaly-groups?limit=50&sort=severity", "anomaly_groups"),
             ("/api/v1/anomaly-groups?limit=50&sort=time_asc", "anomaly_groups"),
             (f"/api/v1/anomaly-groups?limit=50&detector={detector}&min_severity=50", "anomaly_groups"),
             ("/api/v1/incidents?limit=50", "incidents"),
             ("/api/v1/incidents?limit=50&sort=severity", "incidents"),
             ("/api/v1/alerts/deliveries?limit=50", "deliveries"),
             ("/api/v1/alerts/deliveries?limit=50&status=delivered", "deliveries")]
    for url, key in lists:
        print(f"GET {url}: first page {timed(url)}", flush=True)
        durl, seen = deep(url.replace("limit=50&", "").replace("?limit=50", ""), key)
        print(f"  deep page (after {seen} items, {durl}): {timed(durl)}", flush=True)
    for url in ["/api/v1/detectors", "/api/v1/silences", f"/api/v1/detectors/{detector}/series?limit=50"]:
        print(f"GET {url}: {timed(url)}", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--osprey", default="build/release/src/osprey/cli/osprey")
    ap.add_argument("--source", default=".")
    ap.add_argument("--work", default="build/release/ui-bench")
    ap.add_argument("--anomalies", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--lists", action="store_true", help="also time every list endpoint (p50/p99)")
    ap.add_argument("--list-runs", type=int, default=200, help="requests per list endpoint (at most)")
    ap.add_argument("--list-seconds", type=float, default=20, help="time per list endpoint (at least 5 requests)")
    ap.add_argument("--depth", type=int, default=50000, help="items before the deep page")
    ap.add_argument("--no-browser", action="store_true", help="API figures only")
    ap.add_argument("--postgres", action="store_true",
                    help="the state store on a throw-away PostgreSQL cluster (the demo backtested into it)")
    a = ap.parse_args()
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not a.no_browser and (not chromium or not driver):
        print("needs chromium and chromium-driver (scripts/install-deps.sh)")
        return 1
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    subprocess.run([a.osprey, "demo", "--config", os.path.join(a.source, "examples/ecommerce.yaml"), "--dir", a.work],
                   check=True, stdout=subprocess.DEVNULL)
    state = os.path.join(a.work, "state.db")
    stop_postgres = None
    if a.postgres:
        # The demo's detector backtested over the demo's range into PostgreSQL.
        state, stop_postgres = start_postgres()
        subprocess.run([a.osprey, "backtest", "-q", "-c", os.path.join(a.source, "examples/ecommerce.yaml"),
                        "--state", state, "--from", "2024-12-30", "--to", "2025-06-30"], check=True,
                       stdout=subprocess.DEVNULL,
                       env=dict(os.environ, OSPREY_DEMO_WAREHOUSE=os.path.join(a.work, "warehouse.db")))
    try:
        return run(a, chromium, driver, state, stop_postgres)
    finally:
        if stop_postgres:
            stop_postgres()


def run(a, chromium, driver, state, postgres):
    t0 = time.perf_counter()
    anomalies, groups = grow_postgres(state, a.anomalies) if postgres else grow(state, a.anomalies)
    print(f"grew the {'PostgreSQL' if postgres else 'SQLite'} store in {time.perf_counter() - t0:.0f} s",
          flush=True)
    token = subprocess.run([a.osprey, "token", "create", "--role", "viewer", "--name", "bench", "--state", state],
                           check=True, capture_output=True, text=True).stdout.strip()
    auth = {"Authorization": "Bearer " + token}
    port, dport = bt.free_port(), bt.free_port()
    procs = [subprocess.Popen([a.osprey, "serve", "--state", state, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    profile = tempfile.mkdtemp(prefix="osprey-chromium-")
    base = f"http://127.0.0.1:{port}"
    try:
        bt.wait_for("the server", lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200, 120)
        incident = bt.http("GET", base + "/api/v1/incidents?limit=1&sort=severity", headers=auth, timeout=600)
        iid = incident["incidents"][0]["id"]
        detector = incident["incidents"][0]["detector"]
        total = incident["total"]
        print(f"state store: {anomalies} anomalies in {groups} anomaly groups, "
              f"{total if total is not None else 'more than 1,000'} incidents", flush=True)
        if a.lists:
            list_latencies(base, auth, detector, a.list_runs, a.list_seconds, a.depth)
        if a.no_browser:
            return 0
        procs.append(subprocess.Popen([driver, f"--port={dport}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        durl = f"http://127.0.0.1:{dport}"
        bt.wait_for("chromedriver", lambda: bt.http("GET", durl + "/status", timeout=2)["value"]["ready"])
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium, "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                                         "--window-size=1360,1000", f"--user-data-dir={profile}"]}}}}
        session = bt.http("POST", durl + "/session", caps, timeout=120)["value"]["sessionId"]
        b = bt.Browser(durl, session)
        b.go(base + "/")
        b.js("sessionStorage.setItem('osprey.token', arguments[0])", token)
        b.js("location.reload()")
        time.sleep(1)

        def api_ms(path):
            t = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                bt.http("GET", base + path, headers=auth, timeout=600)
                t.append((time.perf_counter() - t0) * 1000)
            return statistics.median(t)

        def render_ms(route):
            t = []
            for _ in range(a.runs):
                b.go(base + "/#/alerts")
                b.ready("#/alerts")
                t.append(b.cmd("POST", "/execute/async", {"script": """
                    const [target, done] = arguments; const t0 = performance.now();
                    const obs = new MutationObserver(() => {
                      if (document.body.dataset.ready === target) { obs.disconnect(); done(performance.now() - t0); }
                    });
                    obs.observe(document.body, { attributes: true });
                    location.hash = target;""", "args": [route]}))
            return statistics.median(t)

        for route, paths in [("#/anomalies", ["/api/v1/anomaly-groups?limit=25"]),
                             ("#/incidents", ["/api/v1/incidents?limit=25"]),
                             (f"#/incidents/{iid}", [f"/api/v1/incidents/{iid}"])]:
            apis = ", ".join(f"GET {p} {api_ms(p):.0f} ms" for p in paths)
            print(f"{route}: rendered in {render_ms(route):.0f} ms (median of {a.runs}); {apis}", flush=True)
        bt.http("DELETE", f"{durl}/session/{session}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
