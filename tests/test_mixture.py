"""Several training files in one run (`--data_path a,b --data_weights w1,w2`): the start-up report, the share of each file
in what is trained (`data_tokens` in metrics.jsonl), exact resume after SIGTERM, and a resume onto another mixture refused."""
import json, signal
import numpy as np
import pytest
from conftest import DATA
from minimind_sft.mixture import mixture_counts
from test_faults import ENV, assert_same, run, start, steps_logged, wait_for

STEPS = 40


@pytest.fixture(scope='module')
def files(tmp_path_factory):
    "The bundled training file and a small second one (60 conversations of the validation file)."
    d = tmp_path_factory.mktemp('mix')
    small = d/'small.jsonl'
    small.write_text(''.join((DATA/'sft_val.jsonl').read_text().splitlines(keepends=True)[:60]))
    return f"{DATA/'sft_train.jsonl'},{small}", d/'cache'


def mixed(files, *extra): return ('--data_path', files[0], '--data_weights', '1,1', *extra)


def records(out): return [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines() if l.strip()]


@pytest.fixture(scope='module')
def reference(tmp_path_factory, files):
    out = tmp_path_factory.mktemp('mixed_reference')
    r = run(out, files[1], *mixed(files, '--save_interval', 1000))
    assert r.returncode == 0, r.stderr[-3000:]
    return out, r.stdout + r.stderr


def test_mixed_run_reports_the_mixture_and_trains_each_file_by_weight(reference):
    out, log = reference
    counts = mixture_counts([3000, 60], [1, 1])                                # an epoch of 3060 samples, half from each
    assert 'mixture of 2 files: 3,060 samples' in log, log[-3000:]
    assert f'sft_train.jsonl: 3,000 samples, weight 1, {counts[0]:,} an epoch (x{counts[0] / 3000:.2f})' in log
    assert f'small.jsonl: 60 samples, weight 1, {counts[1]:,} an epoch (x{counts[1] / 60:.2f})' in log
    epoch_tokens = {l.split(':')[0].strip(): int(l.split(' an epoch')[1].split(', ')[1].split(' tokens')[0].replace(',', ''))
                    for l in log.splitlines() if ' an epoch (x' in l}
    recs = records(out)
    seen = [r['data_tokens'] for r in recs]
    assert len(recs) == STEPS and all(set(s) == {'sft_train.jsonl', 'small.jsonl'} for s in seen)
    assert all(b[k] >= a[k] for a, b in zip(seen, seen[1:]) for k in a) and all(v > 0 for v in seen[-1].values())   # counts, growing
    share = seen[-1]['small.jsonl'] / sum(seen[-1].values())
    expected = epoch_tokens['small.jsonl'] / sum(epoch_tokens.values())
    assert 0.3 < expected < 0.7 and abs(share - expected) < 0.12, (share, expected)   # 160 samples drawn: within sampling error
    assert share > 10 * 60 / 3060                                                # concatenated, it would be 2% of the samples


def test_sigterm_then_resume_of_a_mixed_run_is_exact(tmp_path, files, reference):
    out = tmp_path/'out'
    p = start(out, files[1], *mixed(files, '--save_interval', 1000))
    wait_for(lambda: steps_logged(out) >= 5, p, what='step 5')
    p.send_signal(signal.SIGTERM)
    assert p.wait(60) == 143
    r = run(out, files[1], *mixed(files, '--save_interval', 1000, '--resume', 'True'))
    assert r.returncode == 0, r.stderr[-3000:]
    assert_same(out, reference[0])
    assert records(out)[-1]['data_tokens'] == records(reference[0])[-1]['data_tokens']


def test_resume_onto_another_mixture_is_refused_naming_the_weights(tmp_path, files, reference):
    out = tmp_path/'out'
    r = run(out, files[1], *mixed(files, '--save_interval', 5, '--max_steps', 5))
    assert r.returncode == 0, r.stderr[-3000:]
    r = run(out, files[1], '--data_path', files[0], '--data_weights', '3,1', '--save_interval', 5, '--resume', 'True')
    assert r.returncode != 0 and "data_weights='1,1'" in r.stderr and '--data_weights 1,1' in r.stderr, r.stderr[-2000:]


def test_bad_weights_stop_before_any_work(tmp_path, files):
    r = run(tmp_path/'out', files[1], '--data_path', files[0], '--data_weights', '3')
    assert r.returncode != 0 and '1 weight(s) for 2 data_path file(s)' in r.stderr and not (tmp_path/'out').exists(), r.stderr[-2000:]
