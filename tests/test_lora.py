"LoRA in MiniMind's file layout, checked against MiniMind-3's own model/model_lora.py (exported from the mirror; skips without it)."
import os, subprocess, sys
from pathlib import Path
import pytest
import torch
from minimind_sft.lora import apply_lora, lora_state_dict, merged_state_dict, _adapted
from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM
from minimind_sft.testing import assert_close

MIRROR = Path(os.environ.get('MINIMIND_MIRROR', '/work/.mirror/jingyaogong+minimind/repo'))  # a bare git mirror


@pytest.fixture(scope='module')
def minimind_lora(tmp_path_factory):
    "MiniMind-3's model_minimind and model_lora modules, exported from the mirror."
    if not (MIRROR / 'HEAD').is_file(): pytest.skip(f'no MiniMind mirror at {MIRROR} (set MINIMIND_MIRROR)')
    root = tmp_path_factory.mktemp('minimind')
    (root / 'mm3').mkdir()
    for f in ('__init__.py', 'model_minimind.py', 'model_lora.py'):
        text = subprocess.run(['git', f'--git-dir={MIRROR}', 'show', f'HEAD:model/{f}'], capture_output=True, text=True)
        if text.returncode: pytest.skip(f'the mirror has no model/{f}: {text.stderr.strip()}')
        (root / 'mm3' / f).write_text(text.stdout.replace('from .model_minimind', 'from mm3.model_minimind'))
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
