"Under torchrun, one process builds the tokenisation cache, the others wait and map it; a bad file stops every rank."
import os, subprocess, sys
from pathlib import Path
import pytest
from conftest import DATA, conv, write_jsonl

HERE = Path(__file__).parent


def torchrun(*args, timeout=120):
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2',
           str(HERE / 'ddp_prepare.py'), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


def test_ranks_share_one_cache(tmp_path):
    data = write_jsonl(tmp_path / 'd.jsonl', [conv('What is 1 + 1?', 'The answer is 2.')] * 5)
    r = torchrun(data, DATA / 'tokenizer', tmp_path / 'cache')
    assert r.returncode == 0, r.stdout + r.stderr
    folders = {l.split(' folder ')[1] for l in r.stdout.splitlines() if ' folder ' in l}
    assert len(folders) == 1 and r.stdout.count(' folder ') == 2, r.stdout
    assert r.stdout.count('tokenised 5 conversations') == 1, r.stdout   # built once
    assert len(list((tmp_path / 'cache').iterdir())) == 1                # no temp folder left


def test_bad_file_stops_every_rank(tmp_path):
    data = write_jsonl(tmp_path / 'd.jsonl', [conv('a', 'b'), '{broken'])
    r = torchrun(data, DATA / 'tokenizer', tmp_path / 'cache')
    assert r.returncode != 0
    assert 'rank 0 DataError 1 bad line' in r.stdout and 'rank 1 DataError 1 bad line' in r.stdout, r.stdout + r.stderr
