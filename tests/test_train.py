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


def cli(out, cache, *args, launcher=None, **kw):
    cmd = (launcher or [sys.executable, '-m']) + ['minimind_sft.cli', '--preset', 'demo', '--out_dir', str(out),
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


@pytest.mark.parametrize('extra', [(), ('--packing', '--batch_size', 4), ('--group_by_length',)],
                         ids=['samples', 'packed', 'group_by_length'])
def test_sigkill_then_resume_reproduces_the_uninterrupted_losses(tmp_path, cache, extra):
    args = ('--max_steps', 30, '--log_interval', 1, '--save_interval', 8, '--eval_interval', 0, '--val_data_path', 'none', *extra)
    full = tmp_path / 'full'
    r = cli(full, cache, *args)
    assert r.returncode == 0, r.stderr
    killed = tmp_path / 'killed'
    cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', '--out_dir', str(killed), '--cache_dir', str(cache),
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


@pytest.mark.parametrize('extra', [(), ('--group_by_length',), ('--packing',)], ids=['random', 'group_by_length', 'packing'])
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


def test_a_rank_that_dies_ends_the_job(tmp_path, cache):
    out = tmp_path / 'ddp'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2', '-m', 'minimind_sft.cli',
           '--preset', 'demo', '--ddp', '--out_dir', str(out), '--cache_dir', str(cache), '--max_steps', 400, '--log_interval', 1]
    p = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    deadline = time.time() + 120
    while time.time() < deadline and not ((out / 'metrics.jsonl').exists() and losses(out)): time.sleep(0.05)
    worker = None
    for d in Path('/proc').iterdir():
        try:
            env = (d / 'environ').read_bytes().split(b'\0')
            cmdline = (d / 'cmdline').read_bytes()
        except (OSError, ValueError): continue
        if str(out).encode() in cmdline and b'LOCAL_RANK=1' in env and b'minimind_sft.cli' in cmdline and b'torch.distributed.run' not in cmdline:
            worker = int(d.name)
    assert worker, 'rank 1 not found'
    os.kill(worker, signal.SIGKILL)
    assert p.wait(timeout=120) != 0


def test_batch_without_loss_tokens_adds_zero_not_nan(tmp_path, cache):
    data = write_jsonl(tmp_path / 'cut.jsonl', [conv('word ' * 300, 'the reply that truncation removes')] * 6)
    r = cli(tmp_path / 'out', cache, '--data_path', data, '--val_data_path', 'none', '--max_seq_len', 64,
            '--batch_size', 2, '--max_steps', 3, '--log_interval', 1)
    assert r.returncode == 0, r.stderr
    recs = metrics(tmp_path / 'out')
    assert [x['loss'] for x in recs] == [0.0, 0.0, 0.0] and all(x['loss_tokens'] == 0 for x in recs)
    sd = torch.load(tmp_path / 'out' / 'full_sft_128.pth')
    assert all(torch.isfinite(v).all() for v in sd.values())


def test_checkpoint_of_another_size_fails_before_training(tmp_path, cache):
    from minimind_sft.model import LMConfig, MiniMindLM
    out = tmp_path / 'out'; out.mkdir()
    torch.save(MiniMindLM(LMConfig(dim=64, n_layers=3)).state_dict(), out / 'pretrain_128.pth')
    r = cli(out, cache, '--from_weight', 'pretrain', '--max_steps', 2)
    assert r.returncode == 1
    assert 'misshapen' in r.stderr and 'layers.2.' in r.stderr and 'Traceback' not in r.stderr
    assert not (out / 'metrics.jsonl').exists()


def test_missing_pretrained_weights_say_how_to_get_them(tmp_path, cache):
    r = cli(tmp_path, cache, '--from_weight', 'pretrain', '--max_steps', 2)
    assert r.returncode == 1 and 'pretrain_128.pth' in r.stderr and '--from_weight none' in r.stderr


def test_non_finite_loss_stops_before_the_update(tmp_path, cache):
    r = cli(tmp_path, cache, '--learning_rate', 1e12, '--grad_clip', 1e12, '--max_steps', 60, '--save_interval', 1,
            '--log_interval', 1, '--val_data_path', 'none')
    assert r.returncode == 1 and 'non-finite loss' in r.stderr and 'optimizer step' in r.stderr, r.stderr[-2000:]
    sd = torch.load(tmp_path / 'full_sft_128.pth')                       # the last good save
    assert all(torch.isfinite(v).all() for v in sd.values())


def test_validation_and_early_stopping(tmp_path, cache):
    r = cli(tmp_path, cache, '--max_steps', 50, '--eval_interval', 2, '--early_stopping_patience', 1,
            '--early_stopping_min_delta', 100, '--log_interval', 100)
    assert r.returncode == 0, r.stderr
    recs = metrics(tmp_path)
    assert [x['step'] for x in recs if 'val_loss' in x] == [2, 4] and recs[-1]['step'] == 4
    assert 'Early stopping' in r.stdout


def test_pad_to_max_gives_the_same_loss(tmp_path, cache):
    common = ('--max_steps', 3, '--log_interval', 1, '--val_data_path', 'none', '--batch_size', 4)
    a = cli(tmp_path / 'dyn', cache, *common)
    b = cli(tmp_path / 'pad', cache, *common, '--pad_to_max', 'True')
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    la, lb = losses(tmp_path / 'dyn'), losses(tmp_path / 'pad')
    assert all(math.isclose(la[s], lb[s], rel_tol=1e-4) for s in la), (la, lb)
    ma, mb = metrics(tmp_path / 'dyn'), metrics(tmp_path / 'pad')
    assert [x['loss_tokens'] for x in ma] == [x['loss_tokens'] for x in mb]


def test_wandb_logs_offline(tmp_path, cache):
    r = cli(tmp_path, cache, '--max_steps', 2, '--log_interval', 1, '--use_wandb', '--val_data_path', 'none')
    assert r.returncode == 0, r.stderr
    runs = list((tmp_path / 'wandb').glob('offline-run-*'))
    assert runs and 'wandb sync' in r.stdout + r.stderr


def test_augmented_runs_are_deterministic_given_the_seed(tmp_path, cache):
    common = ('--max_steps', 3, '--log_interval', 1, '--val_data_path', 'none', '--augment', 'True', '--augment_prob', 1.0)
    a, b = cli(tmp_path / 'a', cache, *common), cli(tmp_path / 'b', cache, *common)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert losses(tmp_path / 'a') == losses(tmp_path / 'b')
    c = cli(tmp_path / 'c', cache, *common, '--seed', 7)
    assert c.returncode == 0 and losses(tmp_path / 'c') != losses(tmp_path / 'a')


def test_cpu_bf16_autocast_stays_close_to_float32(tmp_path, cache, monkeypatch):
    monkeypatch.setitem(ENV, 'MINIMIND_SFT_CPU_BF16', '1')    # bf16 even where it is not faster: the numerics are the point
    common = ('--max_steps', 20, '--log_interval', 1, '--val_data_path', 'none', '--batch_size', 8)
    a = cli(tmp_path / 'fp32', cache, *common, '--dtype', 'float32')
    b = cli(tmp_path / 'bf16', cache, *common, '--dtype', 'bfloat16')
    assert 'warning: --dtype' not in b.stdout + b.stderr
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    la, lb = losses(tmp_path / 'fp32'), losses(tmp_path / 'bf16')
    assert la != lb                                                          # bf16 really computed something else
    assert all(abs(la[s] - lb[s]) / la[s] < 0.03 for s in la), (la, lb)      # ... and stayed within 3%
    sd = torch.load(tmp_path / 'bf16' / 'full_sft_128.pth')
    assert all(v.dtype == torch.float32 for v in sd.values())               # master weights stay float32


def test_use_compile_trains_like_eager_and_falls_back_when_it_cannot_compile(tmp_path, cache):
    common = ('--max_steps', 3, '--log_interval', 1, '--val_data_path', 'none', '--n_layers', 1, '--packing')
    compiled = cli(tmp_path / 'compiled', cache, *common, '--use_compile')
    assert compiled.returncode == 0, compiled.stderr
    assert 'warning: --use_compile' not in compiled.stdout + compiled.stderr
    # no working C++ compiler: one warning, then the same run uncompiled (eager)
    env = {**ENV, 'CXX': '/bin/false', 'TORCHINDUCTOR_CACHE_DIR': str(tmp_path / 'inductor')}
    r = subprocess.run([sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', '--out_dir', str(tmp_path / 'eager'),
                        '--cache_dir', str(cache), *map(str, common), '--use_compile'], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, r.stderr
    assert (r.stdout + r.stderr).count('warning: --use_compile: compiling failed') == 1
    la, lb = losses(tmp_path / 'eager'), losses(tmp_path / 'compiled')
    assert sorted(la) == sorted(lb) == [1, 2, 3] and all(math.isclose(la[s], lb[s], rel_tol=1e-4) for s in la), (la, lb)


def test_packing_with_group_by_length_is_refused(tmp_path, cache):
    r = cli(tmp_path, cache, '--packing', '--group_by_length', '--max_steps', 1)
    assert r.returncode != 0 and 'exclude each other' in r.stderr
