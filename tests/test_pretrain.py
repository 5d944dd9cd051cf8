"""The pretrain stage: samples against MiniMind's rule and its own PretrainDataset, bad lines, the
minimind-pretrain command and the SFT stage starting from its weights, the stage layering of settings.

MiniMind's code is never copied into the project: the tests that compare against it export its
`model/` at commit d9453ed (the early-2025 generation) from a local mirror of its public repository
into a temporary folder, and skip where the mirror is absent (`MINIMIND_MIRROR` overrides its path).
"""
import ast, importlib.machinery, json, os, subprocess, sys, types
from pathlib import Path
import pytest
import torch
from conftest import ROOT, write_jsonl

MIRROR = Path(os.environ.get('MINIMIND_MIRROR', '/work/.mirror/jingyaogong+minimind/repo'))  # a bare git mirror
COMMIT = 'd9453ed9a35847d7363a4b16b8a84274941c3609'  # MiniMind's last commit of the early-2025 generation
ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}
BIN = Path(sys.executable).parent
MAX_LENGTH = 40
DOCS = ['The cat sat on the mat.',
        '小猫坐在垫子上，看着窗外的小鸟。',
        'Mixed 中英 text: 3 + 4 = 7, and 七 is seven.',
        '  leading spaces, a tab\there, and a newline\nin the middle  ',
        'A long English document that goes on and on, ' * 4 + 'and ends far beyond max_length.',
        '这是一篇很长的中文文档，' * 12 + '它的结尾远远超出了最大长度。']
# what MiniMind's train_pretrain.py at d9453ed sets (its argparse defaults; device depends on the machine)
PRETRAIN_DEFAULTS = dict(out_dir='out', epochs=1, batch_size=32, learning_rate=5e-4, dtype='bfloat16', use_wandb=False,
                         wandb_project='MiniMind-Pretrain', num_workers=1, ddp=False, accumulation_steps=8, grad_clip=1.0,
                         warmup_iters=0, log_interval=100, save_interval=100, local_rank=-1, dim=512, n_layers=8,
                         max_seq_len=512, use_moe=False, data_path='./dataset/pretrain_hq.jsonl')


@pytest.fixture(scope='module')
def text_file(tmp_path_factory):
    "zh and en documents, two of them longer than MAX_LENGTH tokens, one with extra keys (no blank lines: MiniMind cannot read those)."
    rows = [{'text': d} for d in DOCS]
    rows[1]['source'] = 'web'
    return write_jsonl(tmp_path_factory.mktemp('text') / 'pretrain.jsonl', rows)


def minimind_rule(text, tok, max_length):
    "MiniMind's PretrainDataset.__getitem__ (d9453ed), written out: `X, Y, loss_mask`."
    ids = tok(f'{tok.bos_token}{text}{tok.eos_token}', max_length=max_length, padding='max_length', truncation=True,
              return_tensors='pt').input_ids.squeeze(0)
    loss_mask = ids != tok.pad_token_id
    return ids[:-1].long(), ids[1:].long(), loss_mask[1:].long()


def git_show(path):
    r = subprocess.run(['git', f'--git-dir={MIRROR}', 'show', f'{COMMIT}:{path}'], capture_output=True, text=True)
    if r.returncode: pytest.skip(f'the mirror has no {COMMIT[:7]}:{path}: {r.stderr.strip()}')
    return r.stdout


@pytest.fixture(scope='module')
def minimind(tmp_path_factory):
    "MiniMind's own model/ package at d9453ed, exported from the mirror (skips without it); pandas and sklearn stubbed (unused by what is tested)."
    if not (MIRROR / 'HEAD').is_file(): pytest.skip(f'no MiniMind mirror at {MIRROR} (set MINIMIND_MIRROR)')
    root = tmp_path_factory.mktemp('minimind')
    (root / 'model').mkdir()
    (root / 'model' / '__init__.py').write_text('')
    for f in ('model/LMConfig.py', 'model/model.py', 'model/dataset.py'): (root / f).write_text(git_show(f))
    stubs = ('pandas', 'sklearn', 'sklearn.model_selection')
    saved = {k: sys.modules.get(k) for k in ('model', *stubs)}
    for name in stubs:   # its dataset.py imports them at the top, for data sets not tested here
        sys.modules[name] = types.ModuleType(name); sys.modules[name].__spec__ = importlib.machinery.ModuleSpec(name, None)
    sys.modules['sklearn.model_selection'].train_test_split = None
    sys.modules.pop('model', None)
    sys.path.insert(0, str(root))
    import model.LMConfig as cfg_mod, model.model as model_mod, model.dataset as data_mod
    yield types.SimpleNamespace(LMConfig=cfg_mod.LMConfig, MiniMindLM=model_mod.MiniMindLM, PretrainDataset=data_mod.PretrainDataset)
    sys.path.remove(str(root))
    for k, v in saved.items():
        if v is None: sys.modules.pop(k, None)
        else: sys.modules[k] = v
    for k in [k for k in sys.modules if k.startswith('model.')]: sys.modules.pop(k)


@pytest.mark.parametrize('which', ['tokenizer', 'minimind_tokenizer'])
def test_samples_padded_to_max_length_are_minimind_rule(which, request, text_file, tmp_path):
    from minimind_sft.token_cache import PretrainDataset
    tok = request.getfixturevalue(which)   # the bundled tokenizer; MiniMind's own where ../shared has it
    ds = PretrainDataset(text_file, tok, MAX_LENGTH, pad_to_max=True, cache_dir=tmp_path, verbose=False)
    assert len(ds) == len(DOCS) and ds.stats()['truncated'] == 2
    for i, text in enumerate(DOCS):
        ours, ref = ds[i], minimind_rule(text, tok, MAX_LENGTH)
        for name, a, b in zip(('X', 'Y', 'loss_mask'), ours, ref):
            assert a.dtype == torch.long and a.shape == (MAX_LENGTH - 1,) and torch.equal(a, b), (i, name)
    X, Y, M = ds[4]                                                   # cut at max_length: its </s> is gone too
    assert ds.lengths[4] == MAX_LENGTH and tok.eos_token_id not in Y.tolist() and M.all()
    X, Y, M = ds[0]                                                   # whole: loss on every target through </s>, none on pads
    n = int(ds.lengths[0]) - 1
    assert X[0] == tok.bos_token_id and Y[n - 1] == tok.eos_token_id and M[:n].all() and not M[n:].any()
    unpadded = PretrainDataset(text_file, tok, MAX_LENGTH, pad_to_max=False, cache_dir=tmp_path, verbose=False)
    assert unpadded.cache.folder == ds.cache.folder                  # one cache, items padded or not
    for i in range(len(DOCS)):
        n = int(ds.lengths[i]) - 1
        assert all(torch.equal(a, b[:n]) for a, b in zip(unpadded[i], ds[i]))


def test_same_samples_as_minimind_own_pretrain_dataset(minimind, tokenizer, text_file, tmp_path):
    from minimind_sft.token_cache import PretrainDataset
    ours = PretrainDataset(text_file, tokenizer, MAX_LENGTH, cache_dir=tmp_path, verbose=False)
    ref = minimind.PretrainDataset(str(text_file), tokenizer, max_length=MAX_LENGTH)
    assert len(ours) == len(ref) == len(DOCS)
    import warnings
    for i in range(len(ref)):
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')   # its torch.tensor(tensor) warns
            theirs = ref[i]
        assert all(torch.equal(a, b.long()) for a, b in zip(ours[i], theirs)), i


def test_cache_and_fingerprint_are_sfts_with_a_key_of_their_own(tokenizer, tmp_path):
    from minimind_sft.data import PretrainChunkPreparer
    from minimind_sft.token_cache import PretrainDataset, SFTDataset, cache_key
    both = write_jsonl(tmp_path / 'both.jsonl', [{'text': 'Hello there.', 'conversations': [
        {'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Hello there.'}]}])   # valid for both stages
    sft = SFTDataset(both, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    pre = PretrainDataset(both, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    assert cache_key(both, tokenizer, 64) != cache_key(both, tokenizer, 64, preparer=PretrainChunkPreparer)
    assert sft.cache.folder != pre.cache.folder and pre.cache.meta['kind'] == 'pretrain' and sft.cache.meta['kind'] == 'sft'
    same = ('path', 'data_sha256', 'tokenizer_sha256')                 # same file, same tokenizer: what --resume checks ...
    assert [pre.fingerprint[k] for k in same] == [sft.fingerprint[k] for k in same]
    assert pre.fingerprint['code_sha256'] != sft.fingerprint['code_sha256']   # ... and the code that made the samples
    assert tokenizer.decode(pre[0][1][pre[0][2].bool()]) == 'Hello there.</s>'
    again = PretrainDataset(both, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    assert again.cache.folder == pre.cache.folder and len(list((tmp_path / 'c').iterdir())) == 2


def test_worker_processes_build_the_same_pretrain_cache(tokenizer, text_file, tmp_path):
    from minimind_sft.data import PretrainChunkPreparer
    from minimind_sft.token_cache import _build_cache
    metas, files = [], []
    for n in (1, 2):                                                  # a large file's path: chunks in worker processes
        out = tmp_path / f'p{n}'; out.mkdir()
        metas.append(_build_cache(text_file, tokenizer, MAX_LENGTH, out, False, num_proc=n, chunk_size=2, preparer=PretrainChunkPreparer))
        files.append({f.name: f.read_bytes() for f in out.iterdir()})
    assert metas[0]['kind'] == 'pretrain' and metas[0]['samples'] == len(DOCS) and files[0] == files[1]


def test_bad_lines_name_file_line_and_field_before_training(tokenizer, tmp_path):
    from minimind_sft.data import DataError
    from minimind_sft.token_cache import PretrainDataset
    bad = write_jsonl(tmp_path / 'bad.jsonl', [{'text': 'fine'}, '{"text": "unclosed', '[1, 2]', {'content': 'x'},
                                               {'conversations': []}, {'text': 7}, {'text': '  '}, {'text': 'a <s> b'},
                                               {'text': 'end</s>'}, b'{"text": "\xff"}', '', {'text': 'also fine'}])
    with pytest.raises(DataError) as e: PretrainDataset(bad, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    msg = str(e.value)
    for line, what in [(2, 'invalid JSON'), (3, 'expected a JSON object, got an array'), (4, 'missing "text"'),
                       (5, 'missing "text" (this looks like SFT data'), (6, '"text" must be a string, got a number'), (7, '"text" is empty'),
                       (8, '"text" contains the special token "<s>"'),
                       (9, '"text" contains the special token "</s>"'), (10, 'not valid UTF-8')]:
        assert f'{bad}:{line}: {what}' in msg, (line, msg)
    assert '9 bad lines' in msg and f'{bad}:1:' not in msg and f'{bad}:11:' not in msg
    ds = PretrainDataset(bad, tokenizer, 64, cache_dir=tmp_path / 'c', skip_bad_lines=True, verbose=False)
    assert len(ds) == 2 and ds.stats()['skipped'] == 9 and list(ds.cache.lines) == [1, 12]
    out = tmp_path / 'out'                                            # the command stops before any training step
    r = subprocess.run([str(BIN / 'minimind-pretrain'), '--preset', 'demo', '--dim', '64', '--n_layers', '1', '--out_dir', str(out),
                        '--data_path', str(bad), '--cache_dir', str(tmp_path / 'c2')], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 1 and f'{bad}:8: "text" contains the special token "<s>"' in r.stderr, r.stderr
    assert not [p for p in out.iterdir() if p.suffix in ('.pth', '.jsonl')]


def test_minimind_pretrain_writes_minimind_weights_that_sft_starts_from(tokenizer, text_file, tmp_path, request):
    from minimind_sft.config import load_config
    from minimind_sft.model import LMConfig, MiniMindLM
    from minimind_sft.trainer import init_model, lm_config
    out = tmp_path / 'out'
    common = ['--preset', 'demo', '--dim', '64', '--n_layers', '1', '--out_dir', str(out), '--cache_dir', str(tmp_path / 'c'),
              '--batch_size', '2', '--log_interval', '1', '--warmup_iters', '0']   # the demo's pretraining warms up 20 steps
    r = subprocess.run([str(BIN / 'minimind-pretrain'), *common, '--data_path', str(text_file), '--max_steps', '2',
                        '--accumulation_steps', '2'], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0 and 'done: 2 optimizer steps' in r.stdout, r.stderr
    assert 'random init' in r.stdout                                  # pretraining starts from random weights
    names = {p.name for p in out.iterdir()}
    assert {'pretrain_64.pth', 'pretrain_resume_64.pth', 'pretrain_metrics.jsonl'} <= names and 'metrics.jsonl' not in names
    recs = [json.loads(l) for l in (out / 'pretrain_metrics.jsonl').read_text().splitlines()]
    assert [m['step'] for m in recs] == [1, 2] and all(m['loss_tokens'] > 0 for m in recs)
    sd = torch.load(out / 'pretrain_64.pth')
    ref = MiniMindLM(LMConfig(dim=64, n_layers=1))
    assert list(sd) == list(ref.state_dict()) and all(v.dtype == torch.float32 for v in sd.values())   # MiniMind's layout and dtype
    ref.load_state_dict(sd, strict=True)
    if (MIRROR / 'HEAD').is_file():                                   # ... and MiniMind's own model loads it
        mm = request.getfixturevalue('minimind')
        mm.MiniMindLM(mm.LMConfig(dim=64, n_layers=1)).load_state_dict(sd, strict=True)
    # the SFT stage in the same out_dir starts from exactly these weights ...
    cfg = load_config('demo', dim=64, n_layers=1, out_dir=out, from_weight='pretrain')
    model, _ = init_model(lm_config(cfg), cfg)
    assert all(torch.equal(model.state_dict()[k], v) for k, v in sd.items())
    # ... and trains from them: its own files, the pretrain stage's left alone
    r = subprocess.run([str(BIN / 'minimind-sft'), *common, '--from_weight', 'pretrain', '--max_steps', '2', '--val_data_path', 'none'],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0 and 'done: 2 optimizer steps' in r.stdout, r.stderr
    assert f"weights from {out / 'pretrain_64.pth'}" in r.stdout
    sft = torch.load(out / 'full_sft_64.pth')
    assert not all(torch.equal(sft[k], v) for k, v in sd.items())
    assert torch.equal(torch.load(out / 'pretrain_64.pth')['tok_embeddings.weight'], sd['tok_embeddings.weight'])
    assert {'metrics.jsonl', 'resume_64.pth'} <= {p.name for p in out.iterdir()}


def test_minimind_pretrain_help_shows_the_pretrain_defaults(capsys):
    from minimind_sft.cli import pretrain_main
    with pytest.raises(SystemExit): pretrain_main(['--help'])
    text = ' '.join(capsys.readouterr().out.split())
    assert text.startswith('usage: minimind-pretrain') and 'train_pretrain.py' in text
    for default in ('5e-4', '8', 'MiniMind-Pretrain', './dataset/pretrain_hq.jsonl'):
        assert f'(default: {default})' in text.replace('- ', '-'), default   # argparse may wrap at a hyphen
    assert 'stage:pretrain' not in text and 'demo:pretrain' not in text   # stage sections are not presets


def minimind_pretrain_argparse_defaults() -> dict:
    "The defaults of train_pretrain.py's flags at d9453ed, read from its source (store_true flags: False)."
    tree, out = ast.parse(git_show('train_pretrain.py')), {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, 'attr', None) == 'add_argument':
            name = node.args[0].value.lstrip('-')
            kw = {k.arg: k.value for k in node.keywords}
            if 'default' in kw:
                try: out[name] = ast.literal_eval(kw['default'])
                except ValueError: pass                               # --device: an expression of the machine
            elif getattr(kw.get('action'), 'value', None) == 'store_true': out[name] = False
    return out


def test_stage_layering_of_settings(tmp_path):
    from minimind_sft.config import build_parser, load_config, read_presets
    def check(cfg, expected):
        for k, v in expected.items():
            got = getattr(cfg, k)
            assert (Path(got) == (ROOT / v).resolve()) if k in ('out_dir', 'data_path') else got == v, (k, got, v)
    pre = load_config(stage='pretrain')                               # MiniMind's train_pretrain.py defaults
    check(pre, PRETRAIN_DEFAULTS)
    assert (pre.stage, pre.save_weight, pre.from_weight, pre.val_data_path) == ('pretrain', 'pretrain', 'none', None)
    if (MIRROR / 'HEAD').is_file():
        theirs = minimind_pretrain_argparse_defaults()
        assert set(theirs) == set(PRETRAIN_DEFAULTS) and theirs == PRETRAIN_DEFAULTS
    sft = load_config()                                               # the SFT stage is untouched
    assert (sft.learning_rate, sft.accumulation_steps, sft.wandb_project, sft.save_weight, sft.from_weight) == \
           (5e-5, 1, 'MiniMind-Full-SFT', 'full_sft', 'pretrain')
    demo = load_config('demo', stage='pretrain')                      # [DEFAULT] < [stage:pretrain] < [demo] < [demo:pretrain]
    assert (demo.dim, demo.learning_rate, demo.accumulation_steps, demo.wandb_project) == (192, 2e-3, 1, 'MiniMind-Pretrain')   # [demo], [demo:pretrain] over [demo], over the stage, the stage
    assert demo.data_path == str(ROOT / 'data' / 'pretrain.jsonl') and demo.out_dir == str(ROOT / 'out' / 'demo_pretrain')
    assert (demo.from_weight, demo.val_data_path, demo.save_weight) == ('none', None, 'pretrain')
    mine = load_config('demo', stage='pretrain', learning_rate=3e-3, data_path=str(tmp_path / 'x.jsonl'))   # explicit values win
    assert (mine.learning_rate, mine.data_path) == (3e-3, str(tmp_path / 'x.jsonl'))
    assert load_config('small', stage='pretrain').learning_rate == 5e-4 and load_config('small').learning_rate == 5e-5
    # a section's own keys count, even where they repeat [DEFAULT] (configparser copies [DEFAULT] into every section)
    s = tmp_path / 'settings.ini'
    s.write_text((ROOT / 'settings.ini').read_text() + '\n[same]\nlearning_rate = 5e-5\n\n[other]\ndim = 64\n\n'
                 '[other:pretrain]\nfrom_weight = weights/start_64.pth\nepochs = 3\n')
    assert load_config('same', settings=s, stage='pretrain').learning_rate == 5e-5
    other = load_config('other', settings=s, stage='pretrain')
    assert (other.dim, other.epochs, other.learning_rate) == (64, 3, 5e-4)
    assert other.from_weight == str(tmp_path / 'weights' / 'start_64.pth')   # a .pth in settings.ini: relative to it
    assert load_config('other', settings=s).epochs == 1                      # [other:pretrain] is for the pretrain stage only
    # stage sections are layers, not presets
    assert not [n for n in read_presets(s) if ':' in n] and 'other' in read_presets(s)
    assert 'stage:pretrain' not in build_parser().format_help() and 'demo:pretrain' not in build_parser(stage='pretrain').format_help()
    params = json.loads((ROOT / 'nbs' / 'train.ipynb').read_text())
    preset_line = next(l for c in params['cells'] for l in c['source'] if l.startswith('preset ='))
    listed = preset_line.split('preset:', 1)[1].split('(')[0].replace(',', ' ').split()   # the run notebook's parameter comment
    assert listed and set(listed) <= set(read_presets()) and not [n for n in listed if ':' in n]


def test_run_notebook_at_the_pretrain_stage(tmp_path):
    "papermill nbs/train.ipynb -p stage pretrain: a short recorded run, validation loss before and after, continuations."
    texts = [json.loads(l)['conversations'][-1]['content'] for l in (ROOT / 'data' / 'sft_val.jsonl').open(encoding='utf-8')]
    train, val = (write_jsonl(tmp_path / f'{n}.jsonl', [{'text': t} for t in part]) for n, part in (('pre', texts[:48]), ('pre_val', texts[48:64])))
    out = tmp_path / 'out'
    params = dict(stage='pretrain', dim=64, n_layers=1, data_path=train, val_data_path=val, max_steps=4, batch_size=4,
                  accumulation_steps=1, warmup_iters=0, eval_interval=2, log_interval=1, max_new_tokens=8, out_dir=out, cache_dir=tmp_path / 'cache')
    cmd = [sys.executable, '-m', 'papermill', str(ROOT / 'nbs' / 'train.ipynb'), str(tmp_path / 'run.ipynb'), '--cwd', str(ROOT / 'nbs'), '-k', 'python3']
    for k, v in params.items(): cmd += ['-p', k, str(v)]
    env = {k: v for k, v in ENV.items() if k != 'IN_TEST'}
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    cells = json.loads((tmp_path / 'run.ipynb').read_text())['cells']
    outs = [o for c in cells if c['cell_type'] == 'code' for o in c.get('outputs', [])]
    assert not [o for o in outs if o['output_type'] == 'error']
    text = ''.join(''.join(o.get('text', '')) + ''.join(o.get('data', {}).get('text/html', '')) for o in outs)
    assert '48 documents' in text and 'before pretraining' in text and 'after pretraining' in text and text.count('  after: ') == 4
    assert {'pretrain_64.pth', 'pretrain_metrics.jsonl', 'pretrain_loss.png', 'pretrain_lr_schedule.png', 'pretrain_before_after.json'} <= {p.name for p in out.iterdir()}
    ba = json.loads((out / 'pretrain_before_after.json').read_text())
    assert ba['after']['validation loss'] < ba['before']['validation loss']
