#!/usr/bin/env python3
"""Browser test of the web UI with Debian's headless chromium, driven through
chromedriver's WebDriver HTTP interface (standard library only): build the
demo state, create an admin token, start `osprey serve`, log in, open the
anomaly list and a detail page, check the charts rendered and the
contributions show, click "not relevant", and check the feedback was stored.
Screenshots go to --out. Exit 77 (skipped) when chromium is not installed."""
import argparse, base64, json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

W3C_ELEMENT = "element-6066-11e4-a52e-4f735466cecf"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, headers=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        req.add_header("Content-Type", "application/json")
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
        return http(method, self.url + path, body)["value"]

    def go(self, url):
        self.cmd("POST", "/url", {"url": url})

    def find(self, css):
        return self.cmd("POST", "/element", {"using": "css selector", "value": css})[W3C_ELEMENT]

    def count(self, css):
        return len(self.cmd("POST", "/elements", {"using": "css selector", "value": css}))

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def click(self, css):
        self.cmd("POST", f"/element/{self.find(css)}/click", {})

    def type(self, css, text):
        self.cmd("POST", f"/element/{self.find(css)}/value", {"text": text})

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.cmd("GET", "/screenshot")))
        print("screenshot:", path)


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
    subprocess.run([a.osprey, "demo", "--config", os.path.join(a.source, "examples/ecommerce.yaml"),
                    "--dir", a.work], check=True, stdout=subprocess.DEVNULL)
    state = os.path.join(a.work, "state.db")
    token = subprocess.run([a.osprey, "token", "create", "--role", "admin", "--name", "browser-test",
                            "--state", state], check=True, capture_output=True, text=True).stdout.strip()
    port, dport = free_port(), free_port()
    procs = []
    profile = tempfile.mkdtemp(prefix="osprey-chromium-")
    try:
        procs.append(subprocess.Popen([a.osprey, "serve", "--state", state, "--port", str(port)],
                                      stdout=subprocess.DEVNULL))
        base = f"http://127.0.0.1:{port}"
        wait_for("the server", lambda: urllib.request.urlopen(base + "/healthz", timeout=2).status == 200)
        procs.append(subprocess.Popen([driver, f"--port={dport}"], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL))
        durl = f"http://127.0.0.1:{dport}"
        wait_for("chromedriver", lambda: http("GET", durl + "/status", timeout=2)["value"]["ready"])
        caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1360,1000", f"--user-data-dir={profile}"]}}}}
        session = http("POST", durl + "/session", caps, timeout=120)["value"]["sessionId"]
        b = Browser(durl, session)
        try:
            b.go(base + "/")
            wait_for("the login form", lambda: b.js("return !document.getElementById('login').hidden"))
            b.screenshot(os.path.join(a.out, "01-login.png"))
            b.type("#token", token)
            b.click("#login-button")
            wait_for("the anomaly list", lambda: b.count("#anomaly-table tr.row") > 0)
            rows = b.count("#anomaly-table tr.row")
            assert rows >= 10, f"only {rows} rows in the anomaly list"
            b.screenshot(os.path.join(a.out, "02-anomaly-list.png"))
            # Most severe first, then open the top group.
            b.click("#anomaly-table th.sortable")
            wait_for("sorting by severity", lambda: b.js("return document.querySelector('th.sortable.on') && "
                                                         "document.querySelector('th.sortable.on').textContent.startsWith('Severity')"))
            group = b.js("return document.querySelector('#anomaly-table tr.row').dataset.group")
            b.click("#anomaly-table tr.row")
            wait_for("the detail page", lambda: b.js("return document.body.dataset.ready") == f"#/anomaly/{group}")
            b.screenshot(os.path.join(a.out, "03-anomaly-detail.png"))
            charts = b.count(".chart canvas")
            assert charts >= 1, "no chart canvas rendered"
            drawn = b.js("const c = document.querySelector('.chart canvas');"
                         "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
                         "let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n;")
            assert drawn > 1000, f"the chart canvas is nearly empty ({drawn} painted pixels)"
            bars = b.count("#contributions .bar")
            assert bars >= 2, f"{bars} contribution bars"
            b.click("#fb-not-relevant")
            wait_for("the feedback to show", lambda: "not relevant" in b.js(
                "return document.getElementById('feedback-status').textContent"))
            b.screenshot(os.path.join(a.out, "04-feedback.png"))
            stored = http("GET", f"{base}/api/v1/anomaly-groups/{group}/feedback",
                          headers={"Authorization": "Bearer " + token})
            assert stored["feedback"] and stored["feedback"][0]["relevant"] is False, stored
            assert stored["feedback"][0]["author"] == "browser-test", stored
            b.go(base + "/#/detectors")
            wait_for("the detectors page", lambda: b.count("#detector-table tbody tr") >= 1)
            b.screenshot(os.path.join(a.out, "05-detectors.png"))
            print(f"browser test passed: {rows} groups listed, group {group} has {charts} charts and "
                  f"{bars} contribution bars; feedback stored")
        finally:
            http("DELETE", f"{durl}/session/{session}")
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
