#!/usr/bin/env python3
"""The report page in a real headless chromium, driven over the DevTools protocol.

A small study is run and reported with the built binary; the page is loaded from its file and
checked: the timeline drew one bar per job, typing into the filter narrows the job table, an
input holding `</script><img onerror>` is shown as text and never runs, and the page made no
network request (every request the browser reports is watched; a control page that does make
one proves the check can fail). A screenshot is kept at target/report-browser/report.png.

Usage: report_test.py JOBSPLIT_BIN. Without chromium it skips, unless JOBSPLIT_REQUIRE_BROWSER=1
(as in CI), where a missing browser is a failure.
"""
import base64, json, os, pathlib, shutil, signal, subprocess, sys, tempfile, time

ROOT = pathlib.Path(__file__).resolve().parents[2]
ART = ROOT / "target" / "report-browser"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
PAYLOAD = '</script><img src=x onerror="window.pwned=1">'


def fail(msg):
    print("report browser test: FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def browser():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    if os.environ.get("JOBSPLIT_REQUIRE_BROWSER") == "1":
        fail("chromium is missing and JOBSPLIT_REQUIRE_BROWSER=1: install it (apt-get install -y chromium)")
    print("report browser test: SKIPPED: no chromium (set JOBSPLIT_REQUIRE_BROWSER=1 to fail instead)", file=sys.stderr)
    sys.exit(0)


def study(jobsplit, work):
    """Runs a 12-job study on two machines (one job fails with the payload) and reports it."""
    def js(*args, ok=(0,)):
        r = subprocess.run([jobsplit, *args], cwd=work, capture_output=True, text=True)
        if r.returncode not in ok:
            fail(f"jobsplit {' '.join(args)} exited {r.returncode}: {r.stderr}")
        return r
    js("init", ".")
    # Each ok job returns a number `n`, 0 to 10 in a shuffled order: a column to sort as numbers.
    jobs = [f"sleep 0.0{k % 5}; echo job {k}; echo '{{\"n\": {(k * 7) % 11}}}' > \"$JOBSPLIT_RESULT\""
            for k in range(11)]
    jobs.append(f"echo '{PAYLOAD}' >&2; exit 3")
    (work / "jobs.txt").write_text("\n".join(jobs) + "\n")
    (work / "machines.json").write_text('{"a": [1, 2], "b": [1, 3]}\n')
    for m in ("a", "b"):
        js("run", "--machine", m, "--yes", "--quiet", ok=(0, 1))
    js("report", "out", "-o", "report.html")
    return work / "report.html", len(jobs)


class Page:
    def __init__(self, chromium, profile):
        import websocket  # websocket-client, from PyPI
        self.proc = subprocess.Popen([chromium, *FLAGS, f"--user-data-dir={profile}",
                                      "--remote-debugging-port=0", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = pathlib.Path(profile) / "DevToolsActivePort"
        deadline = time.time() + 60  # hang guard only
        while not port_file.exists() or not port_file.read_text().strip():
            if time.time() > deadline or self.proc.poll() is not None:
                fail("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        import urllib.request
        while True:
            targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list"))
            pages = [t for t in targets if t.get("type") == "page"]
            if pages:
                break
            time.sleep(0.1)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=60)
        self.n = 0
        self.requests = []
        self.call("Network.enable")
        self.call("Page.enable")
        self.call("Runtime.enable")

    def call(self, method, **params):
        self.n += 1
        self.ws.send(json.dumps({"id": self.n, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("method") == "Network.requestWillBeSent":
                self.requests.append(msg["params"]["request"]["url"])
            if msg.get("id") == self.n:
                if "error" in msg:
                    fail(f"{method}: {msg['error']}")
                return msg.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in r:
            fail(f"{expr}: {r['exceptionDetails']}")
        return r["result"].get("value")

    def load(self, url, ready):
        self.requests = []
        self.call("Page.navigate", url=url)
        deadline = time.time() + 60  # hang guard only
        while not self.eval(ready):
            if time.time() > deadline:
                fail(f"{url} did not become ready")
            time.sleep(0.05)
        # Let late requests (images, fetches) be reported.
        self.eval("new Promise(r => setTimeout(r, 500))")

    def close(self):
        """Ends chromium and every process it started (renderers, the GPU and network services
        may outlive the browser process and go on writing into the profile)."""
        self.ws.close()
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        deadline = time.time() + 10  # hang guard only
        while time.time() < deadline and group_alive(self.proc.pid):
            time.sleep(0.05)


def group_alive(pgid):
    """True while any process of process group `pgid` is alive (not a zombie)."""
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def network(requests):
    """The requests that left the file: anything but the page's own file:// and data: URLs."""
    return [u for u in requests if not (u.startswith("file://") or u.startswith("data:"))]


def main():
    jobsplit = os.path.abspath(sys.argv[1])
    chromium = browser()
    ART.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp) / "study"
        work.mkdir()
        report, jobs = study(jobsplit, work)
        control = pathlib.Path(tmp) / "control.html"
        control.write_text('<!DOCTYPE html><body><img src="http://127.0.0.1:9/x.png">'
                           '<script>fetch("http://127.0.0.1:9/y").catch(()=>{});document.body.dataset.ready=1</script></body>')
        page = Page(chromium, pathlib.Path(tmp) / "profile")
        try:
            # Control: a page that does make requests is caught by the same check.
            page.load(control.as_uri(), "document.body && document.body.dataset.ready === '1'")
            if not network(page.requests):
                fail(f"the control page's requests were not seen ({page.requests}): the network check cannot fail")

            page.load(report.as_uri(), "document.body && document.body.dataset.ready === '1'")
            if network(page.requests):
                fail(f"the report made network requests: {network(page.requests)}")
            info = page.eval("window.jobsplitReport")
            if info["bars"] != jobs or info["rows"] != jobs:
                fail(f"the timeline drew {info['bars']} bars for {jobs} jobs: {info}")
            if page.eval("document.getElementById('timeline').dataset.bars") != str(jobs):
                fail("the canvas does not say it drew one bar per job")
            if page.eval("document.querySelectorAll('#jobs tbody tr').length") != jobs:
                fail("the job table does not list every job")
            if page.eval("window.pwned") is not None:
                fail("the payload in a job's error ran")
            if PAYLOAD not in page.eval("document.getElementById('failures').textContent"):
                fail("the failure's error is not shown as text")
            if page.eval("document.querySelectorAll('#failures img, #jobs img').length") != 0:
                fail("an input became markup")

            # Type into the filter, as a user would.
            page.eval("document.getElementById('filter').focus()")
            page.call("Input.insertText", text="failed")
            rows = page.eval("document.querySelectorAll('#jobs tbody tr').length")
            if rows != 1 or page.eval("window.jobsplitReport.matches") != 1:
                fail(f"filtering for `failed` left {rows} rows, not 1")
            page.eval("document.getElementById('filter').value = ''; document.getElementById('filter').dispatchEvent(new Event('input'))")
            if page.eval("document.querySelectorAll('#jobs tbody tr').length") != jobs:
                fail("clearing the filter did not bring every row back")
            # Sorting: a click on `duration s` twice puts the longest first.
            page.eval("[...document.querySelectorAll('#jobs-head th')].find(t => t.textContent === 'duration s').click()")
            page.eval("[...document.querySelectorAll('#jobs-head th')].find(t => t.textContent === 'duration s').click()")
            durs = page.eval("[...document.querySelectorAll('#jobs tbody tr')].map(r => parseFloat(r.cells[6].textContent))")
            if durs != sorted(durs, reverse=True):
                fail(f"sorting by duration gave {durs}")
            # A result column of numbers sorts as numbers (10 after 9), not as text.
            page.eval("[...document.querySelectorAll('#jobs-head th')].find(t => t.textContent === 'n').click()")
            col = page.eval("[...document.querySelectorAll('#jobs-head th')].findIndex(t => t.textContent === 'n')")
            ns = page.eval(f"[...document.querySelectorAll('#jobs tbody tr')].map(r => r.cells[{col}].textContent).filter(t => t !== '')")
            if ns != [str(n) for n in range(11)]:
                fail(f"sorting by the result column n gave {ns}")
            # The machines table names each machine.
            names = page.eval("[...document.querySelectorAll('#machines tbody tr')].map(r => r.cells[0].textContent)")
            if sorted(names) != ["a", "b"]:
                fail(f"the machines table names {names}, not a and b")
            if network(page.requests):
                fail(f"the report made network requests: {network(page.requests)}")

            page.call("Emulation.setDeviceMetricsOverride", width=1280, height=1400, deviceScaleFactor=1, mobile=False)
            shot = page.call("Page.captureScreenshot", format="png")
            (ART / "report.png").write_bytes(base64.b64decode(shot["data"]))
            shutil.copy(report, ART / "report.html")
        finally:
            page.close()
    print(f"report browser test: ok ({jobs} bars, filter and sort work, no network request); screenshot {ART / 'report.png'}")


if __name__ == "__main__":
    main()
