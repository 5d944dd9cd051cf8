"CUDA paths: packed attention through flex attention, bf16 autocast, compile and a short real run. Skipped without a GPU."
import json, math, os, subprocess, sys
from pathlib import Path
import pytest
import torch

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')
ENV = {**os.environ, 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}


def tiny(**kw):
    from minimind_sft.model import LMConfig, MiniMindLM
    torch.manual_seed(0)
    return MiniMindLM(LMConfig(dim=128, n_layers=2, n_heads=8, n_kv_heads=2, **kw)).cuda()


@pytest.mark.parametrize('dim', [128, 192])   # head_dim 16 and 24 (the base preset's 96 is not a power of two either)
@pytest.mark.parametrize('packed_attn', ['flex', 'sdpa'])
def test_packed_row_gives_each_document_its_own_logits_on_cuda(dim, packed_attn):
    from minimind_sft.model import LMConfig, MiniMindLM
    torch.manual_seed(0)
    model = MiniMindLM(LMConfig(dim=dim, n_layers=2, n_heads=8, n_kv_heads=2, packed_attn=packed_attn)).cuda().eval()
    docs = [torch.randint(3, 6400, (n,), device='cuda') for n in (130, 7, 260, 90)]
    pad = 511 - sum(len(d) for d in docs)
    packed = torch.cat(docs + [torch.zeros(pad, dtype=torch.long, device='cuda')])[None]
    doc_ids = torch.cat([torch.full((len(d),), i, device='cuda') for i, d in enumerate(docs)] +
                        [torch.full((pad,), len(docs), device='cuda')])[None]
    with torch.no_grad():
        got, start = model(packed, doc_ids=doc_ids).logits[0], 0
        for d in docs:
            ref = model(d[None]).logits[0]
            assert (got[start:start + len(d)] - ref).abs().max().item() < 2e-4, packed_attn
            start += len(d)


@pytest.mark.parametrize('fused', [True, False], ids=['fused', 'reference'])
def test_packed_loss_and_gradients_match_unpacked_under_bf16(fused):
    from minimind_sft.batching import PackedCollator, SFTCollator
    from minimind_sft.fused import fuse
    model = tiny().train()
    if fused: assert fuse(model) == []
    items = []
    for L in (40, 300, 120):
        x = torch.randint(3, 6400, (L,))
        items.append((x[:-1], x[1:], (torch.rand(L - 1) > 0.5).long()))
    X, Y, M, _ = SFTCollator(0)(items).to('cuda')
    Xp, Yp, Mp, Dp = PackedCollator(0, 511)([items]).to('cuda')
    with torch.autocast('cuda', dtype=torch.bfloat16):
        a = model(X, targets=Y, loss_mask=M).ce_sum
        b = model(Xp, targets=Yp, loss_mask=Mp, doc_ids=Dp).ce_sum
    assert math.isclose(a.item(), b.item(), rel_tol=1e-2)
    ga = torch.autograd.grad(a, list(model.parameters()))
    gb = torch.autograd.grad(b, list(model.parameters()))
    cos = torch.nn.functional.cosine_similarity(torch.cat([g.flatten() for g in ga]), torch.cat([g.flatten() for g in gb]), dim=0)
    assert cos.item() > 0.999


def run_cli(out, *args):
    cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', '--dim', '128', '--n_layers', '2', '--from_weight', 'none', '--device', 'cuda:0', '--out_dir', str(out),
           '--log_interval', '1', '--val_data_path', 'none', *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-4000:]
    return {j['step']: j['loss'] for j in map(json.loads, (Path(out) / 'metrics.jsonl').read_text().splitlines()) if 'loss' in j}, r


@pytest.mark.parametrize('extra', [(), ('--packing',), ('--packing', '--use_compile'), ('--fused', 'False')],
                         ids=['dynamic', 'packing', 'packing+compile', 'reference model'])
def test_bf16_training_on_cuda_follows_float32(tmp_path, extra):
    fp32, _ = run_cli(tmp_path / 'fp32', '--dtype', 'float32', '--max_steps', 20, *extra)
    bf16, r = run_cli(tmp_path / 'bf16', '--dtype', 'bfloat16', '--max_steps', 20, *extra)
    assert 'warning: --use_compile' not in r.stdout + r.stderr
    assert all(math.isfinite(v) for v in bf16.values()) and bf16[20] < bf16[1] - 1.0
    assert all(abs(bf16[s] - fp32[s]) / fp32[s] < 0.03 for s in fp32), (fp32, bf16)
