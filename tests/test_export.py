"A model out of the workbench: the bundled base, exported to a Hugging Face folder, runs in a process that never imports this package."
import json, os, subprocess, sys
import torch
from conftest import DATA
from minimind_sft.chat import generation_config, load_model
from minimind_sft.export import export_main

PROMPTS = ['What is the capital of France?', '北京有什么好玩的？', 'Count from 1 to 5.']
ALONE = r'''
import json, sys, torch
from transformers import AutoModelForCausalLM, AutoTokenizer
model, tok = AutoModelForCausalLM.from_pretrained(sys.argv[1]).eval(), AutoTokenizer.from_pretrained(sys.argv[1])
out = []
for p in json.loads(sys.argv[2]):
    ids = tok.apply_chat_template([{'role': 'user', 'content': p}], add_generation_prompt=True, return_tensors='pt', return_dict=True)['input_ids']
    with torch.no_grad(): reply = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24)
    out.append(reply[0, ids.shape[1]:].tolist())
assert 'minimind_sft' not in sys.modules
print(json.dumps([type(model).__name__, out]))
'''


def test_bundled_base_exported_runs_without_the_workbench(tmp_path):
    assert export_main(['--from_weight', str(DATA / 'pretrain_192.pth'), '--format', 'hf', '--out', str(tmp_path / 'hf')]) == 0
    r = subprocess.run([sys.executable, '-c', ALONE, str(tmp_path / 'hf'), json.dumps(PROMPTS)], capture_output=True, text=True,
                       env={**os.environ, 'PYTHONWARNINGS': 'ignore'}, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    cls, theirs = json.loads(r.stdout.strip().splitlines()[-1])
    model, tok = load_model(DATA / 'pretrain_192.pth')
    ours = []
    for p in PROMPTS:
        ids = tok.apply_chat_template([{'role': 'user', 'content': p}], add_generation_prompt=True, return_tensors='pt', return_dict=True)['input_ids']
        with torch.no_grad():
            reply = model.generate(ids, attention_mask=torch.ones_like(ids), generation_config=generation_config(tok, max_new_tokens=24))
        ours.append(reply[0, ids.shape[1]:].tolist())
    assert cls == 'LlamaForCausalLM' and theirs == ours


# --- GGUF: llama.cpp runs the exported file (needs llama-cpp-python, the `llama` extra; skipped without it) -----------------

def gguf_case(kind):
    "A model of each exported architecture with its tokenizer: the bundled base (Llama), MiniMind-3 dense and MoE (seeded weights)."
    if kind == 'early': return load_model(DATA / 'pretrain_192.pth')
    import pytest
    from conftest import SHARED
    from minimind_sft.minimind3 import MiniMind3Config, MiniMindForCausalLM
    from minimind_sft.tokenizer import load_tokenizer
    if not (SHARED / 'minimind3_tokenizer').is_dir(): pytest.skip('MiniMind-3 tokenizer not at ../shared')
    tok = load_tokenizer(SHARED / 'minimind3_tokenizer')
    torch.manual_seed(0)
    model = MiniMindForCausalLM(MiniMind3Config(hidden_size=128, num_hidden_layers=2, vocab_size=len(tok), use_moe=kind == 'moe'))
    with torch.no_grad():
        for p in model.parameters():
            if p.ndim > 1: p.normal_(0, 0.08)   # far from init: every weight shows in the replies
    return model.eval(), tok


def test_gguf_export_runs_in_llama_cpp_with_our_logits_and_greedy_replies(tmp_path):
    import pytest
    llama_cpp = pytest.importorskip('llama_cpp')
    from minimind_sft.export import export_gguf
    checked = []
    for kind in ('early', 'dense', 'moe'):
        try: model, tok = gguf_case(kind)
        except pytest.skip.Exception: continue
        llm = llama_cpp.Llama(model_path=str(export_gguf(model, tok, tmp_path / f'{kind}.gguf')), n_ctx=256, logits_all=True,
                              type_k=llama_cpp.GGML_TYPE_F32, type_v=llama_cpp.GGML_TYPE_F32, verbose=False)   # a float32 cache
        cfg = generation_config(tok, max_new_tokens=24)
        for p in PROMPTS:
            text = tok.apply_chat_template([{'role': 'user', 'content': p}], add_generation_prompt=True, tokenize=False)
            ids = tok(text, add_special_tokens=False)['input_ids']
            assert llm.tokenize(text.encode(), add_bos=False, special=True) == ids, (kind, p)      # the same tokens
            x = torch.tensor([ids])
            with torch.no_grad():
                logits = model(x).logits[0]
                ours = model.generate(x, attention_mask=torch.ones_like(x), generation_config=cfg)[0, len(ids):].tolist()
            llm.reset(); llm.eval(ids)
            theirs_logits = torch.tensor(llm.scores[:len(ids)])
            assert (theirs_logits - logits).abs().max() <= 1e-4 * logits.abs().max(), (kind, p)   # float rounding
            ours = ours[:-1] if ours and ours[-1] == cfg.eos_token_id else ours
            theirs = []
            for t in llm.generate(ids, temp=0.0, top_k=1, repeat_penalty=1.0, reset=True):
                if t == cfg.eos_token_id or len(theirs) == 24: break
                theirs.append(t)
            assert theirs == ours and len(set(ours)) > 1, (kind, p, tok.decode(ours), tok.decode(theirs))
        checked.append(kind)
        del llm
    assert 'early' in checked
