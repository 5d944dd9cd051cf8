import json, os, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / 'data'
SHARED = ROOT.parent / 'shared'
MIRROR = Path(os.environ.get('MINIMIND_MIRROR', '/work/.mirror/jingyaogong+minimind/repo'))  # a bare git mirror of MiniMind


def mirror_file(path: str, commit: str = 'HEAD') -> str:
    "A file of MiniMind's own repository, read from the mirror; the test skips where the mirror or the file is absent."
    if not (MIRROR / 'HEAD').is_file(): pytest.skip(f'no MiniMind mirror at {MIRROR} (set MINIMIND_MIRROR)')
    r = subprocess.run(['git', f'--git-dir={MIRROR}', 'show', f'{commit}:{path}'], capture_output=True, text=True)
    if r.returncode: pytest.skip(f'the mirror has no {commit[:7]}:{path}: {r.stderr.strip()}')
    return r.stdout


@pytest.fixture(scope='session')
def tokenizer():
    from minimind_sft.tokenizer import load_tokenizer
    return load_tokenizer(DATA / 'tokenizer')


@pytest.fixture(scope='session')
def minimind_tokenizer():
    path = SHARED / 'minimind_tokenizer'
    if not path.is_dir(): pytest.skip('MiniMind tokenizer (../shared/minimind_tokenizer) not present')
    from minimind_sft.tokenizer import load_tokenizer
    return load_tokenizer(path)


def conv(*turns, system=None):
    "A conversation dict from alternating user/assistant strings."
    msgs = [{'role': 'system', 'content': system}] if system else []
    msgs += [{'role': 'user' if i % 2 == 0 else 'assistant', 'content': t} for i, t in enumerate(turns)]
    return {'conversations': msgs}


def write_jsonl(path, rows):
    "Write rows (dicts are JSON-encoded, str/bytes written as they are) one per line."
    with open(path, 'wb') as f:
        for r in rows:
            if isinstance(r, (dict, list)): r = json.dumps(r, ensure_ascii=False)
            f.write(r if isinstance(r, bytes) else r.encode('utf-8'))
            f.write(b'\n')
    return path
