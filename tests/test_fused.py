"`--fused True` (the default) trains the numbers of `--fused False`, which trains the model exactly as written, for both generations."
import json
from pathlib import Path
import pytest
from conftest import SHARED
from minimind_sft.config import load_config
from minimind_sft.trainer import train

TOK3 = SHARED / 'minimind3_tokenizer'
GENERATIONS = {'minimind': {}, 'minimind3': dict(arch='minimind3', tokenizer_path=str(TOK3))}


def train_losses(out: Path, cache: Path, **kw) -> list[float]:
    cfg = load_config('demo', dim=128, n_layers=2, from_weight='none', out_dir=str(out), cache_dir=str(cache), batch_size=4, max_seq_len=256, max_steps=12,
                      log_interval=1, save_interval=1000, val_data_path=None, dtype='float32', **kw)
    train(cfg)
    return [r['loss'] for r in map(json.loads, (out / 'metrics.jsonl').read_text().splitlines()) if 'loss' in r]


@pytest.mark.parametrize('packing', [False, True], ids=['samples', 'packed'])
@pytest.mark.parametrize('use_moe', [False, True], ids=['dense', 'moe'])
@pytest.mark.parametrize('arch', list(GENERATIONS))
def test_fused_trains_the_losses_of_the_reference_model(tmp_path, arch, use_moe, packing, capsys):
    if arch == 'minimind3' and not TOK3.is_dir(): pytest.skip("MiniMind-3's tokenizer (../shared/minimind3_tokenizer) not present")
    cache, kw = tmp_path / 'cache', dict(GENERATIONS[arch], use_moe=use_moe, packing=packing)
    reference = train_losses(tmp_path / 'reference', cache, fused=False, **kw)
    assert 'training the model as written' in capsys.readouterr().out
    fused = train_losses(tmp_path / 'fused', cache, fused=True, **kw)
    assert 'lean versions swapped in (' in capsys.readouterr().out
    assert len(reference) == len(fused) == 12
    worst = max(abs(a - b) / abs(a) for a, b in zip(reference, fused))
    assert worst <= 1e-4, f"largest relative loss difference over 12 steps: {worst:.2e}"
