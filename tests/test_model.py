"""Model tests that need files or a fresh process; the unit tests live in nbs/03_model.ipynb."""
import subprocess, sys, textwrap
from pathlib import Path

import pytest
import torch

from minimind_sft.model import LMConfig, MiniMindLM, load_weights, weight_path

ROOT = Path(__file__).resolve().parent.parent
TINY = dict(dim=64, n_layers=2, n_heads=8, n_kv_heads=2, vocab_size=6400)


def run_python(code: str, cwd) -> str:
    "Run `code` in a fresh interpreter (nothing imported or registered yet) and return its stdout."
    res = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    return res.stdout


@pytest.mark.parametrize("use_moe", [False, True])
def test_save_pretrained_loads_in_a_fresh_process(tmp_path, use_moe):
    "A save_pretrained folder opens with AutoModelForCausalLM in a new process once minimind_sft.model is imported."
    torch.manual_seed(0)
    model = MiniMindLM(LMConfig(**TINY, use_moe=use_moe)).eval()
    model.save_pretrained(tmp_path / "hf")
    ids = torch.randint(3, 6400, (1, 10))
    torch.save({"ids": ids, "logits": model(ids).logits.detach()}, tmp_path / "ref.pt")
    out = run_python(f"""
        import torch
        from transformers import AutoModelForCausalLM
        import minimind_sft.model  # registers model_type "minimind"
        m = AutoModelForCausalLM.from_pretrained({str(tmp_path / 'hf')!r}).eval()
        ref = torch.load({str(tmp_path / 'ref.pt')!r})
        from minimind_sft.testing import assert_close
        assert_close(m(ref['ids']).logits, ref['logits'])   # another process: equal up to rounding
        print(type(m).__name__, 'close')
    """, cwd=tmp_path)
    assert out.split() == ["MiniMindLM", "close"]


def test_pth_written_by_another_process(tmp_path):
    "A MiniMind-style .pth (plain torch.save of the state dict, fp16 as MiniMind's releases) written elsewhere loads strictly."
    path = weight_path(tmp_path, "full_sft", 64)
    run_python(f"""
        import torch
        from minimind_sft.model import LMConfig, MiniMindLM
        torch.manual_seed(1)
        m = MiniMindLM(LMConfig(**{TINY!r}))
        torch.save({{k: v.half() for k, v in m.state_dict().items()}}, {path!r})
    """, cwd=tmp_path)
    assert Path(path).name == "full_sft_64.pth"
    sd = torch.load(path, weights_only=True)
    assert {"tok_embeddings.weight", "output.weight"} <= set(sd)  # both names of the tied tensor, as MiniMind saves
    model = load_weights(MiniMindLM(LMConfig(**TINY)), path)
    assert torch.equal(model.output.weight, sd["output.weight"].float())
    with pytest.raises(ValueError, match="missing"):
        load_weights(MiniMindLM(LMConfig(**{**TINY, "n_layers": 3})), path)


def test_generate_with_minimind_tokenizer():
    "The config's special-token ids are those of MiniMind's tokenizer, and generate() + decode work end to end."
    path = ROOT.parent / "shared" / "minimind_tokenizer"
    if not path.is_dir(): pytest.skip("MiniMind tokenizer (../shared/minimind_tokenizer) not present")
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(path)
    cfg = LMConfig(**TINY)
    assert (tok.convert_tokens_to_ids("<unk>"), tok.convert_tokens_to_ids("<s>"), tok.convert_tokens_to_ids("</s>")) == \
        (cfg.pad_token_id, cfg.bos_token_id, cfg.eos_token_id)
    assert len(tok) == cfg.vocab_size
    torch.manual_seed(0)
    model = MiniMindLM(cfg).eval()
    prompt = tok(["<s>user\n你好</s>\n<s>assistant\n"], return_tensors="pt")
    out = model.generate(**prompt, max_new_tokens=5, do_sample=True, top_p=0.9, temperature=0.8)
    assert out.shape[1] <= prompt["input_ids"].shape[1] + 5
    assert isinstance(tok.decode(out[0, prompt["input_ids"].shape[1]:]), str)
