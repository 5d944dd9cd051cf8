"The bundled demo data and base: held-out facts are stated in the pretraining corpus, never asked in SFT training, and the base knows them."
import importlib.util, json, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / 'data'


def make_data():
    spec = importlib.util.spec_from_file_location('make_data', DATA / 'make_data.py')
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def lines(name):
    return [json.loads(l) for l in (DATA / name).read_text(encoding='utf-8').splitlines()]


def test_held_out_facts_are_in_the_corpus_and_never_asked_in_sft_training():
    md = make_data()
    train_users = [m['content'] for r in lines('sft_train.jsonl') for m in r['conversations'] if m['role'] == 'user']
    docs = [d['text'] for d in lines('pretrain.jsonl')]
    val = lines('sft_val.jsonl')
    held = [r for r in val if r.get('held_out')]
    assert len(held) >= 50 and {r['task'] for r in held} == {'lookup_capital', 'lookup_element'}
    for c in md.HELD_OUT['country']:
        cap, _, zc, zcap = md.COUNTRIES[c]
        assert not any(c in u or zc in u for u in train_users), c
        assert f'The capital of {c} is {cap}.' in '\n'.join(docs) and f'{zc}的首都是{zcap}。' in '\n'.join(docs), c
    for e in md.HELD_OUT['element']:
        z, zh, sym = md.ELEMENTS[e]
        assert not any(e in u.lower() or zh in u for u in train_users), e
        assert any(e in d and sym in d for d in docs) and any(zh in d and sym in d for d in docs), e
    # a held-out entity is never the subject of a question in the corpus: only statements
    questions = [d.split('\n')[0] for d in docs if '\n' in d]
    assert not any(c in q for c in md.HELD_OUT['country'] for q in questions)


def test_the_bundled_base_knows_held_out_facts_and_loads_strictly_into_the_demo_model():
    from transformers import AutoTokenizer
    from minimind_sft.config import load_config
    from minimind_sft.trainer import init_model, lm_config
    md = make_data()
    cfg = load_config('demo')
    assert Path(cfg.from_weight) == DATA / f'pretrain_{cfg.dim}.pth'
    model, tok = init_model(lm_config(cfg), cfg)                  # strict: every key and shape of the demo model
    model.eval()

    def complete(prefix, n=16):
        x = torch.tensor([tok(tok.bos_token + prefix)['input_ids']])
        with torch.no_grad():
            for _ in range(n): x = torch.cat([x, model(x).logits[0, -1].argmax().view(1, 1)], 1)
        return tok.decode(x[0, -n:])

    probes = [(f'The capital of {c} is', md.COUNTRIES[c][0]) for c in md.HELD_OUT['country']]
    probes += [(f'{md.COUNTRIES[c][2]}的首都是', md.COUNTRIES[c][3]) for c in md.HELD_OUT['country']]
    probes += [(f'The chemical symbol of {e} is', md.ELEMENTS[e][2]) for e in md.HELD_OUT['element']]
    right = sum(complete(p).strip().startswith(a) for p, a in probes)
    assert right >= 0.8 * len(probes), f'{right}/{len(probes)}'


def test_made_up_lookups_state_their_answer_and_name_no_real_entity():
    md = make_data()
    rows = [r for r in lines('sft_train.jsonl') if r['task'] == 'lookup_context']
    assert len(rows) >= 100
    for r in rows:
        user = r['conversations'][-2]['content'].lower()
        for part in r['answer'].replace('、', ', ').split(', '):   # pairs: "Gd, Bt" / "Gd、Bt"
            assert part.lower() in user, (part, user)             # the question's own context states the answer
    docs = [d['text'] for d in lines('pretrain.jsonl')]
    real = md.REAL_NAMES
    made_up = [d for d in docs if ('capital' in d or '首都' in d) and not any(n in d for n in real)]
    assert len(made_up) >= 0.04 * len(docs)                       # the corpus states facts about made-up countries


def test_the_bundled_base_copies_made_up_chinese_names():
    "A name no memory holds can only be copied from earlier in the text: the base must have learned to do that."
    import random
    from minimind_sft.config import load_config
    from minimind_sft.trainer import init_model, lm_config
    md = make_data()
    cfg = load_config('demo')
    model, tok = init_model(lm_config(cfg), cfg)
    model.eval()
    rng, right = random.Random(5), 0
    for _ in range(20):
        c, cap = (''.join(rng.choice(md.ZH_NAME_CHARS) for _ in range(3)) for _ in range(2))
        x = torch.tensor([tok(f'{tok.bos_token}{c}的首都是{cap}。去{c}旅行的人常常先到首都')['input_ids']])
        with torch.no_grad():
            for _ in range(6): x = torch.cat([x, model(x).logits[0, -1].argmax().view(1, 1)], 1)
        right += tok.decode(x[0, -6:]).startswith(cap)
    assert right >= 15, f'{right}/20'
