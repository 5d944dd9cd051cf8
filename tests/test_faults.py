"""Faults injected into real `minimind-sft` processes on tiny models, and what must survive them: SIGTERM and SIGINT,
kill -9 at random moments, damaged checkpoints, a full disk, changed data, a killed cache build, non-finite steps,
and the same under torchrun (a killed worker, elastic restarts, two launchers acting as two nodes).

Each run is compared with an uninterrupted run of the same command: the final weights must be bit-identical (CPU, fp32)."""
import json, os, random, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest
import torch
from conftest import DATA, SHARED

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'TORCH_DISABLE_SHARE_RDZV_TCP_STORE': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore', 'TQDM_DISABLE': '1'}
STEPS = 40
ARGS = ('--preset', 'demo', '--from_weight', 'none', '--dim', 64, '--n_layers', 1, '--max_seq_len', 128, '--batch_size', 4, '--max_steps', STEPS,
        '--log_interval', 1, '--eval_interval', 0, '--val_data_path', 'none', '--dtype', 'float32', '--device', 'cpu',
        '--num_workers', 0)
WEIGHTS, RESUME = 'full_sft_64.pth', 'resume_64.pth'
CLI = [sys.executable, '-m', 'minimind_sft.cli']
TORCHRUN = [sys.executable, '-m', 'torch.distributed.run']


@pytest.fixture(scope='module')
def cache(tmp_path_factory): return tmp_path_factory.mktemp('cache')


def command(out, cache, *extra, launcher=CLI):
    return [*launcher, *map(str, ARGS), '--out_dir', str(out), '--cache_dir', str(cache), *map(str, extra)]


def run(out, cache, *extra, launcher=CLI, timeout=300):
    return subprocess.run(command(out, cache, *extra, launcher=launcher), capture_output=True, text=True, env=ENV, timeout=timeout)


def start(out, cache, *extra, launcher=CLI, log=None):
    log = open(log or Path(out).with_suffix('.log'), 'w')
    return subprocess.Popen(command(out, cache, *extra, launcher=launcher), stdout=log, stderr=subprocess.STDOUT, env=ENV,
                            start_new_session=True)


def steps_logged(out) -> int:
    "The last optimizer step in metrics.jsonl (0 before the first)."
    try: lines = (Path(out)/'metrics.jsonl').read_text().splitlines()
    except FileNotFoundError: return 0
    steps = [json.loads(l)['step'] for l in lines if l.strip().endswith('}')]
    return max(steps, default=0)


def wait_for(cond, proc=None, timeout=120, what='condition'):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond(): return
        if proc is not None and proc.poll() is not None: raise AssertionError(f'process ended (status {proc.returncode}) before {what}')
        time.sleep(0.01)
    raise AssertionError(f'timed out waiting for {what}')


def weights(out): return torch.load(Path(out)/WEIGHTS)


def assert_same(a, b):
    a, b = weights(a), weights(b)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), 'final weights differ from the uninterrupted run'


def no_temp_files(folder): return [p.name for p in Path(folder).iterdir() if '.tmp-' in p.name or '.new-' in p.name]


@pytest.fixture(scope='module')
def reference(tmp_path_factory, cache):
    "The uninterrupted run every interrupted one must reproduce."
    out = tmp_path_factory.mktemp('reference')
    r = run(out, cache, '--save_interval', 1000)
    assert r.returncode == 0, r.stderr
    return out


# the signal and kill -9 cases run for both generations: MiniMind-3 with its own tokenizer (skipped where ../shared lacks it)
GENERATIONS = {'minimind': (), 'minimind3': ('--arch', 'minimind3', '--tokenizer_path', SHARED/'minimind3_tokenizer')}


@pytest.fixture(scope='module', params=list(GENERATIONS))
def generation(request, tmp_path_factory, cache):
    "`(flags of the generation, its uninterrupted run)`."
    if request.param == 'minimind3' and not (SHARED/'minimind3_tokenizer').is_dir():
        pytest.skip("MiniMind-3's tokenizer (../shared/minimind3_tokenizer) not present")
    flags = GENERATIONS[request.param]
    out = tmp_path_factory.mktemp(f'reference-{request.param}')
    r = run(out, cache, *flags, '--save_interval', 1000)
    assert r.returncode == 0, r.stderr
    return flags, out


# --- signals -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sig,status', [(signal.SIGTERM, 143), (signal.SIGINT, 130)], ids=['SIGTERM', 'SIGINT'])
def test_signal_saves_at_a_step_boundary_and_resume_is_exact(tmp_path, cache, generation, sig, status):
    (flags, reference), out = generation, tmp_path/'out'
    p = start(out, cache, *flags, '--save_interval', 1000)   # no periodic checkpoint: all that survives is the signal's save
    wait_for(lambda: steps_logged(out) >= 5, p, what='step 5')
    p.send_signal(sig); time.sleep(0.005); p.send_signal(sig)   # a repeat (a second Ctrl-C) changes nothing
    assert p.wait(60) == status
    log = out.with_suffix('.log').read_text()
    name = signal.Signals(sig).name
    assert f'stopped by {name} after optimizer step' in log and '--resume True' in log, log[-2000:]
    stopped = int(log.split(f'stopped by {name} after optimizer step ')[1].split()[0])
    assert 5 <= stopped < STEPS
    ck = torch.load(out/RESUME, weights_only=False)
    assert ck['state']['step'] == stopped and steps_logged(out) == stopped and not no_temp_files(out)
    r = run(out, cache, *flags, '--save_interval', 1000, '--resume', 'True')
    assert r.returncode == 0, r.stderr
    assert f'resumed from {out/RESUME}: epoch 1, step {stopped}' in r.stdout + r.stderr
    assert_same(out, reference)


# --- kill -9 ----------------------------------------------------------------------------------------------------------

def test_kill9_at_random_moments_with_resume_auto(tmp_path, cache, generation):
    "A checkpoint every step, SIGKILL at random moments (mid-step, mid-save), restarted with --resume auto each time."
    (flags, reference), out, rng, kills = generation, tmp_path/'out', random.Random(0), 0
    while kills < 8:
        before = steps_logged(out)
        p = start(out, cache, *flags, '--save_interval', 1, '--resume', 'auto', log=tmp_path/f'run{kills}.log')
        wait_for(lambda: steps_logged(out) > before, p, what='a new step')   # progress since the last kill
        time.sleep(rng.uniform(0, 0.1))                                         # then a random moment: mid-step, mid-save
        assert p.poll() is None, f'the run ended after {kills} kills'
        p.kill(); p.wait(); kills += 1
    r = run(out, cache, *flags, '--save_interval', 1, '--resume', 'auto')
    assert r.returncode == 0, r.stderr[-3000:]
    assert 'starting fresh' in (tmp_path/'run0.log').read_text()
    assert not no_temp_files(out)
    assert [json.loads(l)['step'] for l in (out/'metrics.jsonl').read_text().splitlines() if 'loss' in l] == list(range(1, STEPS + 1))
    assert_same(out, reference)


# --- damaged checkpoints ----------------------------------------------------------------------------------------------

@pytest.fixture(scope='module')
def interrupted(tmp_path_factory, cache):
    "A run killed at step >= 10 with a checkpoint every step: its folder, with the newest and one older checkpoint."
    out = tmp_path_factory.mktemp('interrupted')/'out'
    p = start(out, cache, '--save_interval', 1)
    wait_for(lambda: steps_logged(out) >= 10, p, what='step 10')
    p.kill(); p.wait()
    assert (out/RESUME).is_file() and len(list(out.glob('resume_64.step*.pth'))) == 1
    return out


def truncate(p): p.write_bytes(p.read_bytes()[:p.stat().st_size // 2])


def flip(p):
    b = bytearray(p.read_bytes()); b[len(b) // 2] ^= 0x5A; p.write_bytes(bytes(b))   # inside the tensor data


def test_a_second_run_on_a_taken_out_dir_stops_at_once_naming_the_holder(tmp_path, cache):
    out = tmp_path/'out'
    first = start(out, cache, '--max_steps', 3000, '--save_interval', 5)   # far more steps than the test lasts
    try:
        wait_for(lambda: steps_logged(out) >= 6, first, what='the first run to save a checkpoint')
        second = run(out, cache)                                             # the same command again, a fresh run
        assert second.returncode == 1, second.stderr
        assert 'is in use by another run' in second.stderr and f'pid {first.pid} on {socket.gethostname()}' in second.stderr, second.stderr
        assert first.poll() is None                                          # the first one trains on
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=120) == 143
    finally:
        if first.poll() is None: first.kill()
    steps = [json.loads(l)['step'] for l in (out/'metrics.jsonl').read_text().splitlines()]
    assert steps == sorted(set(steps))                                       # one run's rows, none interleaved
    assert (out/RESUME).is_file() and not no_temp_files(out)
    r = run(out, cache, '--max_steps', steps[-1] + 2, '--resume', 'True')   # the folder is free again
    assert r.returncode == 0 and 'resumed' in (r.stdout + r.stderr).lower(), r.stderr


@pytest.mark.parametrize('damage', [truncate, flip], ids=['truncated', 'byte-flipped'])
def test_damaged_newest_checkpoint_falls_back_to_the_previous(tmp_path, cache, reference, interrupted, damage):
    out = tmp_path/'out'; shutil.copytree(interrupted, out)
    older = next(out.glob('resume_64.step*.pth'))
    older_step = torch.load(older, weights_only=False)['state']['step']
    damage(out/RESUME)
    r = run(out, cache, '--save_interval', 1, '--resume', 'True')
    assert r.returncode == 0, r.stderr
    log = r.stdout + r.stderr
    assert f'warning: {out/RESUME}: ' in log and f'falling back to {older} (step {older_step})' in log, log[-3000:]
    assert_same(out, reference)
    assert (out/(RESUME + '.damaged')).is_file() and not no_temp_files(out)   # set aside, never a fallback again


def test_no_valid_checkpoint_names_every_file_tried(tmp_path, cache, interrupted):
    out = tmp_path/'out'; shutil.copytree(interrupted, out)
    files = [out/RESUME, next(out.glob('resume_64.step*.pth'))]
    truncate(files[0]); flip(files[1])
    for mode in ('True', 'auto'):   # auto does not start fresh over damaged checkpoints either
        r = run(out, cache, '--resume', mode)
        assert r.returncode == 1 and 'no valid resume checkpoint' in r.stderr, r.stderr
        assert f'{files[0]}: no checksum trailer' in r.stderr and f'{files[1]}: checksum mismatch' in r.stderr


def test_resume_true_without_a_checkpoint_fails_clearly(tmp_path, cache):
    r = run(tmp_path/'empty', cache, '--resume', 'True')
    assert r.returncode == 1 and 'no resume checkpoint at' in r.stderr and '--resume auto' in r.stderr, r.stderr


# --- full disk --------------------------------------------------------------------------------------------------------

@pytest.fixture
def small_tmpfs(tmp_path):
    mnt = tmp_path/'small'; mnt.mkdir()
    if os.geteuid() != 0: pytest.skip('mounting a tmpfs needs root')
    r = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', str(mnt)], capture_output=True, text=True)
    if r.returncode: pytest.skip(f'cannot mount a tmpfs here: {r.stderr.strip()}')
    yield mnt
    subprocess.run(['umount', '-l', str(mnt)])


def test_full_disk_stops_with_a_clear_message_and_the_checkpoint_intact(tmp_path, cache, small_tmpfs):
    out = small_tmpfs/'out'
    p = start(out, cache, '--save_interval', 1, log=tmp_path/'run.log')
    wait_for(lambda: (out/RESUME).is_file(), p, what='the first checkpoint')
    with open(small_tmpfs/'filler', 'wb', buffering=0) as f:   # fill it, then give 256 KiB back: room for logs, not a checkpoint
        try:
            while True: f.write(b'\0' * (64 << 10))
        except OSError: pass
        f.truncate(max(0, f.tell() - (256 << 10)))
    status = p.wait(120)
    log = (tmp_path/'run.log').read_text()
    assert status == 1, log[-3000:]
    assert f'no space left on tmpfs at {small_tmpfs} while writing' in log and 'is intact' in log, log[-3000:]
    intact = int(log.split('the resume checkpoint of step ')[1].split()[0])
    assert not no_temp_files(out)
    from minimind_sft.checkpoint import CheckpointFiles
    ck, path, damaged = CheckpointFiles(out/RESUME).load()   # checksum verified
    assert ck['state']['step'] == intact and not damaged


# --- changed data -----------------------------------------------------------------------------------------------------

def test_resume_on_changed_data_is_refused_unless_allowed(tmp_path, cache):
    data = tmp_path/'train.jsonl'; shutil.copy(DATA/'sft_train.jsonl', data)
    out = tmp_path/'out'
    r = run(out, cache, '--data_path', data, '--max_steps', 3)
    assert r.returncode == 0, r.stderr
    os.utime(data)   # touched, same content: resumes
    r = run(out, cache, '--data_path', data, '--max_steps', 4, '--resume', 'True')
    assert r.returncode == 0 and 'resumed from' in r.stdout + r.stderr, r.stderr
    lines = data.read_text(encoding='utf-8').splitlines(keepends=True)
    data.write_text(''.join(lines[1:] + lines[:1]), encoding='utf-8')   # same lines, another order
    r = run(out, cache, '--data_path', data, '--max_steps', 5, '--resume', 'True')
    assert r.returncode == 1 and f'--resume: {data} (data) changed since' in r.stderr and '--allow_data_change' in r.stderr, r.stderr
    r = run(out, cache, '--data_path', data, '--max_steps', 5, '--resume', 'True', '--allow_data_change', 'True')
    assert r.returncode == 0 and 'continuing as --allow_data_change True asks' in r.stdout + r.stderr, r.stderr


# the same CLI with the masking rule edited in place (every token teaches), as a re-exported notebook edit would have it
EDITED_RULE = [sys.executable, '-c', 'import sys, numpy as np, minimind_sft.data as d; '
               'd.loss_masks = lambda ids, offsets, bos, eos: np.ones(len(ids), np.uint8); '
               'from minimind_sft.cli import main; sys.exit(main(sys.argv[1:]))']


def test_resume_on_changed_sample_code_is_refused_unless_allowed(tmp_path, cache):
    out = tmp_path/'out'
    r = run(out, cache, '--max_steps', 3)
    assert r.returncode == 0, r.stderr
    r = run(out, cache, '--max_steps', 4, '--resume', 'True', launcher=EDITED_RULE)
    assert r.returncode == 1 and 'changed since' in r.stderr and 'the code that makes its samples' in r.stderr, r.stderr
    r = run(out, cache, '--max_steps', 4, '--resume', 'True', '--allow_data_change', 'True', launcher=EDITED_RULE)
    assert r.returncode == 0 and 'continuing as --allow_data_change True asks' in r.stdout + r.stderr, r.stderr


def test_resume_with_other_batches_is_refused_naming_the_flags(tmp_path, cache):
    from minimind_sft.checkpoint import CheckpointFiles
    out = tmp_path/'out'
    r = run(out, cache, '--max_steps', 2)
    assert r.returncode == 0, r.stderr
    r = run(out, cache, '--max_steps', 3, '--resume', 'True', '--padding_free', 'False', '--group_by_length', 'True')
    assert r.returncode == 1 and ('was written with group_by_length=False, padding_free=True; this run has group_by_length=True, '
                                  'padding_free=False: pass --group_by_length False --padding_free True to continue it') in r.stderr, r.stderr
    files = CheckpointFiles(out/RESUME)   # a checkpoint from before padding_free existed: it trained padded batches
    ck, _, _ = files.load()
    del ck['config']['padding_free']
    files.save(ck, ck['state']['step'])
    r = run(out, cache, '--max_steps', 3, '--resume', 'True')
    assert r.returncode == 1 and 'written with padding_free=False; this run has padding_free=True: pass --padding_free False' in r.stderr, r.stderr
    r = run(out, cache, '--max_steps', 3, '--resume', 'True', '--padding_free', 'False')
    assert r.returncode == 0 and 'resumed from' in r.stdout + r.stderr, r.stderr


def test_resume_with_embeddings_frozen_otherwise_is_refused(tmp_path, cache):
    "Kept or trained embeddings change what trains and what the optimizer state holds: a resume that flips them is refused."
    r = run(tmp_path/'base', cache, '--max_steps', 1)   # a dim-64 weights file to start from (freezing needs pretrained weights)
    assert r.returncode == 0, r.stderr
    base = tmp_path/'base_64.pth'; shutil.copy(tmp_path/'base'/'full_sft_64.pth', base)
    out = tmp_path/'out'
    r = run(out, cache, '--from_weight', base, '--freeze_embeddings', 'True', '--max_steps', 2)
    assert r.returncode == 0 and '--freeze_embeddings:' in r.stdout + r.stderr, r.stderr
    r = run(out, cache, '--from_weight', base, '--freeze_embeddings', 'False', '--max_steps', 3, '--resume', 'True')
    assert r.returncode == 1 and ('written with freeze_embeddings=True; this run has freeze_embeddings=False: '
                                  'pass --freeze_embeddings True to continue it') in r.stderr, r.stderr
    r = run(out, cache, '--from_weight', base, '--freeze_embeddings', 'True', '--max_steps', 3, '--resume', 'True')
    assert r.returncode == 0 and 'resumed from' in r.stdout + r.stderr, r.stderr
    # from random weights nothing is frozen whatever the flag says (ARGS: the demo preset, which sets it, and --from_weight none)
    r = run(tmp_path/'rand', cache, '--max_steps', 1)
    assert r.returncode == 0 and 'does not apply with --from_weight none' in r.stdout + r.stderr, r.stderr
    r = run(tmp_path/'rand', cache, '--max_steps', 2, '--resume', 'True', '--freeze_embeddings', 'False')
    assert r.returncode == 0 and 'resumed from' in r.stdout + r.stderr, r.stderr


# --- the tokenisation cache -------------------------------------------------------------------------------------------

def test_a_killed_cache_build_is_rebuilt_not_read(tmp_path):
    data = tmp_path/'big.jsonl'
    data.write_bytes((DATA/'sft_train.jsonl').read_bytes() * 4)
    cdir = tmp_path/'cache'
    cmd = [sys.executable, '-c', 'from minimind_sft.token_cache import prepare_main; prepare_main()', '--preset', 'demo',
           '--data_path', str(data), '--val_data_path', 'none', '--cache_dir', str(cdir)]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    def building():
        return any(f.stat().st_size > 0 for d in cdir.glob('.*.tmp-*') for f in d.glob('ids.bin'))
    wait_for(building, p, what='the build to write tokens')
    p.kill(); p.wait()
    assert not [d for d in cdir.iterdir() if not d.name.startswith('.')]   # nothing looks like a cache
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0 and 'tokenised 12,000 conversations' in r.stdout, r.stdout + r.stderr
    assert [d.name.startswith('.') for d in cdir.iterdir()] == [False]   # the killed build's folder is gone
    from minimind_sft.token_cache import check_cache
    assert check_cache(next(cdir.iterdir())) is None


# --- non-finite steps -------------------------------------------------------------------------------------------------

def test_non_finite_steps_are_skipped_then_stop_the_run(tmp_path, cache):
    out = tmp_path/'out'
    r = run(out, cache, '--learning_rate', 1e10, '--max_bad_steps', 3, '--save_interval', 1)   # diverges at once
    assert r.returncode == 1, r.stderr
    assert 'stopped at optimizer step' in r.stderr and '3 steps in a row had a non-finite loss or gradient norm' in r.stderr
    assert r.stderr.count('skipped: loss nan') + r.stdout.count('skipped: loss nan') >= 3
    recs = [json.loads(l) for l in (out/'metrics.jsonl').read_text().splitlines()]
    assert recs[-1]['bad_steps'] >= 2 and recs[0]['bad_steps'] == 0
    for f in (out/WEIGHTS, out/RESUME):   # every file on disk: finite
        sd = torch.load(f, weights_only=False)
        sd = sd['model'] if 'model' in sd else sd
        assert all(torch.isfinite(v).all() for v in sd.values() if v.is_floating_point())


# --- torchrun ---------------------------------------------------------------------------------------------------------

def free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def torchrun(nproc=2, restarts=0, nodes=None):
    "A torchrun launcher: standalone with `nproc` workers, or one of two nodes meeting at `nodes` (a c10d endpoint)."
    base = [*TORCHRUN, '--max_restarts', str(restarts), '--monitor_interval', '0.1']
    if nodes: base += ['--nnodes', '2', '--nproc_per_node', '1', '--rdzv_backend', 'c10d', '--rdzv_endpoint', nodes, '--rdzv_id', 'faults']
    else: base += ['--standalone', '--nproc_per_node', str(nproc)]
    return [*base, '-m', 'minimind_sft.cli']


def workers(launcher_pid) -> dict[int, int]:
    "{rank: pid} of the training processes a torchrun launcher started."
    found = {}
    for d in Path('/proc').iterdir():
        if not d.name.isdigit(): continue
        try:
            if int((d/'stat').read_text().rsplit(')', 1)[1].split()[1]) != launcher_pid: continue
            env = dict(kv.split('=', 1) for kv in (d/'environ').read_text().split('\0') if '=' in kv)
        except (OSError, IndexError, ValueError): continue
        if 'RANK' in env: found[int(env['RANK'])] = int(d.name)
    return found


DDP = ('--ddp', '--save_interval', 2, '--resume', 'auto')


@pytest.fixture(scope='module')
def ddp_reference(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp('ddp_reference')
    r = run(out, cache, *DDP, launcher=torchrun(), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return out


def test_torchrun_sigterm_stops_every_rank_at_one_step_then_resumes_exactly(tmp_path, cache, ddp_reference):
    out = tmp_path/'out'
    p = start(out, cache, *DDP, launcher=torchrun())
    wait_for(lambda: steps_logged(out) >= 5, p, what='step 5')
    p.send_signal(signal.SIGTERM)   # torchrun passes it to its workers
    p.wait(120)
    log = out.with_suffix('.log').read_text()
    assert 'stopped by SIGTERM after optimizer step' in log, log[-3000:]
    assert not no_temp_files(out) and steps_logged(out) == torch.load(out/RESUME, weights_only=False)['state']['step'] < STEPS
    r = run(out, cache, *DDP, launcher=torchrun(), timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert_same(out, ddp_reference)


def test_torchrun_restarts_a_killed_worker_and_ends_exactly(tmp_path, cache, ddp_reference):
    out = tmp_path/'out'
    p = start(out, cache, *DDP, launcher=torchrun(restarts=2))
    wait_for(lambda: steps_logged(out) >= 8, p, what='step 8')
    os.kill(workers(p.pid)[1], signal.SIGKILL)
    assert p.wait(600) == 0, out.with_suffix('.log').read_text()[-3000:]
    log = out.with_suffix('.log').read_text()
    assert 'resuming from the newest valid' in log and 'resumed from' in log, log[-3000:]
    assert_same(out, ddp_reference)


def test_torchrun_without_restarts_ends_the_job_naming_the_dead_rank(tmp_path, cache):
    out = tmp_path/'out'
    p = start(out, cache, *DDP, launcher=torchrun())
    wait_for(lambda: steps_logged(out) >= 3, p, what='step 3')
    os.kill(workers(p.pid)[1], signal.SIGKILL); t0 = time.time()
    status = p.wait(120)
    log = out.with_suffix('.log').read_text()
    assert status != 0 and time.time() - t0 < 60
    assert 'rank' in log and 'exitcode' in log and '-9' in log and 'Signal 9 (SIGKILL)' in log, log[-3000:]


def test_two_launchers_as_two_nodes_match_one_launcher_even_after_a_kill(tmp_path, cache, ddp_reference):
    "torchrun --nnodes 2 on this machine (c10d rendezvous on 127.0.0.1, one CPU worker per node): same weights as one launcher."
    for kill in (False, True):
        out, endpoint = tmp_path/f'kill{kill}', f'127.0.0.1:{free_port()}'
        nodes = [start(out, cache, *DDP, launcher=torchrun(restarts=1, nodes=endpoint), log=tmp_path/f'node{i}-{kill}.log')
                 for i in range(2)]
        if kill:
            wait_for(lambda: steps_logged(out) >= 8, nodes[0], what='step 8')
            victim = next(n for n in nodes if 1 in workers(n.pid))   # the "node" whose worker holds rank 1
            os.kill(workers(victim.pid)[1], signal.SIGKILL)
        for i, n in enumerate(nodes):
            assert n.wait(600) == 0, (tmp_path/f'node{i}-{kill}.log').read_text()[-3000:]
        assert_same(out, ddp_reference)
