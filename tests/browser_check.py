"""Real-browser check: run a notebook in JupyterLab, driven by headless Chromium through Playwright.

`run_notebook_in_lab(root, 'nbs/train.ipynb', screenshot=...)` starts JupyterLab on 127.0.0.1 (free port,
random token, throw-away Jupyter config/settings/workspaces, autosave off so the notebook on disk is never
written), opens the notebook, waits for the kernel, clears old outputs, runs all cells from the Run menu,
waits until the kernel is idle and every code cell has run (or one raised), saves a screenshot of the
whole notebook and returns what the page shows. Server, kernels and browser are stopped in every case.

Debian's `/usr/bin/chromium` is used as it is: no Playwright browser download.
"""
import contextlib, hashlib, json, os, re, secrets, shutil, signal, socket, subprocess, sys, tempfile, time
import urllib.error, urllib.parse, urllib.request
from pathlib import Path

CHROMIUM = '/usr/bin/chromium'
CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
                 '--disable-background-networking', '--disable-component-update', '--disable-sync',
                 '--no-first-run']

# JupyterLab user settings for the throw-away settings dir: never save the notebook (the run must not write
# outputs into nbs/), no news/update checks (no network), every cell in the DOM (no windowing) so the
# screenshot and the checks see all of them; per-cell execution times recorded (in memory only).
LAB_SETTINGS = {
    '@jupyterlab/docmanager-extension/plugin.jupyterlab-settings': {'autosave': False},
    '@jupyterlab/apputils-extension/notification.jupyterlab-settings': {'fetchNews': 'false',
                                                                       'checkForUpdates': False},
    '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': {'windowingMode': 'none',
                                                                   'scrollPastEnd': False,
                                                                   'recordTiming': True},
}


def missing_requirements():
    "Why the browser check cannot run here (a string), or None when it can."
    if not os.access(CHROMIUM, os.X_OK): return f'{CHROMIUM} not found (Debian: apt-get install -y chromium)'
    try: import playwright.sync_api  # noqa: F401
    except ImportError: return 'the playwright Python package is not installed (pip install playwright)'
    return None


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _api(base, token, path, method='GET', timeout=5):
    req = urllib.request.Request(base + path, method=method, headers={'Authorization': f'token {token}'})
    with urllib.request.urlopen(req, timeout=timeout) as r: body = r.read()
    return json.loads(body) if body.strip() else None


def _descendants(pid):
    try:
        import psutil
        return psutil.Process(pid).children(recursive=True)
    except Exception: return []


def _alive(proc):
    try: return proc.is_running() and proc.status() != 'zombie'
    except Exception: return False


class LabServer:
    "JupyterLab in a subprocess (own process group) with a throw-away Jupyter environment; a context manager."
    def __init__(self, root_dir, start_timeout=90, env=None):
        self.root_dir, self.start_timeout, self.extra_env = Path(root_dir).resolve(), start_timeout, env or {}
        self.token, self.proc, self.kids, self.leftover = secrets.token_hex(24), None, [], []

    def __enter__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix='lab-browser-check-'))
        settings = self.tmp / 'settings'
        for rel, value in LAB_SETTINGS.items():
            (settings / rel).parent.mkdir(parents=True, exist_ok=True)
            (settings / rel).write_text(json.dumps(value))
        env = {k: v for k, v in os.environ.items()
               if k not in ('MPLBACKEND', 'JUPYTER_PATH', 'JUPYTER_CONFIG_PATH', 'JUPYTER_TOKEN')}
        env.update(JUPYTER_CONFIG_DIR=str(self.tmp / 'config'), JUPYTER_RUNTIME_DIR=str(self.tmp / 'runtime'),
                   JUPYTERLAB_SETTINGS_DIR=str(settings), JUPYTERLAB_WORKSPACES_DIR=str(self.tmp / 'workspaces'),
                   JUPYTER_PLATFORM_DIRS='1', PYTHONUNBUFFERED='1')
        env.update(self.extra_env)
        try:
            for attempt in range(3):  # the free port can be taken between free_port() and the bind: retry
                self.port = free_port()
                self.base = f'http://127.0.0.1:{self.port}'
                cmd = [sys.executable, '-m', 'jupyterlab', '--no-browser', '--ip=127.0.0.1', f'--port={self.port}',
                       '--ServerApp.port_retries=0', f'--IdentityProvider.token={self.token}',
                       f'--ServerApp.root_dir={self.root_dir}', '--ServerApp.allow_root=True',
                       '--LabApp.expose_app_in_browser=True', '--LabApp.news_url=None',
                       '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate']
                self.log_path = self.tmp / f'server-{attempt}.log'
                with open(self.log_path, 'wb') as log:
                    self.proc = subprocess.Popen(cmd, cwd=self.root_dir, env=env, stdin=subprocess.DEVNULL,
                                                 stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                if self._wait_ready(): return self
                if self.proc.poll() is None: break  # alive but not answering: give up (timeout)
            raise RuntimeError(f'JupyterLab did not answer on {self.base} within {self.start_timeout}s:\n'
                               + self.log_tail())
        except BaseException:
            self.stop(); raise

    def _wait_ready(self):
        t0 = time.monotonic()
        while time.monotonic() - t0 < self.start_timeout:
            if self.proc.poll() is not None: return False
            try:
                _api(self.base, self.token, '/api/status', timeout=2)
                return True
            except (urllib.error.URLError, OSError, ValueError): time.sleep(0.3)
        return False

    def log_tail(self, n=4000):
        try: return self.log_path.read_text(errors='replace')[-n:]
        except Exception: return ''

    def url(self, path): return f'{self.base}{path}?token={self.token}'
    def api(self, path, method='GET', timeout=5): return _api(self.base, self.token, path, method, timeout)

    def stop(self):
        "Shut down kernels, then the server's process group; kill whatever of its process tree is left."
        p = self.proc
        if p is not None:
            self.kids = _descendants(p.pid)  # kernels run in their own session: remember them
            if p.poll() is None:
                with contextlib.suppress(Exception):
                    for k in self.api('/api/kernels'):
                        with contextlib.suppress(Exception): self.api(f'/api/kernels/{k["id"]}', 'DELETE', timeout=15)
                self.kids += [c for c in _descendants(p.pid) if c not in self.kids]
                with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGTERM)
                try: p.wait(15)
                except subprocess.TimeoutExpired:
                    with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
            with contextlib.suppress(ProcessLookupError): os.killpg(p.pid, signal.SIGKILL)  # stragglers in the group
            for c in self.kids:
                with contextlib.suppress(Exception):
                    if _alive(c): c.kill()
            self.leftover = [c.pid for c in self.kids if _alive(c)] + ([p.pid] if p.poll() is None else [])
            self.proc = None
        if getattr(self, 'tmp', None): shutil.rmtree(self.tmp, ignore_errors=True)

    def __exit__(self, *exc): self.stop()


# One snapshot of the notebook as the page holds it: kernel status (front end), per code cell its prompt,
# execution count and outputs (error outputs with ename/evalue), plus what the DOM shows.
_STATE_JS = r"""() => {
  const app = window.jupyterapp;
  const w = app && app.shell.currentWidget;
  if (!w || !w.content || !w.content.widgets) return null;
  const ctx = w.sessionContext, kernel = ctx && ctx.session && ctx.session.kernel;
  const cells = [];
  w.content.widgets.forEach((cell, index) => {
    const m = cell.model;
    if (m.type !== 'code') return;
    const outputs = [];
    for (let j = 0; j < m.outputs.length; j++) {
      const o = m.outputs.get(j).toJSON();
      outputs.push(o.output_type === 'error' ? {type: 'error', ename: o.ename, evalue: o.evalue}
                                             : {type: o.output_type, name: o.name});
    }
    const prompt = cell.node.querySelector('.jp-InputArea-prompt');
    const images = [...cell.node.querySelectorAll('.jp-OutputArea-output img')].filter(
        i => i.complete && i.naturalWidth > 0).length;
    const ex = (m.getMetadata && m.getMetadata('execution')) || {};
    const t0 = Date.parse(ex['iopub.execute_input'] || ex['shell.execute_reply.started']),
          t1 = Date.parse(ex['shell.execute_reply']);
    cells.push({index, count: m.executionCount, empty: m.sharedModel.getSource().trim() === '',
                prompt: prompt ? prompt.textContent.trim() : null, outputs, images,
                seconds: (t0 && t1) ? Math.round((t1 - t0) / 100) / 10 : null,
                source: m.sharedModel.getSource().slice(0, 80)});
  });
  const stderr = [...document.querySelectorAll(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map(e => e.innerText);
  const images = [...document.querySelectorAll('.jp-OutputArea-output img')].map(
      i => ({complete: i.complete, width: i.naturalWidth, height: i.naturalHeight}));
  return {kernel: kernel ? kernel.status : null, ready: !!(ctx && ctx.isReady), cells, stderr, images,
          statuses: window.__kernelStatuses || []};
}"""


def _sha(path): return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def run_notebook_in_lab(root_dir, notebook, screenshot=None, timeout=300, start_timeout=90, env=None,
                        viewport=(1400, 1000), max_screenshot_height=20000, log=print):
    """Open `notebook` (path relative to `root_dir`) in JupyterLab in headless Chromium, run all cells and
    return a dict: `cells` (per code cell: index, count, prompt, outputs, images, seconds), `errors` (error outputs),
    `tracebacks` (stderr outputs whose text shows a traceback), `images`, `finished` (False on timeout),
    `run_via`, `seconds`, `notebook_unchanged`, `leftover_pids`; per cell, `images` counts its rendered images
    and `seconds` is its execution time.
    Saves a screenshot of the whole notebook to `screenshot` (also when a step times out, for the record)."""
    root_dir = Path(root_dir).resolve()
    nb_path = root_dir / notebook
    if not nb_path.is_file(): raise FileNotFoundError(nb_path)
    sha_before, t0 = _sha(nb_path), time.monotonic()
    # JupyterLab writes a checkpoint when it opens a notebook: remove it afterwards unless it was there before.
    ckpt = nb_path.parent / '.ipynb_checkpoints' / f'{nb_path.stem}-checkpoint{nb_path.suffix}'
    ckpt_dir_existed, ckpt_existed = ckpt.parent.exists(), ckpt.exists()
    res = {'notebook': str(notebook), 'finished': False}

    def elapsed(): return round(time.monotonic() - t0, 1)

    lab = LabServer(root_dir, start_timeout=start_timeout, env=env)
    try:
        _drive(lab, notebook, screenshot, timeout, viewport, max_screenshot_height, log, res, elapsed)
    finally:
        res['leftover_pids'] = lab.leftover
        if not ckpt_existed:
            with contextlib.suppress(OSError): ckpt.unlink()
            if not ckpt_dir_existed:
                with contextlib.suppress(OSError): ckpt.parent.rmdir()
    res['notebook_unchanged'] = _sha(nb_path) == sha_before
    res['seconds'] = elapsed()
    return res


def _drive(lab, notebook, screenshot, timeout, viewport, max_screenshot_height, log, res, elapsed):
    from playwright.sync_api import sync_playwright
    with lab, sync_playwright() as pw:
        log(f'[browser] JupyterLab up at {lab.base} after {elapsed()}s')
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={'width': viewport[0], 'height': viewport[1]})
            page.set_default_timeout(60_000)
            page.goto(lab.url('/lab/tree/' + urllib.parse.quote(Path(notebook).as_posix())),
                      wait_until='domcontentloaded')

            def state(): return page.evaluate(_STATE_JS)

            def wait_for(pred, limit, what, interval=0.25, accept_dialogs=False):
                end = time.monotonic() + limit
                while True:
                    # A kernel picker shows when the notebook names no kernel: take the default.
                    if accept_dialogs and page.locator('.jp-Dialog .jp-mod-accept').count():
                        page.locator('.jp-Dialog .jp-mod-accept').first.click()
                    s = state()
                    if s is not None and pred(s): return s
                    if time.monotonic() > end: raise TimeoutError(f'timed out after {limit}s waiting for {what}')
                    page.wait_for_timeout(interval * 1000)

            page.wait_for_selector('.jp-Notebook .jp-Cell', state='attached', timeout=120_000)
            wait_for(lambda s: s['ready'] and s['kernel'] == 'idle', 120, 'the kernel to be idle',
                     accept_dialogs=True)
            log(f'[browser] notebook open, kernel idle after {elapsed()}s')

            # Start from a clean slate: outputs and execution counts saved in the file must not count.
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:clear-all-cell-outputs')")
            wait_for(lambda s: all(c['count'] is None and not c['outputs'] for c in s['cells']), 30,
                     'outputs to be cleared')

            # Every kernel status from now on (a restart after the kernel died passes too fast for polling).
            page.evaluate('''() => { window.__kernelStatuses = [];
              window.jupyterapp.shell.currentWidget.sessionContext.statusChanged.connect(
                (_, st) => window.__kernelStatuses.push(st)); }''')
            # Run > Run All Cells, as a person would; the command itself if the menu cannot be used.
            t_run = time.monotonic()
            try:
                page.locator('.lm-MenuBar-item', has_text=re.compile(r'^Run$')).click(timeout=10_000)
                page.locator('.lm-Menu-item:not(.lm-mod-disabled)',
                             has_text=re.compile(r'^Run All Cells')).first.click(timeout=10_000)
                res['run_via'] = 'menu Run > Run All Cells'
            except Exception as e:  # noqa: BLE001
                log(f'[browser] menu not usable ({type(e).__name__}); running the command instead')
                page.keyboard.press('Escape')
                page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
                res['run_via'] = 'command notebook:run-all-cells'

            seen, died = set(), {'dead', 'restarting', 'autorestarting'}

            def done(s):
                seen.update([s['kernel'], *s['statuses']])
                if seen & died: return True  # the kernel died (and maybe restarted): stop waiting
                code = [c for c in s['cells'] if not c['empty']]
                if s['kernel'] != 'idle' or any(c['prompt'] == '[*]:' for c in s['cells']): return False
                errored = any(o['type'] == 'error' for c in s['cells'] for o in c['outputs'])
                return errored or all(c['count'] is not None for c in code)

            try:
                wait_for(done, timeout, 'all cells to run', interval=0.5)
                page.wait_for_timeout(1000)  # settle: a late output/update must not be missed
                s = wait_for(done, 60, 'all cells to run (settled)', interval=0.5)
                res['finished'] = True
            except TimeoutError as e:
                res['timeout'] = str(e)
                s = state()
            res['kernel_states'] = sorted(str(k) for k in seen)
            res['kernel_died'] = bool(seen & died)
            res['run_seconds'] = round(time.monotonic() - t_run, 1)
            log(f'[browser] run finished={res["finished"]} after {res["run_seconds"]}s of execution')

            # Let images finish decoding before they are judged and photographed.
            with contextlib.suppress(Exception):
                page.wait_for_function("() => [...document.querySelectorAll('.jp-OutputArea-output img')]"
                                       ".every(i => i.complete)", timeout=10_000)
            s = state() or s or {'cells': [], 'images': [], 'kernel': None, 'stderr': []}
            res['cells'], res['images'], res['kernel'] = s['cells'], s['images'], s['kernel']
            res['errors'] = [dict(cell=c['index'], count=c['count'], **o) for c in s['cells']
                             for o in c['outputs'] if o['type'] == 'error']
            res['tracebacks'] = [t[:2000] for t in s['stderr'] if 'Traceback (most recent call last)' in t]
            res['not_run'] = [c for c in s['cells'] if not c['empty'] and c['count'] is None]

            if screenshot:
                _screenshot_notebook(page, screenshot, viewport, max_screenshot_height)
                res['screenshot'] = str(screenshot)
        except BaseException:
            if screenshot and 'page' in locals():  # a picture of how it got stuck
                with contextlib.suppress(Exception):
                    _screenshot_notebook(page, screenshot, viewport, max_screenshot_height)
                    res['screenshot'] = str(screenshot)
            raise
        finally:
            browser.close()


def _screenshot_notebook(page, path, viewport, max_height):
    "Grow the viewport to the notebook's full height (JupyterLab scrolls inside a fixed-size app) and shoot."
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    page.keyboard.press('Escape')  # no open menu/completer in the picture
    with contextlib.suppress(Exception): page.evaluate('() => window.jupyterapp.shell.collapseLeft()')
    extra = page.evaluate("""() => {
      const sc = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')
              || document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook');
      if (!sc) return 0;
      sc.scrollTop = 0;
      return Math.max(0, sc.scrollHeight - sc.clientHeight);
    }""")
    height = min(viewport[1] + int(extra) + 40, max_height)
    page.set_viewport_size({'width': viewport[0], 'height': height})
    page.wait_for_timeout(800)  # relayout
    page.screenshot(path=str(path), full_page=True)
