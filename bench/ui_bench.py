#!/usr/bin/env python3
"""Render time of the web UI's list and incident pages with 100,000 anomalies
in the state store (docs/ui.md, "Speed").

Builds the demo state (182 days, about 1,300 anomalies), then copies its
anomaly groups and anomalies back in time, one demo span per copy, until the
store holds --anomalies anomalies; starts `osprey serve` on it and measures,
in headless chromium, the time from setting the page's route to the page
having rendered (data fetched, table or charts drawn), and the API time of
the requests behind each page. Prints the median of --runs runs. Needs
chromium and chromium-driver; not part of the tests (it prints figures, it
asserts nothing)."""
import argparse, os, shutil, sqlite3, statistics, subprocess, sys, tempfile, time, urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import browser_test as bt  # noqa: E402


def grow(state, target):
    """Copies the groups and anomalies back in time until `target` anomalies."""
    db = sqlite3.connect(state)
    lo, hi = db.execute("select min(ts), max(end_ts) from anomaly_groups").fetchone()
    span = (hi - lo + 86400) // 86400 * 86400
    groups = db.execute("select id, detector_id, measure, ts, end_ts, severity, anomaly_count, contributions, "
                        "root_causes, related, incident_ts from anomaly_groups").fetchall()
    anomalies = db.execute("select detector_id, series_id, group_id, ts, value, expected, lower, upper, severity, "
                           "direction, explanation from anomalies").fetchall()
    count = len(anomalies)
    k = 0
    while count < target:
        k += 1
        shift = k * span
        new_id = {}
        for g in groups:
            cur = db.execute("insert into anomaly_groups(detector_id, measure, ts, end_ts, severity, anomaly_count, "
                             "contributions, root_causes, related, incident_ts) values (?,?,?,?,?,?,?,?,?,?)",
                             (g[1], g[2], g[3] - shift, g[4] - shift, g[5], g[6], g[7], g[8], g[9], g[10] - shift))
            new_id[g[0]] = cur.lastrowid
        rows = [(a[0], a[1], new_id[a[2]], a[3] - shift) + a[4:] for a in anomalies]
        rows = rows[:target - count]
        db.executemany("insert into anomalies(detector_id, series_id, group_id, ts, value, expected, lower, upper, "
                       "severity, direction, explanation) values (?,?,?,?,?,?,?,?,?,?,?)", rows)
        count += len(rows)
    db.commit()
    n_groups = db.execute("select count(*) from anomaly_groups").fetchone()[0]
    db.close()
    return count, n_groups


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--osprey", default="build/release/src/osprey/cli/osprey")
    ap.add_argument("--source", default=".")
    ap.add_argument("--work", default="build/release/ui-bench")
    ap.add_argument("--anomalies", type=int, default=100000)
    ap.add_argument("--runs", type=int, default=7)
    a = ap.parse_args()
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        print("needs chromium and chromium-driver (scripts/install-deps.sh)")
        return 1
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    subprocess.run([a.osprey, "demo", "--config", os.path.join(a.source, "examples/ecommerce.yaml"), "--dir", a.work],
                   check=True, stdout=subprocess.DEVNULL)
    state = os.path.join(a.work, "state.db")
    anomalies, groups = grow(state, a.anomalies)
    token = subprocess.run([a.osprey, "token", "create", "--role", "viewer", "--name", "bench", "--state", state],
                           check=True, capture_output=True, text=True).stdout.strip()
    auth = {"Authorization": "Bearer " + token}
    port, dport = bt.free_port(), bt.free_port()
    procs = [subprocess.Popen([a.osprey, "serve", "--state", state, "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    profile = tempfile.mkdtemp(prefix="osprey-chromium-")
    base = f"http://127.0.0.1:{port}"
    try:
        bt.wait_for("the server", lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200)
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
        incident = bt.http("GET", base + "/api/v1/incidents?limit=1&sort=severity", headers=auth)
        iid = incident["incidents"][0]["id"]
        total_incidents = incident["total"]

        def api_ms(path):
            t = []
            for _ in range(a.runs):
                t0 = time.perf_counter()
                bt.http("GET", base + path, headers=auth)
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

        print(f"state store: {anomalies} anomalies in {groups} anomaly groups, {total_incidents} incidents")
        for route, paths in [("#/anomalies", ["/api/v1/anomaly-groups?limit=25"]),
                             ("#/incidents", ["/api/v1/incidents?limit=25"]),
                             (f"#/incidents/{iid}", [f"/api/v1/incidents/{iid}"])]:
            apis = ", ".join(f"GET {p} {api_ms(p):.0f} ms" for p in paths)
            print(f"{route}: rendered in {render_ms(route):.0f} ms (median of {a.runs}); {apis}")
        bt.http("DELETE", f"{durl}/session/{session}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
