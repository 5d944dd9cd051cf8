"""Real browser check: nbs/train.ipynb runs in JupyterLab in headless Chromium without an error and shows its
loss plot. Screenshot: runs/browser_train_ipynb.png. Needs Debian's /usr/bin/chromium and the playwright
package (no Playwright browser download); skips when either is missing."""
import json
from pathlib import Path
import pytest
from browser_check import missing_requirements, run_notebook_in_lab

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = 'nbs/train.ipynb'
SCREENSHOT = ROOT / 'runs' / 'browser_train_ipynb.png'


def _skip_unless_possible():
    why = missing_requirements()
    if why: pytest.skip(f'real browser check needs Chromium and Playwright: {why}')


def _brief(res):
    "The run's result without the per-cell detail, for assertion messages."
    return json.dumps({k: v for k, v in res.items() if k != 'cells'}, indent=1, default=str)[:6000]


def test_train_notebook_in_jupyterlab():
    _skip_unless_possible()
    assert (ROOT / NOTEBOOK).is_file(), f'{NOTEBOOK} is missing'
    # IN_TEST=1 (in the server's environment, so the kernel has it) makes the notebook the smoke run that
    # nbdev-test runs (a few steps, outputs under runs/nbdev-test) instead of the minutes-long demo.
    res = run_notebook_in_lab(ROOT, NOTEBOOK, screenshot=SCREENSHOT, timeout=300, env={'IN_TEST': '1'})
    print(f'\n[browser] {NOTEBOOK}: {res["seconds"]}s in all, {res.get("run_seconds")}s running cells; '
          f'screenshot {res.get("screenshot")}')
    slow = sorted((c for c in res.get('cells', []) if c.get('seconds')), key=lambda c: -c['seconds'])[:5]
    print('[browser] slowest cells: ' + ', '.join(f'cell {c["index"]} [{c["count"]}] {c["seconds"]}s' for c in slow))
    assert res['finished'], f'the notebook did not finish running: {res.get("timeout")}\n{_brief(res)}'
    assert not res['kernel_died'], f'the kernel died or restarted during the run\n{_brief(res)}'
    assert not res['errors'], 'cells raised: ' + '; '.join(
        f'cell {e["cell"]} [{e["count"]}]: {e["ename"]}: {e["evalue"]}' for e in res['errors'])
    assert not res['tracebacks'], 'outputs show a traceback:\n' + '\n---\n'.join(res['tracebacks'])
    assert not res['not_run'], 'code cells without an execution count: ' + ', '.join(
        f'cell {c["index"]}: {c["source"]!r}' for c in res['not_run'])
    shown = [i for i in res['images'] if i['complete'] and i['width'] > 0 and i['height'] > 0]
    assert shown, f'no rendered image in the outputs: {res["images"]}'
    training = [c for c in res['cells'] if 'LiveLossPlot' in c['source']]
    assert training and training[0]['images'] >= 1, f'the loss plot is not rendered: {training}'
    assert res['notebook_unchanged'], f'{NOTEBOOK} was modified on disk by the run (autosave?)'
    assert not res['leftover_pids'], f'processes left behind: {res["leftover_pids"]}'
    assert SCREENSHOT.is_file() and SCREENSHOT.stat().st_size > 0


def _code(src): return {'cell_type': 'code', 'execution_count': None, 'metadata': {}, 'outputs': [], 'source': src}


def test_browser_check_sees_errors(tmp_path):
    "The checker itself: a warning on stderr is no error, a plot counts as an image, an exception is caught."
    _skip_unless_possible()
    nb = {'nbformat': 4, 'nbformat_minor': 5, 'cells': [
        {'cell_type': 'markdown', 'metadata': {}, 'source': '# checker self-test'},
        _code('import sys, warnings\nprint("hello")\nwarnings.warn("only a warning")\nprint("note", file=sys.stderr)'),
        _code('import matplotlib.pyplot as plt\nplt.plot([3, 2, 1.5]); plt.title("loss"); plt.show()'),
        _code('1 / 0'),
        _code('print("never runs")')],
        'metadata': {'kernelspec': {'display_name': 'Python 3', 'language': 'python', 'name': 'python3'}}}
    (tmp_path / 'raises.ipynb').write_text(json.dumps(nb))
    res = run_notebook_in_lab(tmp_path, 'raises.ipynb', screenshot=tmp_path / 'raises.png', timeout=120)
    assert res['finished'], _brief(res)
    assert [(e['cell'], e['ename']) for e in res['errors']] == [(3, 'ZeroDivisionError')], _brief(res)
    assert len(res['tracebacks']) == 1 and 'ZeroDivisionError' in res['tracebacks'][0], _brief(res)
    assert [c['index'] for c in res['not_run']] == [4], _brief(res)
    assert any(i['width'] > 0 for i in res['images']), _brief(res)
    assert res['notebook_unchanged'] and not res['leftover_pids'], _brief(res)
    assert not (tmp_path / '.ipynb_checkpoints').exists()


# each character drawn alone on a canvas in the page's default sans-serif: without a font that has it, every Han
# character is the same empty box (the fallback's .notdef glyph), so two different characters give the same pixels
_GLYPHS_JS = """(chars) => {
  const c = document.createElement('canvas'); c.width = c.height = 64; const g = c.getContext('2d');
  return chars.map(ch => { g.clearRect(0, 0, 64, 64); g.font = '48px sans-serif'; g.fillText(ch, 4, 52);
                           return Array.from(g.getImageData(0, 0, 64, 64).data).join(','); });
}"""


def test_reply_table_keeps_its_columns_in_view_and_draws_chinese():
    "07_chat's before/after table in Chromium: replies without a space wrap, every column stays within a 1000-px page; Chinese is drawn with glyphs."
    _skip_unless_possible()
    from playwright.sync_api import sync_playwright
    from browser_check import CHROMIUM, CHROMIUM_ARGS
    from minimind_sft.chat import replies_table
    replies = {'before SFT': [{'text': '左' * 3000, 'ended': False}, {'text': '244' * 1500, 'ended': False}],   # what a base model may say
               'after SFT': [{'text': '北京的天气很好。', 'ended': True}, {'text': 'The answer is 4.', 'ended': True}]}
    page_html = '<html><body>' + replies_table(['北京天气？', 'What is 2 + 2?'], replies, 160) + '</body></html>'
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={'width': 1000, 'height': 800})
            page.set_content(page_html)
            box = page.evaluate("() => ({page: document.documentElement.scrollWidth, "
                                "right: Math.max(...[...document.querySelectorAll('td, th')].map(c => c.getBoundingClientRect().right))})")
            left, right, empty = (hash(p) for p in page.evaluate(_GLYPHS_JS, ['左', '右', ' ']))   # the pixels, hashed
        finally: browser.close()
    assert box['page'] <= 1000 and box['right'] <= 1000, f'the table is wider than the page: {box}'
    assert left != empty and right != empty, 'Chinese characters were not drawn at all'
    assert left != right, 'Chinese characters are drawn as identical boxes: no CJK font (Debian: apt-get install fonts-noto-cjk)'
