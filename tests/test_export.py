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
