#!/usr/bin/env python3
"""Browser test of the web UI with Debian's headless chromium, driven through
chromedriver's WebDriver HTTP interface (standard library only), on a real
`osprey serve` over real HTTP.

It builds the demo state, replays its last week with alerts to a webhook, a
Slack, a PagerDuty and an Alertmanager receiver (a local HTTP server here) and
to a receiver that refuses the first delivery (so it is dead-lettered), then
drives every page: sign-in; the anomaly list (sorting, keyboard); an anomaly
group (charts, contributions, feedback); the incident list and an incident
page (timeline, charts, incident feedback); every link of every alert
payload, which must land on that payload's anomaly group and incident; the
series explorer (range presets, drag-zoom, compare with the previous week);
a detector created in the editor (validation as you type, preview, save),
paused and activated, edited; a failing detector's page; the delivery log
with a dead-lettered message resent; search; a phone-width layout and dark
mode. Screenshots (desktop, phone, dark) go to --out. Exit 77 (skipped) when
chromium is not installed."""
import argparse, base64, datetime, json, os, re, shutil, socket, subprocess, sys, tempfile
import threading, time, urllib.error, urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

W3C_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60, raw=None, content_type="application/json"):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=timeout) as r:
        text = r.read().decode()
        return json.loads(text) if text else None


def wait_for(what, fn, timeout=30):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what} (last error: {last})")


class Browser:
    def __init__(self, driver_url, session):
        self.url = f"{driver_url}/session/{session}"

    def cmd(self, method, path, body=None):
        try:
            return http(method, self.url + path, body)["value"]
        except urllib.error.HTTPError as e:  # the driver's error names what went wrong
            raise AssertionError(f"{method} {path}: {e.read().decode()[:500]}") from None

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[W3C_ELEMENT]

    def count(self, css):
        return len(self.cmd("POST", "/elements", {"using": "css selector", "value": css}))

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", css)

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def keys(self, *keys):
        actions = [{"type": "keyDown", "value": k} for k in keys] + [{"type": "keyUp", "value": k} for k in keys]
        self.cmd("POST", "/actions", {"actions": [{"type": "key", "id": "kb", "actions": actions}]})
        self.cmd("DELETE", "/actions")

    def drag(self, css, x0, x1, y):
        el = {W3C_ELEMENT: self.find(css)}
        self.cmd("POST", "/actions", {"actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": [{"type": "pointerMove", "origin": el, "x": x0, "y": y}, {"type": "pointerDown", "button": 0},
                        {"type": "pointerMove", "origin": el, "x": (x0 + x1) // 2, "y": y, "duration": 100},
                        {"type": "pointerMove", "origin": el, "x": x1, "y": y, "duration": 100},
                        {"type": "pointerUp", "button": 0}]}]})
        self.cmd("DELETE", "/actions")

    def size(self, width, height):
        self.cmd("POST", "/window/rect", {"width": width, "height": height})

    def ready(self, route, timeout=30):
        """Waits until the page for `route` (a hash) has rendered."""
        wait_for(f"the page {route}", lambda: self.js("return document.body.dataset.ready") == route, timeout)

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        print("screenshot:", path)


class Receiver(ThreadingHTTPServer):
    """Alert receivers: records every body by path; /broken answers 400 until
    `accept_broken` is set."""

    def __init__(self):
        self.messages = []
        self.accept_broken = False
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
                if self.path == "/broken" and not outer.accept_broken:
                    self.send_response(400)
                    self.end_headers()
                    return
                with outer.lock:
                    outer.messages.append((self.path, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *a):
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def bodies(self, path):
        with self.lock:
            return [b for p, b in self.messages if p == path]


def alert_config(source, port, rport):
    """examples/ecommerce.yaml with alerts to every kind of receiver."""
    text = open(os.path.join(source, "examples/ecommerce.yaml")).read()
    text = text[:text.index("alerts:")]
    base = f"http://127.0.0.1:{port}"
    alerts = "alerts:\n"
    for name, dest, extra in [("hook", "webhook", ""), ("chat", "slack", ""),
                              ("pager", "pagerduty", ", routing_key_env: OSPREY_TEST_PD_KEY"),
                              ("am", "alertmanager", ""), ("broken", "webhook", ", max_attempts: 1")]:
        alerts += (f"  - {{name: {name}, destination: {dest}, target_env: OSPREY_TEST_{name.upper()}_URL, "
                   f"min_severity: 90, ui_base_url: \"{base}\"{extra}}}\n")
    return text + alerts


def links_of(path, body):
    """(group id, anomaly group URL, incident URL) of one trigger message."""
    if path == "/hook":
        return body["group_id"], body["url"], body["incident_url"]
    if path == "/chat":
        text = body["blocks"][1]["elements"][0]["text"]
        group = re.search(r"<([^|>]+)\|Open in osprey>", text).group(1)
        incident = re.search(r"<([^|>]+)\|Incident>", text).group(1)
        return int(group.rsplit("/", 1)[1]), group, incident
    if path == "/pager":
        hrefs = [l["href"] for l in body["links"]]
        assert body["client_url"] == hrefs[0], body
        return body["payload"]["custom_details"]["group_id"], hrefs[0], hrefs[1]
    if path == "/am":
        a = body["alerts"][0]
        return int(a["annotations"]["group_id"]), a["generatorURL"], a["annotations"]["incident_url"]
    raise AssertionError(path)


def is_trigger(path, body):
    if path == "/hook":
        return body["event"] == "trigger"
    if path == "/chat":
        return "Resolved" not in body["text"] and "Incident>" in json.dumps(body)
    if path == "/pager":
        return body["event_action"] == "trigger"
    if path == "/am":
        return body["status"] == "firing"
    return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--osprey", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        print("SKIP: chromium and chromium-driver are not installed (scripts/install-deps.sh)")
        return 77
    os.makedirs(a.out, exist_ok=True)
    shutil.rmtree(a.work, ignore_errors=True)
    os.makedirs(a.work)
    port, dport = free_port(), free_port()
    receiver = Receiver()
    rport = receiver.server_address[1]
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    config = os.path.join(a.work, "ecommerce.yaml")
    with open(config, "w") as f:
        f.write(alert_config(a.source, port, rport))
    subprocess.run([a.osprey, "demo", "--config", config, "--dir", a.work], check=True, stdout=subprocess.DEVNULL)
    state = os.path.join(a.work, "state.db")
    warehouse = os.path.join(a.work, "warehouse.db")
    env = dict(os.environ, OSPREY_DEMO_WAREHOUSE=warehouse, OSPREY_TEST_PD_KEY="test-routing-key")
    for name in ["hook", "chat", "pager", "am", "broken"]:
        env[f"OSPREY_TEST_{name.upper()}_URL"] = f"http://127.0.0.1:{rport}/{name}"
    # The demo's last week again, now with alerts: they wait in the outbox
    # until `serve` delivers them.
    subprocess.run([a.osprey, "backtest", "-c", config, "--state", state, "--from", "2025-06-23",
                    "--to", "2025-06-30", "--alerts", "--quiet"], check=True, stdout=subprocess.DEVNULL, env=env)
    token = subprocess.run([a.osprey, "token", "create", "--role", "admin", "--name", "browser-test",
                            "--state", state], check=True, capture_output=True, text=True).stdout.strip()
    auth = {"Authorization": "Bearer " + token}
    procs = []
    profile = tempfile.mkdtemp(prefix="osprey-chromium-")
    try:
        # A --config directory with one file that does not load: the Detectors page lists it.
        conf = os.path.join(a.work, "conf")
        os.makedirs(conf)
        with open(os.path.join(conf, "typo.yaml"), "w") as f:
            f.write("name: typo\nfrequncy: PT1H\n")
        procs.append(subprocess.Popen([a.osprey, "serve", "--state", state, "--port", str(port), "--config", conf],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        base = f"http://127.0.0.1:{port}"
        api = lambda path: http("GET", base + path, headers=auth)  # noqa: E731
        wait_for("the server", lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200)
        procs.append(subprocess.Popen([driver, f"--port={dport}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        durl = f"http://127.0.0.1:{dport}"
        wait_for("chromedriver", lambda: http("GET", durl + "/status", timeout=2)["value"]["ready"])
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1360,1000",
                     f"--user-data-dir={profile}"]}}}}
        session = http("POST", durl + "/session", caps, timeout=120)["value"]["sessionId"]
        b = Browser(durl, session)
        shot = lambda name: b.screenshot(os.path.join(a.out, name + ".png"))  # noqa: E731
        checks = []
        try:
            # ---------------------------------------------------------- sign in
            b.go(base + "/")
            wait_for("the login form", lambda: b.js("return !document.getElementById('login').hidden"))
            shot("01-login")
            b.type("#token", token)
            b.click("#login-button")
            wait_for("the anomaly list", lambda: b.count("#anomaly-table tr.row") > 0)
            rows = b.count("#anomaly-table tr.row")
            assert rows >= 10, f"only {rows} rows in the anomaly list"
            shot("02-anomaly-list")
            # Filters live in the URL: a reload keeps them.
            b.go(base + "/#/anomalies?min_severity=90")
            b.ready("#/anomalies?min_severity=90")
            b.js("location.reload()")
            b.ready("#/anomalies?min_severity=90")
            assert b.js("return document.getElementById('f-severity').value") == "90"
            sev = b.js("return [...document.querySelectorAll('#anomaly-table .sev')].map(e => +e.textContent)")
            assert sev and min(sev) >= 90, sev
            # Keyboard: arrow down moves to the next row, Enter opens it.
            b.js("document.querySelector('#anomaly-table tr.row').focus()")
            b.keys("\ue015")  # ArrowDown
            second = b.js("return document.activeElement.dataset.group")
            assert second == b.js("return document.querySelectorAll('#anomaly-table tr.row')[1].dataset.group"), second
            b.keys("\ue007")  # Enter
            b.ready(f"#/anomalies/{second}")
            checks.append("list: filters in the URL survive a reload, keyboard navigation")
            # Most severe first, then open the top group.
            b.go(base + "/#/anomalies")
            b.ready("#/anomalies")
            b.click("#anomaly-table th.sortable")
            b.ready("#/anomalies?sort=severity")
            group = b.js("return document.querySelector('#anomaly-table tr.row').dataset.group")
            b.click("#anomaly-table tr.row")
            b.ready(f"#/anomalies/{group}")
            shot("03-anomaly-group")
            charts = b.count(".chart canvas")
            assert charts >= 1, "no chart canvas rendered"
            drawn = b.js("const c = document.querySelector('.chart canvas');"
                         "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                         "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;")
            assert drawn > 1000, f"the chart canvas is nearly empty ({drawn} painted pixels)"
            bars = b.count("#contributions .bar")
            assert bars >= 2, f"{bars} contribution bars"
            b.click("#fb-not-relevant")
            wait_for("the feedback to show", lambda: "not relevant" in b.text("#feedback-status"))
            stored = api(f"/api/v1/anomaly-groups/{group}/feedback")
            assert stored["feedback"] and stored["feedback"][0]["relevant"] is False, stored
            assert stored["feedback"][0]["author"] == "browser-test", stored
            checks.append(f"group {group}: {charts} charts, {bars} contribution bars, feedback stored")

            # ---------------------------------------------------------- incidents
            b.click("#incident-link")
            b.ready(f"#/incidents/{group}")
            b.go(base + "/#/anomalies")
            b.ready("#/anomalies")
            b.click("#by-incident")
            b.ready("#/incidents")
            wait_for("incident rows", lambda: b.count("#incident-table tr.row") > 0)
            total = api("/api/v1/incidents?limit=500")["total"]  # counted when one page holds them all
            groups_total = api("/api/v1/anomaly-groups?limit=1")["total"]
            assert 0 < total < groups_total, (total, groups_total)
            shot("04-incident-list")
            # The first incident with more than one measure.
            multi = next(i for i in api("/api/v1/incidents?limit=100")["incidents"] if len(i["measures"]) > 1)
            b.go(base + f"/#/incidents/{multi['id']}")
            b.ready(f"#/incidents/{multi['id']}")
            wait_for("every measure's chart", lambda: b.count(".measure .chart canvas") == len(multi["measures"]))
            lanes = b.count("#timeline .lane")
            assert lanes == len(multi["measures"]), lanes
            assert b.count("#timeline .block") >= lanes
            shot("05-incident")
            b.click("#fb-relevant")
            wait_for("incident feedback", lambda: "Marked relevant" in b.text("#feedback-status"))
            for m in multi["measures"]:
                fb = api(f"/api/v1/anomaly-groups/{m['group_id']}/feedback")["feedback"]
                assert fb and fb[-1]["relevant"] is True, (m, fb)
            checks.append(f"incident {multi['id']}: {lanes} measures charted, feedback stored for each")

            # ---------------------------------------------------------- alert links
            paths = ["/hook", "/chat", "/pager", "/am"]
            wait_for("a trigger at every receiver",
                     lambda: all(any(is_trigger(p, x) for x in receiver.bodies(p)) for p in paths), timeout=60)
            for p in paths:
                body = next(x for x in receiver.bodies(p) if is_trigger(p, x))
                gid, group_url, incident_url = links_of(p, body)
                assert group_url == f"{base}/#/anomalies/{gid}", (p, group_url)
                b.go(group_url)
                b.ready(f"#/anomalies/{gid}")
                assert b.js("return document.getElementById('group-head').dataset.group") == str(gid), p
                assert incident_url == f"{base}/#/incidents/{gid}", (p, incident_url)
                b.go(incident_url)
                b.ready(f"#/incidents/{gid}")
                inc = api(f"/api/v1/incidents/{gid}")
                assert b.js("return document.getElementById('incident-head').dataset.incident") == str(inc["id"]), p
                assert b.count(f"#timeline .block.requested[href='#/anomalies/{gid}']") == 1, p
                checks.append(f"{p[1:]} alert: links land on group {gid} and its incident {inc['id']}")

            # ---------------------------------------------------------- explorer
            b.go(base + "/#/explore?detector=ecommerce")
            b.ready("#/explore?detector=ecommerce")
            wait_for("the explorer chart", lambda: b.count("#explore-chart canvas") == 1)
            week = int(b.js("return document.body.dataset.points"))
            b.click("[data-range='30d']")
            b.ready("#/explore?detector=ecommerce&range=30d")
            month = int(b.js("return document.body.dataset.points"))
            assert month > 3 * week, (week, month)
            shot("06-explore")
            b.drag("#explore-chart .u-over", -250, 50, 0)
            wait_for("the zoomed range in the URL", lambda: "range=custom" in b.js("return location.hash")
                     and b.js("return document.body.dataset.ready") == b.js("return location.hash"))
            zoomed = int(b.js("return document.body.dataset.points"))
            assert 0 < zoomed < month, (zoomed, month)
            zoom_hash = b.js("return location.hash")
            b.click("#x-compare")
            wait_for("the previous week", lambda: "Previous week" in b.text("#explore-chart"))
            # The series picker: a dimension value picks that series.
            b.js("const i = document.getElementById('series-input'); i.value = 'views{platform=pc_web, marketplace=ALL}';"
                 "i.dispatchEvent(new Event('input'))")
            wait_for("the picked series", lambda: b.text("#explore-title") == "views{platform=pc_web, marketplace=ALL}")
            shot("07-explore-zoomed")
            checks.append(f"explorer: 7d {week} points, 30d {month}, drag-zoom to {zoomed} ({zoom_hash}), compare, series picker")

            # ---------------------------------------------------------- detector editor
            today = datetime.datetime.now(datetime.timezone.utc).date()
            yaml = open(config).read().replace("name: ecommerce", "name: shop")
            yaml = yaml[:yaml.index("alerts:")]
            yaml = re.sub(r"path: .*", f"path: {warehouse}", yaml).replace("  connection_env: OSPREY_DEMO_WAREHOUSE\n", "")
            yaml += f"history_start: {today - datetime.timedelta(days=1)}\n"
            b.go(base + "/#/new-detector")
            b.ready("#/new-detector")
            b.js("const t = document.getElementById('yaml'); t.value = arguments[0] + 'bogus_key: 1\\n';"
                 "t.dispatchEvent(new Event('input'))", yaml)
            wait_for("the validation error", lambda: "bogus_key" in (b.text("#validation") or ""))
            assert b.js("return document.getElementById('save').disabled"), "save enabled for an invalid file"
            b.js("const t = document.getElementById('yaml'); t.value = arguments[0]; t.dispatchEvent(new Event('input'))", yaml)
            wait_for("a valid file", lambda: (b.text("#validation") or "").startswith("Valid: shop"))
            b.js("document.getElementById('preview-to').value = '2025-06-30'")
            b.click("#preview-button")
            wait_for("the preview", lambda: b.count("#preview-summary") == 1, timeout=120)
            flagged = b.count("#preview-table tbody tr")
            assert flagged >= 1, "the preview flagged nothing"
            shot("08-detector-preview")
            assert "shop" not in [d["name"] for d in api("/api/v1/detectors")["detectors"]], "preview stored the detector"
            b.click("#save")
            b.ready("#/detectors/shop")
            assert api("/api/v1/detectors/shop")["managed_by"] == "api"
            b.click("#pause")
            wait_for("paused", lambda: b.text("#detector-state") == "paused")
            assert api("/api/v1/detectors/shop")["active"] is False
            b.click("#activate")
            wait_for("activated", lambda: b.count("#pause") == 1 and b.text("#detector-state") != "paused")
            assert api("/api/v1/detectors/shop")["active"] is True
            b.click("#edit-detector")
            b.ready("#/detectors/shop/edit")
            b.js("const i = document.getElementById('form-description'); i.value = 'Edited in the browser';"
                 "i.dispatchEvent(new Event('input'))")
            wait_for("the edit to validate", lambda: (b.text("#validation") or "").startswith("Valid: shop")
                     and "description: Edited in the browser" in b.js("return document.getElementById('yaml').value"))
            b.click("#save")
            b.ready("#/detectors/shop")
            assert api("/api/v1/detectors/shop")["description"] == "Edited in the browser"
            shot("09-detector")
            checks.append(f"detector: invalid file refused, preview flagged {flagged}, created, paused, activated, edited")

            # ---------------------------------------------------------- a failing detector
            broken = yaml.replace("name: shop", "name: broken").replace(warehouse, os.path.join(a.work, "missing", "none.db"))
            http("POST", base + "/api/v1/detectors", headers=auth, raw=broken.encode(), content_type="application/yaml")
            wait_for("the detector to fail", lambda: next(d for d in api("/api/v1/status")["detectors"]
                                                        if d["name"] == "broken")["state"] == "failing", timeout=90)
            b.go(base + "/#/detectors")
            b.ready("#/detectors")
            assert b.text("tr[data-detector='broken'] .state") == "failing"
            assert "typo.yaml" in b.text("#broken-files") and "frequncy" in b.text("#broken-files"), b.text("#broken-files")
            b.go(base + "/#/detectors/broken")
            b.ready("#/detectors/broken")
            assert b.text("#detector-state") == "failing"
            assert "none.db" in b.text("#failing"), b.text("#failing")
            # The next retry the scheduler decided, as a time, in the banner and the health list.
            retry = next(d for d in api("/api/v1/status")["detectors"] if d["name"] == "broken")["next_retry"]
            assert retry, "the failing detector has no next_retry in /api/v1/status"
            for where in ("#next-retry time", "#health-next-retry time"):
                shown = b.js("const t = document.querySelector(arguments[0]); return t && t.getAttribute('datetime')", where)
                assert shown == retry, f"{where}: {shown!r}, want {retry!r}"
                assert re.search(r"\d{1,2}:\d{2}", b.text(where)), b.text(where)
            shot("10-detector-failing")
            checks.append(f"failing detector: state, the last error naming the missing file and the next retry ({retry});"
                          " a --config file that does not load listed with its error")

            # ---------------------------------------------------------- dead letters
            wait_for("a dead-lettered message", lambda: api("/api/v1/alerts/deliveries?status=dead")["total"] > 0, timeout=60)
            b.go(base + "/#/alerts?status=dead")
            b.ready("#/alerts?status=dead")
            dead = b.js("return document.querySelector('#delivery-table tr[data-status=dead]').dataset.delivery")
            shot("11-alerts")
            receiver.accept_broken = True
            b.click(f"#delivery-table tr[data-delivery='{dead}'] .resend")
            wait_for("the resent message to be delivered", lambda: any(
                d["id"] == int(dead) and d["status"] == "delivered"
                for d in api("/api/v1/alerts/deliveries?status=delivered&limit=500")["deliveries"]), timeout=60)
            assert receiver.bodies("/broken"), "the resent message did not arrive"
            checks.append(f"dead-lettered message {dead} resent and delivered")
            # A test message through the webhook rule.
            b.go(base + "/#/alerts")
            b.ready("#/alerts")
            before = len(receiver.bodies("/hook"))
            b.click("tr[data-alert='ecommerce/hook'] .send-test")
            wait_for("the test message", lambda: b.text("tr[data-alert='ecommerce/hook'] .test-result") == "Delivered")
            test_msg = receiver.bodies("/hook")[before:]
            assert [m["event"] for m in test_msg] == ["test"], test_msg
            assert test_msg[0]["url"] == f"{base}/#/detectors/ecommerce", test_msg[0]
            checks.append("test message: sent through the webhook rule and received")

            # ---------------------------------------------------------- silences
            # From the most severe group's page: silence its root cause for 4 h.
            g = api(f"/api/v1/anomaly-groups/{group}")
            slices = [c["element"] for c in g["root_causes"]] or [x["dimensions"] for x in g["anomalies"]]
            expected = {k: v for k, v in slices[0].items() if all(s.get(k) == v for s in slices)}
            b.go(base + f"/#/anomalies/{group}")
            b.ready(f"#/anomalies/{group}")
            b.js("const s = document.getElementById('silence-duration'); s.value = '14400';"
                 "s.dispatchEvent(new Event('change'))")
            b.click("#silence-submit")
            wait_for("the missing comment to be refused", lambda: "comment" in (b.text("#silence-msg") or ""))
            assert api("/api/v1/silences")["silences"] == [], "a silence without a comment was stored"
            b.type("#silence-comment", "known outage")
            b.click("#silence-submit")
            wait_for("the silence", lambda: "Silenced until" in (b.text("#silence-msg") or ""))
            silences = api("/api/v1/silences")["silences"]
            assert len(silences) == 1, silences
            s = silences[0]
            assert (s["detector"], s["measure"], s["matchers"]) == (g["detector"], g["measure"], expected), (s, expected)
            assert (s["state"], s["comment"], s["created_by"]) == ("active", "known outage", "browser-test"), s
            span = (datetime.datetime.fromisoformat(s["ends_at"].replace("Z", "+00:00"))
                    - datetime.datetime.fromisoformat(s["starts_at"].replace("Z", "+00:00")))
            assert span == datetime.timedelta(hours=4), span
            b.go(base + "/#/silences")
            b.ready("#/silences")
            assert b.js(f"return document.querySelector(\"#silence-table tr[data-silence='{s['id']}']\").dataset.state") == "active"
            shot("16-silences")
            b.click(f"#silence-table tr[data-silence='{s['id']}'] .expire")
            wait_for("the expired silence", lambda: b.js(
                f"const r = document.querySelector(\"#silence-table tr[data-silence='{s['id']}']\"); return r && r.dataset.state") == "expired")
            assert api("/api/v1/silences?state=active")["silences"] == []
            b.go(base + "/#/alerts?status=silenced")
            b.ready("#/alerts?status=silenced")
            assert b.js("return document.getElementById('d-status').value") == "silenced"
            checks.append(f"silence: group {group}'s root cause {expected} silenced for 4 h from its page, listed, expired")

            # ---------------------------------------------------------- search
            b.go(base + "/#/anomalies")
            b.ready("#/anomalies")
            b.type("#search", "mobile_web")
            wait_for("search results", lambda: b.count("#search-results a") > 0)
            b.js("document.querySelector('#search-results a[href^=\"#/explore\"]').click()")
            wait_for("the explorer on the found series", lambda: "mobile_web" in (b.text("#explore-title") or ""))
            checks.append("search: a dimension value opens its series")

            # ---------------------------------------------------------- phone width, dark mode
            b.size(375, 812)
            for route, name in [(f"#/incidents/{multi['id']}", "12-phone-incident"), ("#/anomalies", "13-phone-list")]:
                b.go(base + "/" + route)
                b.ready(route)
                width = b.js("return document.documentElement.scrollWidth")
                assert width <= 375, f"{route} is {width} px wide at 375"
                right = b.js("return document.getElementById('logout').getBoundingClientRect().right")
                assert right <= 375, f"Sign out ends at {right} px"
                shot(name)
            b.size(1360, 1000)
            b.click("#theme")
            assert b.js("return document.documentElement.dataset.theme") == "dark"
            bg = b.js("return getComputedStyle(document.body).backgroundColor")
            assert bg == "rgb(13, 20, 32)", bg
            for route, name in [(f"#/incidents/{multi['id']}", "14-dark-incident"), ("#/explore?detector=ecommerce", "15-dark-explore")]:
                b.go(base + "/" + route)
                b.ready(route)
                shot(name)
            b.click("#theme")
            checks.append("phone: no overflow at 375 px; dark mode toggles")
            for c in checks:
                print("ok:", c)
            print(f"browser test passed: {len(checks)} checks")
        finally:
            http("DELETE", f"{durl}/session/{session}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        receiver.shutdown()
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
