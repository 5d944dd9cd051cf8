"The trainer through its command: real runs on the bundled data (demo preset), resume after SIGKILL, DDP, bad input."
import json, math, os, signal, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from conftest import DATA, conv, write_jsonl

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}


@pytest.fixture(scope='module')
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp('cache')

TINY = ('--dim', '128', '--n_layers', '2', '--from_weight', 'none')   # the shape these tests measure, from random weights


def cli(out, cache, *args, launcher=None, **kw):
    cmd = (launcher or [sys.executable, '-m']) + ['minimind_sft.cli', '--preset', 'demo', *TINY, '--out_dir', str(out),
                                                  '--cache_dir', str(cache), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=kw.get('timeout', 300))


def metrics(out):
    return [json.loads(l) for l in (Path(out) / 'metrics.jsonl').read_text().splitlines() if l.strip()]


def losses(out):
    return {r['step']: r['loss'] for r in metrics(out) if 'loss' in r}


def test_cli_run_writes_weights_metrics_and_resume_file(tmp_path, cache):
    r = cli(tmp_path, cache, '--max_steps', 4, '--log_interval', 1, '--save_interval', 2, '--use_moe', 'False')
    assert r.returncode == 0, r.stderr
    assert 'done: 4 optimizer steps' in r.stdout
    assert "batches: random, padding-free: each micro-batch's samples in one row" in r.stdout + r.stderr   # the default
    from minimind_sft.model import LMConfig, MiniMindLM
    sd = torch.load(tmp_path / 'full_sft_128.pth')                      # dense: no _moe, no experts
    assert not any('experts' in k for k in sd) and not (tmp_path / 'full_sft_128_moe.pth').exists()
    MiniMindLM(LMConfig(dim=128, n_layers=2)).load_state_dict(sd, strict=True)
    recs = [r for r in metrics(tmp_path) if 'loss' in r]
    assert [r['step'] for r in recs] == [1, 2, 3, 4]
    assert metrics(tmp_path)[-1].keys() >= {'step', 'val_loss'}            # final weights validated
    assert {'epoch', 'step', 'loss', 'aux_loss', 'lr', 'grad_norm', 'tokens_per_sec', 'loss_tokens'} <= set(recs[0])
    ck = torch.load(tmp_path / 'resume_128.pth', weights_only=False)
    assert ck['state']['step'] == 4 and ck['state']['micro'] == 4


@pytest.mark.parametrize('extra', [(), ('--packing', '--batch_size', 4), ('--group_by_length', 'True', '--padding_free', 'False')],
                         ids=['padding-free', 'packed', 'grouped-padded'])
def test_sigkill_then_resume_reproduces_the_uninterrupted_losses(tmp_path, cache, extra):
    args = ('--max_steps', 30, '--log_interval', 1, '--save_interval', 8, '--eval_interval', 0, '--val_data_path', 'none', *extra)
    full = tmp_path / 'full'
    r = cli(full, cache, *args)
    assert r.returncode == 0, r.stderr
    killed = tmp_path / 'killed'
    cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', *TINY, '--out_dir', str(killed), '--cache_dir', str(cache),
           *map(str, args)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and p.poll() is None:
        if (killed / 'metrics.jsonl').exists() and any(s >= 11 for s in losses(killed)): break
        time.sleep(0.02)
    assert p.poll() is None, 'the run finished before it could be killed'
    p.send_signal(signal.SIGKILL); p.wait()
    assert max(losses(killed)) < 30
    assert torch.load(killed / 'resume_128.pth', weights_only=False)['state']['step'] in (8, 16)
    r = cli(killed, cache, *args, '--resume', 'True')
    assert r.returncode == 0, r.stderr
    a, b = losses(full), losses(killed)
    assert sorted(a) == sorted(b) == list(range(1, 31))
    assert all(a[s] == b[s] for s in a), [(s, a[s], b[s]) for s in a if a[s] != b[s]]
    wa, wb = torch.load(full / 'full_sft_128.pth'), torch.load(killed / 'full_sft_128.pth')
    assert all(torch.equal(wa[k], wb[k]) for k in wa)


@pytest.mark.parametrize('extra', [(), ('--group_by_length', 'True', '--padding_free', 'False'), ('--packing',)],
                         ids=['padding-free', 'grouped-padded', 'packing'])
def test_two_processes_compute_what_one_process_computes(tmp_path, cache, extra):
    common = ('--max_steps', 4, '--log_interval', 1, '--val_data_path', 'none', '--eval_interval', 0, *extra)
    one = cli(tmp_path / 'one', cache, '--batch_size', 8, *common)
    assert one.returncode == 0, one.stderr
    two = cli(tmp_path / 'two', cache, '--batch_size', 4, '--ddp', *common,
              launcher=[sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m'])
    assert two.returncode == 0, two.stdout + two.stderr
    assert two.stdout.count('done: 4 optimizer steps') == 1                        # only rank 0 reports
    la, lb = losses(tmp_path / 'one'), losses(tmp_path / 'two')
    assert all(math.isclose(la[s], lb[s], rel_tol=1e-4) for s in la), (la, lb)
    wa, wb = torch.load(tmp_path / 'one' / 'full_sft_128.pth'), torch.load(tmp_path / 'two' / 'full_sft_128.pth')
    # float tolerance: the ranks sum gradients in another order, and Adam's 1/sqrt(v) turns 1e-9 gradient
    # differences of near-zero gradients into ~1e-5 weight differences after a few steps at lr 1e-3
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 5e-5


def test_use_compile_trains_like_eager_and_falls_back_when_it_cannot_compile(tmp_path, cache):
    common = ('--max_steps', 3, '--log_interval', 1, '--val_data_path', 'none', '--n_layers', 1, '--packing')
    compiled = cli(tmp_path / 'compiled', cache, *common, '--use_compile')
    assert compiled.returncode == 0, compiled.stderr
    assert 'warning: --use_compile' not in compiled.stdout + compiled.stderr
    # no working C++ compiler: one warning, then the same run uncompiled (eager)
    env = {**ENV, 'CXX': '/bin/false', 'TORCHINDUCTOR_CACHE_DIR': str(tmp_path / 'inductor')}
    r = subprocess.run([sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', *TINY, '--out_dir', str(tmp_path / 'eager'),
                        '--cache_dir', str(cache), *map(str, common), '--use_compile'], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (r.stdout + r.stderr).count('warning: --use_compile: compiling failed') == 1
    la, lb = losses(tmp_path / 'eager'), losses(tmp_path / 'compiled')
    assert sorted(la) == sorted(lb) == [1, 2, 3] and all(math.isclose(la[s], lb[s], rel_tol=1e-4) for s in la), (la, lb)


def test_packing_leaves_grouping_and_padding_free_aside(tmp_path, cache):
    r = cli(tmp_path, cache, '--packing', '--group_by_length', 'True', '--padding_free', 'True', '--max_steps', 1, '--val_data_path', 'none')
    assert r.returncode == 0 and '(--group_by_length and --padding_free do not apply)' in r.stdout + r.stderr, r.stderr


def test_padding_free_trains_the_losses_of_padded_random_batches(tmp_path, cache):
    "The default lays MiniMind's random batches out without padding: the same samples per step, the same losses (float32)."
    common = ('--max_steps', 4, '--log_interval', 1, '--eval_interval', 0, '--dtype', 'float32')   # validated once, at the end
    runs = {name: cli(tmp_path / name, cache, *common, *extra) for name, extra in
            [('free', ()), ('padded', ('--padding_free', 'False'))]}
    assert all(r.returncode == 0 for r in runs.values()), {n: r.stderr[-2000:] for n, r in runs.items()}
    assert 'padded to their longest sample' in runs['padded'].stdout + runs['padded'].stderr
    a, b = metrics(tmp_path / 'free'), metrics(tmp_path / 'padded')
    assert [r['step'] for r in a] == [r['step'] for r in b] and [r['loss_tokens'] for r in a if 'loss' in r] == [r['loss_tokens'] for r in b if 'loss' in r]
    for key in ('loss', 'val_loss'):   # validation batches are padded in both runs: only the weights differ, by float rounding
        pairs = [(x[key], y[key]) for x, y in zip(a, b) if key in x]
        assert pairs and all(math.isclose(x, y, rel_tol=1e-5) for x, y in pairs), (key, pairs)
    wa, wb = torch.load(tmp_path / 'free' / 'full_sft_128.pth'), torch.load(tmp_path / 'padded' / 'full_sft_128.pth')
    assert max((wa[k] - wb[k]).abs().max().item() for k in wa) < 5e-5


def test_freeze_embeddings_keeps_the_pretrained_embeddings_and_trains_the_rest(tmp_path, cache):
    start = tmp_path / 'start'
    r = cli(start, cache, '--max_steps', 2, '--freeze_embeddings', 'True')   # from random weights: nothing to keep
    assert r.returncode == 0, r.stderr
    assert '--freeze_embeddings does not apply with --from_weight none' in r.stdout + r.stderr
    w0 = torch.load(start / 'full_sft_128.pth')
    runs = {}
    for freeze in ('True', 'False'):
        out = tmp_path / f'freeze_{freeze}'
        r = cli(out, cache, '--from_weight', start / 'full_sft_128.pth', '--max_steps', 3, '--freeze_embeddings', freeze)
        assert r.returncode == 0, r.stderr
        assert ('embedding values keep their pretrained values' in r.stdout + r.stderr) == (freeze == 'True')
        runs[freeze] = torch.load(out / 'full_sft_128.pth')
    frozen, trained = runs['True'], runs['False']
    for k in ('tok_embeddings.weight', 'output.weight'):          # one tied tensor, saved under both names
        assert torch.equal(frozen[k], w0[k]) and not torch.equal(trained[k], w0[k]), k
    moved = [k for k in w0 if 'layers' in k and not torch.equal(frozen[k], w0[k])]
    assert len(moved) > 0.8 * sum('layers' in k for k in w0)   # everything else still trains
