"""Playwright harness for JupyterLab 4 end-to-end checks (no pytest dependency).

    from jlab_harness import JupyterLab, LabBrowser
    with JupyterLab(["demo.ipynb"], extra_files=["helpers.py"]) as lab, LabBrowser(lab) as br:
        nb = br.open_notebook("demo.ipynb")
        nb.run_all()
        facts = nb.facts()          # imgs, error outputs, widgets, console errors, blocked URLs

* The server runs from the *current* interpreter's environment (``python -m jupyterlab``) on a
  free port with a random token, ``--no-browser --allow-root``, in a temporary notebook dir that
  holds copies of the notebooks.  It gets private config/settings/workspace dirs, so the user's
  own settings never leak in, and: news/update toasts off, announcements plugin disabled,
  autosave off, notebook windowing off (all cells stay in the DOM), ``window.jupyterapp`` exposed.
* The browser blocks every request that does not go to 127.0.0.1/localhost (``blocked_urls``),
  so a passing run proves the page works offline.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

CHROMIUM = os.environ.get("LFNB_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

# user-settings written into the private JUPYTERLAB_SETTINGS_DIR
DEFAULT_LAB_SETTINGS: dict[str, dict[str, Any]] = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings":
        {"fetchNews": "false", "checkForUpdates": False, "doNotDisturbMode": True},
    "@jupyterlab/docmanager-extension/plugin.jupyterlab-settings": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings": {"saveState": False},
}
DISABLED_EXTENSIONS = ["@jupyterlab/apputils-extension:announcements"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class JupyterLab:
    """A throw-away ``jupyter lab`` server."""

    def __init__(self, notebooks: Iterable[str | os.PathLike], extra_files: Iterable[str | os.PathLike] = (),
                 *, python: str = sys.executable, lab_settings: dict[str, dict] | None = None,
                 extra_args: Iterable[str] = (), startup_timeout: float = 90.0, keep_dir: bool = False):
        self.notebooks = [Path(p) for p in notebooks]
        self.extra_files = [Path(p) for p in extra_files]
        self.python = python
        self.lab_settings = {**DEFAULT_LAB_SETTINGS, **(lab_settings or {})}
        self.extra_args = list(extra_args)
        self.startup_timeout = startup_timeout
        self.keep_dir = keep_dir
        self.port = 0
        self.token = ""
        self.root: Path | None = None
        self.notebook_dir: Path | None = None
        self.proc: subprocess.Popen | None = None
        self.ready_seconds: float | None = None
        self.log_path: Path | None = None

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> JupyterLab:
        import secrets

        self.root = Path(tempfile.mkdtemp(prefix="jlab-harness-"))
        self.notebook_dir = self.root / "notebooks"
        self.notebook_dir.mkdir()
        for p in [*self.notebooks, *self.extra_files]:
            shutil.copy2(p, self.notebook_dir / p.name)
        settings_dir, config_dir = self.root / "settings", self.root / "config"
        for rel, value in self.lab_settings.items():
            f = settings_dir / rel
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_text(json.dumps(value))
        (config_dir / "labconfig").mkdir(parents=True)
        (config_dir / "labconfig" / "page_config.json").write_text(
            json.dumps({"disabledExtensions": {e: True for e in DISABLED_EXTENSIONS}}))
        env = dict(os.environ,
                   JUPYTER_CONFIG_DIR=str(config_dir),
                   JUPYTERLAB_SETTINGS_DIR=str(settings_dir),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.root / "workspaces"),
                   JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
                   JUPYTER_PLATFORM_DIRS="1", PYDEVD_DISABLE_FILE_VALIDATION="1")
        env.pop("JUPYTER_TOKEN", None)
        self.port, self.token = free_port(), secrets.token_hex(16)
        cmd = [self.python, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--port={self.port}", "--ip=127.0.0.1", f"--IdentityProvider.token={self.token}",
               f"--ServerApp.root_dir={self.notebook_dir}", "--ServerApp.port_retries=0",
               "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=",
               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
               "--ServerApp.terminals_enabled=False", *self.extra_args]
        self.log_path = self.root / "server.log"
        t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, env=env, cwd=self.notebook_dir, stdout=open(self.log_path, "wb"),
                                     stderr=subprocess.STDOUT, start_new_session=True)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter lab exited ({self.proc.returncode}):\n{self.log()}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        with urllib.request.urlopen(self.url("lab"), timeout=10) as r2:
                            if r2.status == 200:
                                break
            except OSError:
                pass
            if time.monotonic() - t0 > self.startup_timeout:
                self.stop()
                raise TimeoutError(f"jupyter lab not ready after {self.startup_timeout}s:\n{self.log()}")
            time.sleep(0.2)
        self.ready_seconds = time.monotonic() - t0
        return self

    def stop(self, timeout: float = 15.0) -> None:
        p = self.proc
        if p is not None and p.poll() is None:
            try:  # polite shutdown through the API first (stops kernels), then SIGTERM, then SIGKILL
                req = urllib.request.Request(self.url("api/shutdown"), method="POST")
                urllib.request.urlopen(req, timeout=5).close()
                p.wait(timeout=timeout)
            except Exception:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=timeout)
                except Exception:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        self.proc = None
        if self.root is not None and not self.keep_dir:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> JupyterLab:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- helpers ----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def url(self, path: str = "lab") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base_url}{path.lstrip('/')}{sep}token={self.token}"

    def start_kernels(self, names: Iterable[str], timeout: float = 120.0) -> None:
        """Start each notebook's kernel session through the REST API, before any page is open.

        jupyter_server 2.21 answers ``GET /api/kernels`` with 500 while a kernel is starting
        (``kernel_model`` reads ``kernel.last_activity``, which ``start_kernel`` sets only at its
        end; the AttributeError is not caught), and JupyterLab polls that list from every open
        page: kernels started by pages opened side by side made a page's poll fail now and then
        (a console error seen in CI). ``POST /api/sessions`` returns once its kernel has started;
        pages opened afterwards attach to these sessions, so no kernel starts while a page polls.
        """
        for name in names:
            body = json.dumps({"path": name, "name": name, "type": "notebook", "kernel": {"name": "python3"}})
            req = urllib.request.Request(self.url("api/sessions"), data=body.encode(), method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=timeout) as r:
                if r.status != 201:
                    raise RuntimeError(f"could not start a kernel for {name}: HTTP {r.status}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def notebook_json(self, name: str) -> dict:
        return json.loads((self.notebook_dir / name).read_text())


class LabBrowser:
    """Headless Chromium (the system binary; Playwright's download needs the network), non-local requests blocked."""

    def __init__(self, lab: JupyterLab, *, headless: bool = True, viewport=(1400, 1000)):
        self.lab, self.headless, self.viewport = lab, headless, viewport
        self._pw = self.browser = self.context = None
        self.blocked_urls: list[str] = []
        self._contexts: list = []

    def __enter__(self) -> LabBrowser:
        from playwright.sync_api import sync_playwright

        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                                headless=self.headless)
        self.context = self.new_context()
        return self

    def new_context(self):
        """A browser context (own storage) with the offline route. JupyterLab pages opened at the same
        time in one context fight over their window name ("Window name candidate … already exists")."""
        context = self.browser.new_context(viewport={"width": self.viewport[0], "height": self.viewport[1]})
        context.route("**/*", self._route)
        self._contexts.append(context)
        return context

    def _route(self, route) -> None:
        url = route.request.url
        host = urlparse(url).hostname or ""
        if url.startswith(("data:", "blob:", "file:")) or host in LOCAL_HOSTS:
            route.continue_()
        else:
            self.blocked_urls.append(url)
            route.abort("internetdisconnected")

    def __exit__(self, *exc) -> None:
        for obj in (*self._contexts, self.browser):
            try:
                obj and obj.close()
            except Exception:
                pass
        if self._pw:
            self._pw.stop()

    def open_url(self, url: str, wait_ms: int = 1500) -> NotebookPage:
        """Any page (e.g. an nbconvert HTML file:// URL) with the same console/blocking bookkeeping."""
        page = self.context.new_page()
        nb = NotebookPage(self, page, url)
        page.goto(url, wait_until="load")
        page.wait_for_timeout(wait_ms)
        return nb

    def open_notebook(self, name: str, timeout: float = 60.0) -> NotebookPage:
        return self.start_notebook(name).wait_open(timeout)

    def start_notebook(self, name: str, timeout: float = 60.0) -> NotebookPage:
        """Start loading a notebook page in its own context; :meth:`NotebookPage.wait_open` waits for it."""
        page = self.new_context().new_page()
        nb = NotebookPage(self, page, name)
        nb._t_open = time.monotonic()
        # A workspace of its own per page (pages opened side by side would all save the shared "default"
        # workspace at once), and ?reset: start it empty (no tabs restored from an earlier page).
        workspace = "e2e-" + re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
        page.goto(self.lab.url(f"lab/workspaces/{workspace}/tree/{name}?reset"), wait_until="commit",
                  timeout=timeout * 1000)
        return nb

_JS_PANEL = """const panel = (name) => { for (const w of window.jupyterapp.shell.widgets('main'))
  { if (w.context && w.context.path === name && w.content && w.content.widgets) return w; } return null; };"""

_JS_STATE = """(name) => { """ + _JS_PANEL + """
  const w = panel(name);
  const k = w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return {kernel: k ? k.status : null, ready: w.sessionContext.isReady,
          counts: cells.map(c => c.model.executionCount),
          queued: cells.filter(c => (c.node.querySelector('.jp-InputArea-prompt') || {}).textContent
                                     === '[*]:').length};
}"""

_JS_FACTS = """(name) => { """ + _JS_PANEL + """
  const p = window.jupyterapp && window.jupyterapp.shell ? panel(name) : null;
  const root = p ? p.content.node : document.body;
  const imgs = [...root.querySelectorAll('img')].map(i => ({src: i.getAttribute('src').slice(0, 60),
      naturalWidth: i.naturalWidth, naturalHeight: i.naturalHeight, complete: i.complete}));
  const q = s => root.querySelectorAll(s).length;
  const txt = root.innerText;
  return {
    imgs,
    stderr_outputs: q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'),
    error_outputs: q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]'),
    widget_views: q('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.widget-view+json"]'),
    widgets: q('.jupyter-widgets:not(.jp-OutputArea-output)') + q('.jp-OutputArea-output.jupyter-widgets'),
    buttons: q('button.jupyter-button'),
    output_widgets: q('.jupyter-widgets.jp-OutputArea-output .jp-OutputArea, .widget-output'),
    vega_embeds: q('.vega-embed'),
    vega5_outputs: q('.jp-RenderedVega5'),
    widget_model_not_found: (txt.match(/Error displaying widget/g) || []).length,
    loading_widget: (txt.match(/Loading widget\\.\\.\\./g) || []).length,
    mime_types: [...root.querySelectorAll('.jp-OutputArea-output')].map(e => e.dataset.mimeType ||
        [...e.classList].filter(c => c.startsWith('jp-Rendered') || c === 'jupyter-widgets').join(' ') || '?'),
  };
}"""


class NotebookPage:
    def __init__(self, browser: LabBrowser, page, name: str):
        self.browser, self.page, self.name = browser, page, name
        self.console_errors: list[str] = []
        self.console_all: list[str] = []
        self.open_seconds = self.run_seconds = None
        page.on("console", self._on_console)
        page.on("pageerror", lambda e: self.console_errors.append(f"pageerror: {e}"))
        page.on("response", self._on_response)

    def _on_console(self, msg) -> None:
        line = f"{msg.type}: {msg.text}"
        self.console_all.append(line)
        if msg.type == "error":
            self.console_errors.append(line)

    def _on_response(self, response) -> None:
        # the console's "Failed to load resource … 500" names no URL: say which request failed
        if response.status >= 500:
            self.console_errors.append(f"http {response.status}: {response.request.method} {response.url}")

    def state(self) -> dict:
        return self.page.evaluate(_JS_STATE, self.name)

    def _panel_js(self, body: str) -> str:
        """JS arrow fn (name) => {...} with `w` bound to this notebook's panel."""
        return "(name) => { " + _JS_PANEL + " const w = panel(name); " + body + " }"

    def wait_kernel_idle(self, timeout: float = 60.0) -> None:
        self.page.wait_for_function(self._panel_js(
            "const s = w && w.sessionContext;"
            " return !!(s && s.isReady && s.session && s.session.kernel && s.session.kernel.status === 'idle');"),
            arg=self.name, timeout=timeout * 1000)

    def wait_open(self, timeout: float = 60.0) -> NotebookPage:
        self.page.wait_for_function("(name) => window.jupyterapp && window.jupyterapp.shell && (() => {"
                                    + _JS_PANEL + " return !!panel(name); })()", arg=self.name, timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)
        self.open_seconds = time.monotonic() - self._t_open
        return self

    def run_all(self, timeout: float = 120.0) -> float:
        self.start_run_all()
        return self.wait_run_all(timeout)

    def start_run_all(self) -> None:
        """Run all cells without waiting (several notebooks can run at once); see :meth:`wait_run_all`."""
        self._t_run = time.monotonic()
        self.activate()
        self.page.evaluate("() => { window.__lfnbRunAll = 'running'; window.jupyterapp.commands"
                           ".execute('notebook:run-all-cells').then(() => { window.__lfnbRunAll = 'done'; },"
                           " e => { window.__lfnbRunAll = 'failed: ' + e; }); }")

    def wait_run_all(self, timeout: float = 120.0) -> float:
        """Wait until run-all has finished (also when a failing cell stopped it) and the kernel is idle."""
        self.page.wait_for_function("() => window.__lfnbRunAll !== 'running'", timeout=timeout * 1000)
        self.wait_kernel_idle(timeout)
        self.last_state = self.state()
        self.page.wait_for_timeout(300)  # let late renderers (widgets, vega) settle
        self.run_seconds = time.monotonic() - self._t_run
        return self.run_seconds

    def execute(self, code: str, timeout: float = 30.0) -> dict:
        """Run code in the notebook's kernel (not in a cell); returns {'status','stdout'}."""
        return self.page.evaluate("""async ([code, t, name]) => { """ + _JS_PANEL + """
          const k = panel(name).sessionContext.session.kernel;
          const f = k.requestExecute({code, silent: false, store_history: false});
          let out = ''; f.onIOPub = m => { if (m.header.msg_type === 'stream') out += m.content.text; };
          const r = await f.done; return {status: r.content.status, stdout: out};
        }""", [code, timeout, self.name])

    def activate(self) -> None:
        self.page.evaluate(self._panel_js("window.jupyterapp.shell.activateById(w.id);"), self.name)

    def save(self) -> None:
        self.page.evaluate(self._panel_js("return w.context.save();"), self.name)
        self.page.wait_for_function(self._panel_js("return !w.context.model.dirty;"), arg=self.name,
                                    timeout=30000)

    def facts(self) -> dict:
        f = self.page.evaluate(_JS_FACTS, self.name)
        if self.page.evaluate("() => !!(window.jupyterapp && window.jupyterapp.shell)"):
            f["unexecuted_cells"] = sum(c is None for c in self.state()["counts"])
        f["broken_imgs"] = [i for i in f["imgs"] if not i["naturalWidth"]]
        f["console_errors"] = list(self.console_errors)
        f["blocked_urls"] = list(self.browser.blocked_urls)
        return f

    def cell_output(self, index: int):
        """Locator of the output area of the index-th cell (all cell types count)."""
        return self.page.locator(".jp-Notebook .jp-Cell").nth(index).locator(".jp-Cell-outputArea")

    def hover_tooltip(self, container, selector: str = "#vg-tooltip-element.visible, .vg-tooltip.visible",
                      step: int = 12) -> str | None:
        """Sweep the mouse over the chart's SVG/canvas until a vega tooltip becomes visible.
        Returns the tooltip text or None."""
        marks = container.locator(".vega-embed svg .mark-rect path, .vega-embed svg .mark-symbol path")
        for i in range(min(marks.count(), 20)):  # SVG renderer: hover the marks themselves
            marks.nth(i).scroll_into_view_if_needed()
            marks.nth(i).hover(force=True)
            tip = self.page.query_selector(selector)
            if tip and tip.is_visible():
                return tip.inner_text()
        target = container.locator(".vega-embed svg.marks, .vega-embed canvas").first
        target.scroll_into_view_if_needed()
        box = target.bounding_box()
        if not box:
            return None
        y0, y1 = box["y"] + 5, box["y"] + box["height"] - 5
        x0, x1 = box["x"] + 5, box["x"] + box["width"] - 5
        y = y0
        while y < y1:
            x = x0
            while x < x1:
                self.page.mouse.move(x, y)
                tip = self.page.query_selector(selector)
                if tip and tip.is_visible():
                    return tip.inner_text()
                x += step
            y += step
        return None


def missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return (f"no Chromium at {CHROMIUM} (install it: apt-get install -y chromium, "
                "or point LFNB_CHROMIUM at a Chromium binary)")
    return None
