"""MiniMind-3 (--arch minimind3) against MiniMind's own code and tokenizer: logits, weights files, data samples, masks, the CLI.

MiniMind's code is never copied into the project: the tests that compare against it export its
`model/` and `dataset/` from a local mirror of its public repository into a temporary folder, and skip
where the mirror is absent. Tests that need MiniMind-3's tokenizer read ../shared/minimind3_tokenizer
and skip where it is absent.
"""
import json, os, subprocess, sys, types
from pathlib import Path
import pytest
import torch
from minimind_sft.testing import assert_close
from conftest import ROOT, SHARED, mirror_file, write_jsonl

TOK3 = SHARED / 'minimind3_tokenizer'
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}
TINY = dict(hidden_size=64, num_hidden_layers=2)


@pytest.fixture(scope='module')
def tok3():
    if not TOK3.is_dir(): pytest.skip('MiniMind-3 tokenizer (../shared/minimind3_tokenizer) not present')
    from minimind_sft.tokenizer import load_tokenizer
    return load_tokenizer(TOK3)


@pytest.fixture(scope='module')
def minimind_code(tmp_path_factory):
    "MiniMind-3's own model/ and dataset/ packages, exported from the mirror (skips without it); `datasets` stubbed."
    root = tmp_path_factory.mktemp('minimind')
    for f in ('model/__init__.py', 'model/model_minimind.py', 'dataset/__init__.py', 'dataset/lm_dataset.py'):
        (root / f).parent.mkdir(exist_ok=True)
        (root / f).write_text(mirror_file(f))
    # its SFTDataset reads JSONL with Hugging Face `datasets` and a schema of five string fields (absent = None);
    # `datasets` is not a dependency here, so this stub does exactly that reading and nothing else
    keys = ('role', 'content', 'reasoning_content', 'tools', 'tool_calls')
    def load_dataset(kind, data_files, split, features=None):
        rows = [json.loads(l) for l in open(data_files, encoding='utf-8') if l.strip()]
        return [{'conversations': [{k: m.get(k) for k in keys} for m in r['conversations']]} for r in rows]
    stub = types.ModuleType('datasets')
    stub.load_dataset, stub.Features, stub.Sequence, stub.Value = load_dataset, dict, list, lambda *a, **k: None
    saved = {k: sys.modules.get(k) for k in ('datasets', 'model', 'dataset')}
    sys.modules['datasets'] = stub
    sys.path.insert(0, str(root))
    import model.model_minimind as mm, dataset.lm_dataset as lm
    yield types.SimpleNamespace(model=mm, data=lm)
    sys.path.remove(str(root))
    for k, v in saved.items():
        if v is None: sys.modules.pop(k, None)
        else: sys.modules[k] = v
    for k in [k for k in sys.modules if k.startswith(('model.', 'dataset.'))]: sys.modules.pop(k)


def test_parameter_counts_of_both_presets():
    from minimind_sft.config import load_config
    from minimind_sft.minimind3 import MiniMindForCausalLM, minimind3_config
    from minimind_sft.model import count_parameters
    for preset, n in (('minimind3', 63_912_192), ('minimind3_moe', 198_416_640)):
        c = load_config(preset)
        assert c.arch == 'minimind3'
        with torch.device('meta'): m = MiniMindForCausalLM(minimind3_config(c.dim, c.n_layers, c.use_moe))
        assert count_parameters(m) == n, preset


@pytest.mark.parametrize('use_moe', [False, True])
def test_same_logits_and_loss_as_minimind3s_own_model(minimind_code, use_moe):
    from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM
    torch.manual_seed(0)
    ref = minimind_code.model.MiniMindForCausalLM(minimind_code.model.MiniMindConfig(**TINY, use_moe=use_moe))
    with torch.no_grad():
        for n, p in ref.named_parameters(): p.normal_(0, 0.2) if 'norm' not in n else p.uniform_(0.5, 1.5)
    ours = MiniMindForCausalLM(MiniMind3Config(**TINY, use_moe=use_moe))
    ours.load_state_dict(ref.state_dict(), strict=True)
    assert list(ours.state_dict()) == list(ref.state_dict())
    ids = torch.randint(0, 6400, (2, 33))
    ref.eval(), ours.eval()
    with torch.no_grad(): assert torch.equal(ref(ids).logits, ours(ids).logits)
    ref.train(), ours.train()
    a, b = ref(ids, labels=ids), ours(ids, labels=ids)
    assert_close(b.loss, a.loss)            # relative to the loss: training mode may sum in another order
    assert_close(b.aux_loss, a.aux_loss)    # MoE: the router loss too


def test_saved_weights_load_into_minimind3s_own_model_strictly(minimind_code, tmp_path):
    from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM, config_from_state_dict, load_weights, save_weights
    from minimind_sft.model import weight_path
    for use_moe in (False, True):
        ours = MiniMindForCausalLM(MiniMind3Config(**TINY, use_moe=use_moe))
        path = save_weights(ours, weight_path(tmp_path, 'full_sft', 64, use_moe))
        assert Path(path).name == f"full_sft_64{'_moe' if use_moe else ''}.pth"
        ref = minimind_code.model.MiniMindForCausalLM(minimind_code.model.MiniMindConfig(**TINY, use_moe=use_moe))
        ref.load_state_dict(torch.load(path), strict=True)  # MiniMind-3's own loading of our file
        # and back: its own fp32 file into ours, the size read from the shapes
        torch.save(ref.state_dict(), tmp_path / 'theirs.pth')
        back = load_weights(MiniMindForCausalLM(config_from_state_dict(tmp_path / 'theirs.pth')), tmp_path / 'theirs.pth')
        assert back.config.use_moe == use_moe and torch.equal(back.lm_head.weight, ref.lm_head.weight)


def test_the_other_generation_is_refused_by_name(tmp_path):
    from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM
    from minimind_sft.generations import load_generation_weights
    from minimind_sft.model import LMConfig, MiniMindLM
    seed, m3 = MiniMindLM(LMConfig(dim=64, n_layers=1)), MiniMindForCausalLM(MiniMind3Config(**TINY))
    torch.save(m3.state_dict(), tmp_path / 'm3.pth'); torch.save(seed.state_dict(), tmp_path / 'seed.pth')
    with pytest.raises(ValueError, match=r'holds MiniMind-3 .* pass --arch minimind3'): load_generation_weights(seed, tmp_path / 'm3.pth')
    with pytest.raises(ValueError, match=r'holds MiniMind \(the early-2025 .* pass --arch minimind '):
        load_generation_weights(m3, tmp_path / 'seed.pth')


PLAIN = [{'role': 'user', 'content': '你好'}, {'role': 'assistant', 'content': '你好！'}]
MULTI = [{'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': '2+2?'}, {'role': 'assistant', 'content': '4'},
         {'role': 'user', 'content': 'And 3+3?'}, {'role': 'assistant', 'content': '6'}]
THINK = [{'role': 'user', 'content': '12*3?'}, {'role': 'assistant', 'content': '36', 'reasoning_content': '12*3 = 36'}]
TOOLS = '[{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}, ' \
        '{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}]'
TWO_CALLS = [{'role': 'system', 'content': '', 'tools': TOOLS}, {'role': 'user', 'content': '北京天气和时间？'},
             {'role': 'assistant', 'content': '', 'tool_calls': '[{"name": "get_weather", "arguments": {"city": "北京"}}, '
                                                               '{"type": "function", "function": {"name": "get_time", "arguments": "{}"}}]'},
             {'role': 'tool', 'content': '{"weather": "晴"}'}, {'role': 'tool', 'content': '{"time": "12:00"}'},
             {'role': 'assistant', 'content': '北京晴，现在12:00。'}]
CUT = [{'role': 'user', 'content': 'Tell a story.'}, {'role': 'assistant', 'content': 'Once upon a time ' * 200}]


def spelled(tok, X, Y, M) -> str:
    "The sample as text, each run of loss-bearing targets in [[ ]] (runs decoded whole: characters span tokens)."
    ids, mask = [int(X[0])] + Y.tolist(), [0] + M.tolist()
    runs, start = [], 0
    for i in range(1, len(ids) + 1):
        if i == len(ids) or mask[i] != mask[start]: runs.append((mask[start], ids[start:i])); start = i
    return ''.join(f'[[{tok.decode(r)}]]' if m else tok.decode(r) for m, r in runs)


@pytest.fixture(scope='module')
def samples(tok3, tmp_path_factory):
    from minimind_sft.token_cache import SFTDataset
    d = tmp_path_factory.mktemp('m3data')
    write_jsonl(d / 'sft.jsonl', [{'conversations': c} for c in (PLAIN, MULTI, THINK, TWO_CALLS, CUT)])
    return d / 'sft.jsonl', SFTDataset(d / 'sft.jsonl', tok3, 512, pad_to_max=False, cache_dir=d / 'cache', verbose=False)


def test_masks_spelled_out(tok3, samples):
    _, ds = samples
    E = '<think>\n\n</think>\n\n'
    assert spelled(tok3, *ds[0]) == f'<|im_start|>user\n你好<|im_end|>\n<|im_start|>assistant\n[[{E}你好！<|im_end|>\n]]'
    assert spelled(tok3, *ds[1]) == (
        '<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n2+2?<|im_end|>\n<|im_start|>assistant\n'
        f'[[{E}4<|im_end|>\n]]<|im_start|>user\nAnd 3+3?<|im_end|>\n<|im_start|>assistant\n[[{E}6<|im_end|>\n]]')
    assert spelled(tok3, *ds[2]) == ('<|im_start|>user\n12*3?<|im_end|>\n<|im_start|>assistant\n'
                                     '[[<think>\n12*3 = 36\n</think>\n\n36<|im_end|>\n]]')
    text = spelled(tok3, *ds[3])
    head, _, rest = text.partition('<|im_start|>user\n北京天气和时间？<|im_end|>\n')
    assert head.startswith('<|im_start|>system\n\n\n# Tools') and '"name": "get_time"' in head and '[[' not in head
    assert rest == ('<|im_start|>assistant\n'
                    f'[[{E}<tool_call>\n{{"name": "get_weather", "arguments": {{"city": "北京"}}}}\n</tool_call>\n'
                    '<tool_call>\n{"name": "get_time", "arguments": {}}\n</tool_call><|im_end|>\n]]'
                    '<|im_start|>user\n<tool_response>\n{"weather": "晴"}\n</tool_response>\n'
                    '<tool_response>\n{"time": "12:00"}\n</tool_response><|im_end|>\n'
                    f'<|im_start|>assistant\n[[{E}北京晴，现在12:00。<|im_end|>\n]]')
    X, Y, M = ds[4]  # cut at 512 tokens inside the reply: taught up to the cut, as MiniMind-3's generate_labels
    assert len(X) == 511 and M[-1] == 1
    assert spelled(tok3, X, Y, M).startswith(f'<|im_start|>user\nTell a story.<|im_end|>\n<|im_start|>assistant\n[[{E}Once upon')


def test_samples_equal_minimind3s_own_sftdataset(minimind_code, tok3, samples, monkeypatch):
    path, ds = samples
    monkeypatch.setattr(minimind_code.data, 'pre_processing_chat', lambda c, *a, **k: c)   # its random augmentation off
    monkeypatch.setattr(minimind_code.data, 'post_processing_chat', lambda p, *a, **k: p)
    ref = minimind_code.data.SFTDataset(str(path), tok3, max_length=512)
    assert len(ref) == len(ds)
    for i in range(len(ds)):
        input_ids, labels = ref[i]
        X, Y, M = ds[i]
        n = len(X) + 1
        assert input_ids[:n].tolist() == [int(X[0])] + Y.tolist(), i   # the same tokens; theirs then padding
        assert (labels[1:n] != -100).long().tolist() == M.tolist(), i   # its model shifts labels by one: our loss_mask
        assert (labels[n:] == -100).all(), i


def test_tools_as_lists_render_as_json_strings(tok3, tmp_path):
    from minimind_sft.data import ChatRenderer
    as_lists = [dict(m) for m in TWO_CALLS]
    as_lists[0]['tools'], as_lists[2]['tool_calls'] = json.loads(TOOLS), json.loads(TWO_CALLS[2]['tool_calls'])
    r = ChatRenderer(tok3)
    assert r(as_lists) == r(TWO_CALLS)


def test_two_step_cli_run_from_a_minimind3_checkpoint(tok3, tmp_path):
    from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM, load_weights, save_weights
    from minimind_sft.model import weight_path
    torch.manual_seed(0)
    start = MiniMindForCausalLM(MiniMind3Config(**TINY))
    save_weights(start, weight_path(tmp_path, 'pretrain', 64, False))   # as MiniMind-3 publishes it: float16
    data = write_jsonl(tmp_path / 'sft.jsonl', [{'conversations': c} for c in (PLAIN, MULTI, THINK, TWO_CALLS)] * 2)
    cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'minimind3', '--tokenizer_path', str(TOK3),
           '--hidden_size', '64', '--num_hidden_layers', '2', '--use_moe', '0', '--save_dir', str(tmp_path),
           '--data_path', str(data), '--from_weight', 'pretrain', '--batch_size', '4', '--max_steps', '2',
           '--device', 'cpu', '--dtype', 'float32', '--log_interval', '1', '--num_workers', '0', '--epochs', '1',
           '--cache_dir', str(tmp_path / 'cache'), '--learning_rate', '1e-3', '--augment', 'True']   # MiniMind-3's augmentation
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    log = r.stdout + r.stderr
    assert '--fused: lean versions swapped in (' in log and 'FusedRMSNorm x' in log and 'the loss without logits' in log
    out = tmp_path / 'full_sft_64.pth'
    sd = torch.load(out)
    assert all(v.dtype == torch.float16 for v in sd.values())   # MiniMind-3's file format
    trained = load_weights(MiniMindForCausalLM(MiniMind3Config(**TINY)), out)
    assert not torch.equal(trained.lm_head.weight, start.lm_head.weight.half().float())   # it trained
    # the same run with --arch minimind: the file is refused by name, in seconds
    r = subprocess.run(cmd + ['--arch', 'minimind', '--tokenizer_path', str(ROOT / 'data' / 'tokenizer')],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 1 and 'pass --arch minimind3' in r.stderr, r.stderr[-2000:]


def test_resume_with_minimind3s_augmentation_is_exact(tok3, tmp_path):
    "MoE, MiniMind-3's augmentation on: 4 steps in one go, and 2 steps then a resume, end with the same weights."
    import shutil
    data = write_jsonl(tmp_path / 'sft.jsonl', [{'conversations': c} for c in (PLAIN, MULTI, THINK, TWO_CALLS)] * 4)
    def run(out, *extra):
        cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'minimind3_moe', '--tokenizer_path', str(TOK3),
               '--hidden_size', '64', '--num_hidden_layers', '2', '--save_dir', str(out), '--data_path', str(data),
               '--from_weight', 'none', '--batch_size', '2', '--max_steps', '4', '--save_interval', '2', '--device', 'cpu',
               '--dtype', 'float32', '--num_workers', '0', '--cache_dir', str(tmp_path / 'cache'), '--learning_rate', '1e-3',
               '--augment', 'True', *extra]
        r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
        return r.stdout + r.stderr
    run(tmp_path / 'full')
    shutil.copytree(tmp_path / 'full', tmp_path / 'resumed')
    (tmp_path / 'resumed' / 'resume_64_moe.pth').unlink()   # the step-4 checkpoint: the step-2 one is the newest left
    (tmp_path / 'resumed' / 'full_sft_64_moe.pth').unlink()
    log = run(tmp_path / 'resumed', '--from_resume', '1')
    assert 'resumed from' in log and 'step 2,' in log, log[-2000:]
    a, b = torch.load(tmp_path / 'full' / 'full_sft_64_moe.pth'), torch.load(tmp_path / 'resumed' / 'full_sft_64_moe.pth')
    assert all(torch.equal(a[k], b[k]) for k in a)
