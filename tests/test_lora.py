"LoRA in MiniMind's file layout, checked against MiniMind-3's own model/model_lora.py (exported from the mirror; skips without it)."
import hashlib, json, os, subprocess, sys
import pytest
import torch
from minimind_sft.lora import apply_lora, lora_state_dict, merged_state_dict, _adapted
from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM
from minimind_sft.testing import assert_close
from conftest import mirror_file



@pytest.fixture(scope='module')
def minimind_lora(tmp_path_factory):
    "MiniMind-3's model_minimind and model_lora modules, exported from the mirror."
    root = tmp_path_factory.mktemp('minimind')
    (root / 'mm3').mkdir()
    for f in ('__init__.py', 'model_minimind.py', 'model_lora.py'):
        (root / 'mm3' / f).write_text(mirror_file(f'model/{f}').replace('from .model_minimind', 'from mm3.model_minimind'))
    sys.path.insert(0, str(root))
    import mm3.model_minimind as mm, mm3.model_lora as ml
    yield mm, ml
    sys.path.remove(str(root))
    for k in [k for k in sys.modules if k == 'mm3' or k.startswith('mm3.')]: sys.modules.pop(k)


@pytest.mark.parametrize('moe', [False, True], ids=['dense', 'moe'])
def test_our_adapter_file_in_minimind3s_own_model_and_merge(minimind_lora, moe, tmp_path):
    mm, ml = minimind_lora
    torch.manual_seed(0)
    ours = MiniMindForCausalLM(MiniMind3Config(hidden_size=64, num_hidden_layers=2, use_moe=moe)).eval()
    with torch.no_grad():
        for p in ours.parameters(): p.normal_(0, 0.1)
    base = {k: v.clone() for k, v in ours.state_dict().items()}
    x = torch.randint(0, 6400, (2, 16))
    with torch.no_grad(): without = ours(x).logits
    apply_lora(ours)
    with torch.no_grad():
        for _, layer in _adapted(ours): layer.lora_B['default'].weight.normal_(0, 0.1)   # as if trained
    torch.save(lora_state_dict(ours), tmp_path / 'lora_medical_64.pth')
    theirs = mm.MiniMindForCausalLM(mm.MiniMindConfig(hidden_size=64, num_hidden_layers=2, use_moe=moe)).eval()
    missing, unexpected = theirs.load_state_dict(base, strict=False)
    assert not unexpected and all('freqs' in k or 'rotary' in k for k in missing), (missing, unexpected)
    ml.apply_lora(theirs)
    ml.load_lora(theirs, str(tmp_path / 'lora_medical_64.pth'))                    # MiniMind-3's own loader
    with torch.no_grad(): a, b = ours(x).logits, theirs(x).logits
    assert_close(b, a, rtol=1e-3)                                                 # float16 adapters
    assert (b - without).abs().max() > 100 * (b - a).abs().max()                  # the adapter changes the model
    ml.merge_lora(theirs, str(tmp_path / 'lora_medical_64.pth'), str(tmp_path / 'merged.pth'))   # MiniMind's merge
    mine, its = merged_state_dict(ours), torch.load(tmp_path / 'merged.pth')
    shared = [k for k in mine if k in its]
    assert len(shared) == len(mine) and all(mine[k].dtype == its[k].dtype == torch.float16 for k in shared)
    for k in shared: assert_close(mine[k].float(), its[k].float(), rtol=1e-3)


ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore', 'TQDM_DISABLE': '1'}
TINY = ('--preset', 'demo', '--dim', '64', '--n_layers', '1', '--max_seq_len', '128', '--batch_size', '4', '--log_interval', '1',
        '--eval_interval', '0', '--val_data_path', 'none', '--dtype', 'float32', '--device', 'cpu', '--num_workers', '0')


def cli(out, cache, *extra, stage='sft'):
    return [sys.executable, '-m', 'minimind_sft.cli', '--stage', stage, *TINY, '--out_dir', str(out), '--cache_dir', str(cache), *map(str, extra)]


@pytest.fixture(scope='module')
def sft_out(tmp_path_factory):
    "A tiny full-SFT run: its full_sft_64.pth is what the LoRA runs start from."
    root = tmp_path_factory.mktemp('lora')
    r = subprocess.run(cli(root / 'out', root / 'cache', '--from_weight', 'none', '--max_steps', 3), capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    return root


def copy_base(sft_out, out):
    out.mkdir()
    (out / 'full_sft_64.pth').write_bytes((sft_out / 'out' / 'full_sft_64.pth').read_bytes())


def test_a_lora_run_trains_the_adapters_only_and_writes_minimind_layout(sft_out, tmp_path):
    from minimind_sft.lora import load_lora
    from minimind_sft.model import LMConfig, MiniMindLM
    out = tmp_path / 'out'; copy_base(sft_out, out)
    base_bytes = (out / 'full_sft_64.pth').read_bytes()
    r = subprocess.run(cli(out, sft_out / 'cache', '--max_steps', 6, '--learning_rate', 1e-2, stage='lora'), capture_output=True, text=True,
                       env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    assert 'LoRA rank 16 on 2 layers (every square nn.Linear): 4,096 trainable parameters' in r.stdout + r.stderr, r.stdout
    assert (out / 'full_sft_64.pth').read_bytes() == base_bytes                      # the base weights file is never written
    sd = torch.load(out / 'lora_demo_64.pth')                                         # [demo:lora]'s save_weight
    assert sorted(sd) == [f'layers.0.attention.{m}.lora.{ab}.weight' for m in ('wo', 'wq') for ab in 'AB']
    assert all(v.dtype == torch.float16 for v in sd.values()) and sd['layers.0.attention.wq.lora.B.weight'].abs().max() > 0
    ck = torch.load(out / 'lora_resume_64.pth', weights_only=False)                 # the resume checkpoint: the adapters alone
    assert ck['adapters_only'] and sorted(ck['model']) == [f'layers.0.attention.{m}.lora_{ab}.default.weight' for m in ('wo', 'wq') for ab in 'AB']
    assert all(v.dtype == torch.float32 for v in ck['model'].values()) and len(ck['optimizer']['state']) == 4   # nothing else was trained
    assert ck['fingerprint']['base']['data_sha256'] == hashlib.sha256(base_bytes).hexdigest()   # the base they sit on
    base = torch.load(out / 'full_sft_64.pth')
    model = MiniMindLM(LMConfig(dim=64, n_layers=1)).eval(); model.load_state_dict(base)
    x = torch.randint(3, 6400, (1, 12))
    with torch.no_grad(): before = model(x).logits
    from minimind_sft.lora import apply_lora
    load_lora(apply_lora(model), out / 'lora_demo_64.pth')
    with torch.no_grad(): assert (model(x).logits - before).abs().max() > 1e-3       # the trained adapters change the model


def test_a_killed_lora_run_resumes_exactly(sft_out, tmp_path):
    ref = tmp_path / 'ref'; copy_base(sft_out, ref)
    r = subprocess.run(cli(ref, sft_out / 'cache', '--max_steps', 10, '--save_interval', 1, stage='lora'), capture_output=True, text=True,
                       env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    out = tmp_path / 'out'; copy_base(sft_out, out)
    cmd = cli(out, sft_out / 'cache', '--max_steps', 10, '--save_interval', 1, '--resume', 'auto', stage='lora')
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    try:
        import time
        deadline = time.time() + 240
        while time.time() < deadline:
            m = out / 'lora_metrics.jsonl'
            if m.exists() and any(json.loads(l)['step'] >= 4 for l in m.read_text().splitlines() if l.strip().endswith('}')): break
            assert p.poll() is None, 'the run ended before it could be killed'
            time.sleep(0.02)
        os.killpg(p.pid, 9)
    finally: p.wait()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0 and 'resumed from' in r.stdout + r.stderr, r.stderr
    a, b = torch.load(ref / 'lora_demo_64.pth'), torch.load(out / 'lora_demo_64.pth')
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_lora_on_two_processes_computes_what_one_process_computes(sft_out, tmp_path):
    "DDP on the lora stage: 2 processes x batch 2 train the adapters 1 process x batch 4 trains (float rounding apart)."
    runs = {}
    for name, launcher, extra in (('one', [], ('--batch_size', 4)),
                                  ('two', [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc_per_node', '2'],
                                   ('--batch_size', 2, '--ddp'))):
        out = tmp_path / name; copy_base(sft_out, out)
        cmd = cli(out, sft_out / 'cache', '--max_steps', 4, '--learning_rate', 1e-2, *extra, stage='lora')
        if launcher: cmd = [*launcher, '-m', *cmd[2:]]   # torchrun -m minimind_sft.cli ...
        r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        runs[name] = torch.load(out / 'lora_demo_64.pth')
        runs[name + ' losses'] = [json.loads(l)['loss'] for l in (out / 'lora_metrics.jsonl').read_text().splitlines() if '"loss"' in l]
    la, lb = runs['one losses'], runs['two losses']
    assert len(la) == 4 and all(abs(x - y) <= 1e-4 * abs(x) for x, y in zip(la, lb)), (la, lb)   # the same samples in each step
    a, b = runs['one'], runs['two']
    assert a.keys() == b.keys() and any(k.endswith('.lora.B.weight') and b[k].abs().max() > 0 for k in b)   # trained, not the zero init
    assert max((a[k].float() - b[k].float()).abs().max().item() for k in a) < 1e-3                       # float16 files, summed in another order


def test_resume_onto_another_base_is_refused(sft_out, tmp_path):
    "The resume checkpoint holds the adapters alone: the base they were trained on must be the file from_weight names now."
    out = tmp_path / 'out'; copy_base(sft_out, out)
    r = subprocess.run(cli(out, sft_out / 'cache', '--max_steps', 2, '--save_interval', 1, stage='lora'), capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    sd = torch.load(out / 'full_sft_64.pth')
    sd['output.weight'] = sd['tok_embeddings.weight'] = sd['tok_embeddings.weight'] * 1.01   # another base, same shapes
    torch.save(sd, out / 'full_sft_64.pth')
    r = subprocess.run(cli(out, sft_out / 'cache', '--max_steps', 4, '--save_interval', 1, '--resume', 'True', stage='lora'),
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode != 0 and '(base) changed' in r.stderr and 'its content differs' in r.stderr, r.stderr[-2000:]
