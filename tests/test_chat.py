"Chat on what the trainer writes: weights from a `minimind-sft` run load in a fresh process, from any directory."
import json, os, subprocess, sys
import pytest

ENV = {**os.environ, 'OMP_NUM_THREADS': '1', 'WANDB_MODE': 'offline', 'PYTHONWARNINGS': 'ignore'}

CHAT = """
import json, sys
from minimind_sft.chat import answer_eval, chat, load_model
model, tokenizer = load_model(sys.argv[1])
ev = answer_eval(model, tokenizer, sys.argv[2], limit=3, max_new_tokens=4)
print(json.dumps(dict(use_moe=model.config.use_moe, dim=model.config.dim, n_layers=model.config.n_layers,
                      reply=chat(model, tokenizer, 'What is 2 + 2?', max_new_tokens=4), n=ev['n'],
                      tokenizer=tokenizer.name_or_path)))
"""


def test_moe_weights_from_the_command_load_and_answer_in_a_fresh_process(tmp_path):
    from conftest import DATA
    out = tmp_path / 'out'
    cmd = [sys.executable, '-m', 'minimind_sft.cli', '--preset', 'demo', '--from_weight', 'none', '--dim', '64', '--n_layers', '1', '--use_moe', 'True',
           '--max_steps', '2', '--val_data_path', 'none', '--eval_interval', '0', '--out_dir', str(out),
           '--cache_dir', str(tmp_path / 'cache')]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    weights = out / 'full_sft_64_moe.pth'
    assert weights.is_file()
    # another process, another working directory: the bundled tokenizer is found from settings.ini, not the cwd
    r = subprocess.run([sys.executable, '-c', CHAT, str(weights), str(DATA / 'sft_val.jsonl')], cwd=tmp_path,
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout.strip().splitlines()[-1])
    assert (got['use_moe'], got['dim'], got['n_layers'], got['n']) == (True, 64, 1, 3)
    assert isinstance(got['reply'], str) and got['tokenizer'] == str(DATA / 'tokenizer')
