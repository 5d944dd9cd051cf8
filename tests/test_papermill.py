"The run notebook under papermill: a short run leaves an executed record with its plot; bad parameters fail early; DDP from the notebook."
import json, os, subprocess, sys
from pathlib import Path
import pytest
import torch
from conftest import ROOT

NB = ROOT / 'nbs' / 'train.ipynb'
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}
ENV.pop('IN_TEST', None)


def papermill(out_nb, *params, timeout=600):
    cmd = [sys.executable, '-m', 'papermill', str(NB), str(out_nb), '--cwd', str(ROOT / 'nbs'), '-k', 'python3']
    for k, v in params: cmd += ['-p', k, str(v)]
    return subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)


def outputs(nb_path):
    nb = json.loads(Path(nb_path).read_text())
    return [o for c in nb['cells'] if c['cell_type'] == 'code' for o in c.get('outputs', [])]


def short(tmp_path, **extra):
    "A short run of the demo preset at another shape (64 wide, 2 layers): the bundled 192-wide base does not fit it."
    params = dict(dim=64, n_layers=2, max_steps=6, batch_size=8, eval_interval=3, log_interval=2, eval_prompts=4, max_new_tokens=16,
                  out_dir=tmp_path / 'out', cache_dir=tmp_path / 'cache')
    params.update(extra)
    return list(params.items())


def record_text(outs): return ''.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/html', '')) for o in outs)


def test_short_run_leaves_an_executed_record(tmp_path):
    r = papermill(tmp_path / 'run.ipynb', *short(tmp_path))
    assert r.returncode == 0, r.stderr[-3000:]
    outs = outputs(tmp_path / 'run.ipynb')
    assert not [o for o in outs if o['output_type'] == 'error']
    assert sum('image/png' in o.get('data', {}) for o in outs) >= 2          # the LR schedule and the loss plot
    text = record_text(outs)
    assert 'before SFT' in text and 'after SFT' in text
    assert text.count('not dim=64, n_layers=2: starting from random weights') == 1   # the shape override, said once, at the top
    out = tmp_path / 'out'
    assert {'full_sft_64.pth', 'metrics.jsonl', 'loss.png', 'lr_schedule.png', 'before_after.json'} <= {p.name for p in out.iterdir()}
    ba = json.loads((out / 'before_after.json').read_text())
    assert ba['after']['validation loss'] < ba['before']['validation loss']


def test_unknown_parameter_fails_first(tmp_path):
    r = papermill(tmp_path / 'bad.ipynb', ('dimm', 768), ('out_dir', tmp_path / 'out'))
    assert r.returncode != 0 and "unknown parameter(s) dimm" in r.stderr + r.stdout
    assert not (tmp_path / 'out').exists()


def test_bad_value_fails_first(tmp_path):
    r = papermill(tmp_path / 'bad.ipynb', ('batch_size', 'many'), ('out_dir', tmp_path / 'out'))
    assert r.returncode != 0 and "batch_size = 'many'" in r.stderr + r.stdout
    assert not (tmp_path / 'out').exists()


def test_two_processes_from_the_notebook(tmp_path):
    from minimind_sft.model import LMConfig, MiniMindLM
    (tmp_path / 'out').mkdir()
    base = tmp_path / 'out' / 'pretrain_64.pth'                              # a pretrained base of the run's width in out_dir
    torch.save(MiniMindLM(LMConfig(dim=64, n_layers=2)).state_dict(), base)
    r = papermill(tmp_path / 'ddp.ipynb', *short(tmp_path, nproc_per_node=2, batch_size=4))
    assert r.returncode == 0, r.stderr[-3000:]
    outs = outputs(tmp_path / 'ddp.ipynb')
    log = ''.join(''.join(o.get('text', '')) for o in outs)
    assert 'x 2 process(es)' in log and 'done: 6 optimizer steps' in log
    assert f'not dim=64, n_layers=2: starting from {base}' in record_text(outs) and f'weights from {base}' in log
    metrics = [json.loads(l) for l in (tmp_path / 'out' / 'metrics.jsonl').read_text().splitlines()]
    assert max(m['step'] for m in metrics) == 6
    assert sum('image/png' in o.get('data', {}) for o in outs) >= 2


def test_lora_stage_records_adapters_scored_merged_into_their_base(tmp_path):
    from conftest import DATA
    base = DATA / 'pretrain_192.pth'
    before = base.read_bytes()
    r = papermill(tmp_path / 'lora.ipynb', ('stage', 'lora'), ('from_weight', base), ('max_steps', 4), ('batch_size', 8),
                  ('eval_interval', 2), ('log_interval', 2), ('eval_prompts', 4), ('max_new_tokens', 16),
                  ('out_dir', tmp_path / 'out'), ('cache_dir', tmp_path / 'cache'))
    assert r.returncode == 0, r.stderr[-3000:]
    text = record_text(outputs(tmp_path / 'lora.ipynb'))
    assert 'before LoRA' in text and 'after LoRA' in text and 'trainable parameters' in text
    adapters = torch.load(tmp_path / 'out' / 'lora_demo_192.pth')
    assert adapters and all(k.endswith(('.lora.A.weight', '.lora.B.weight')) for k in adapters)   # adapters only, in MiniMind's keys
    assert base.read_bytes() == before                                                          # the base is only read
