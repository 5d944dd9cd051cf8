"Bad input, cache reuse and invalidation, skip-bad-lines: what needs files on disk."
import json, os, time
import numpy as np
import pytest
import torch
from conftest import DATA, conv, write_jsonl
from minimind_sft.batching import SFTCollator
from minimind_sft.data import DataError
from minimind_sft.token_cache import PerSampleSFTDataset, SFTDataset, prepare_sft

GOOD = conv('What is 2 + 3?', '2 + 3 = 5. The answer is 5.')

BAD_LINES = [  # (raw line, expected message fragment)
    ('{"conversations": [', 'invalid JSON'),
    ('["not", "an", "object"]', 'expected a JSON object, got list'),
    ({'messages': []}, 'missing "conversations"'),
    ({'conversations': []}, '"conversations" must be a non-empty list'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistnt', 'content': 'x'}]},
     '"conversations"[1] has role "assistnt"; expected "assistant"'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}, {'role': 'bot', 'content': 'x'}]},
     'expected one of system, user, assistant'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}, {'role': 'system', 'content': 'x'}, {'role': 'assistant', 'content': 'y'}]},
     '"conversations"[1] is a system message; only the first message may be one'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}, {'role': 'user', 'content': 'again'}]},
     '"conversations"[1] has role "user"; expected "assistant"'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}]}, 'ends with a user turn'),
    ({'conversations': [{'role': 'user', 'content': ''}, {'role': 'assistant', 'content': 'x'}]},
     '"conversations"[0] "content" must be a non-empty string'),
    ({'conversations': [{'role': 'user', 'content': ['a']}, {'role': 'assistant', 'content': 'x'}]},
     '"conversations"[0] "content" must be a non-empty string'),
    ({'conversations': [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'a </s> b'}]},
     'contains the special token "</s>"'),
    (b'{"conversations": [{"role": "user", "content": "caf\xe9"}]}', 'not valid UTF-8'),
]


@pytest.mark.parametrize('raw,msg', BAD_LINES)
def test_each_bad_line_is_reported_with_file_and_line(tmp_path, tokenizer, raw, msg):
    path = write_jsonl(tmp_path / 'train.jsonl', [GOOD, GOOD, raw, GOOD])
    with pytest.raises(DataError) as e:
        SFTDataset(path, tokenizer, 64, cache_dir=tmp_path / 'cache', verbose=False)
    assert f'{path}:3: ' in str(e.value) and msg in str(e.value), str(e.value)
    assert not list((tmp_path / 'cache').glob('train-*')), 'no cache may be left behind for a bad file'


def test_empty_file(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'empty.jsonl', ['', '  '])
    with pytest.raises(DataError, match='empty'):
        prepare_sft(path, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)


def test_missing_file(tmp_path, tokenizer):
    with pytest.raises(FileNotFoundError, match='nope.jsonl'):
        prepare_sft(tmp_path / 'nope.jsonl', tokenizer, 64, verbose=False)


def test_bom_crlf_and_blank_lines_are_fine(tmp_path, tokenizer):
    body = b'\xef\xbb\xbf' + json.dumps(GOOD).encode() + b'\r\n\r\n' + json.dumps(GOOD).encode() + b'\r\n'
    path = tmp_path / 'win.jsonl'; path.write_bytes(body)
    ds = SFTDataset(path, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    assert len(ds) == 2 and ds.cache.lines.tolist() == [1, 3]


def test_many_bad_lines_lists_twenty_then_counts(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'many.jsonl', [GOOD] + ['{oops'] * 30)
    with pytest.raises(DataError) as e:
        prepare_sft(path, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    text = str(e.value)
    assert text.startswith('30 bad lines in') and f'{path}:2: invalid JSON' in text and f'{path}:21:' in text
    assert f'{path}:22:' not in text and '... and 10 more bad lines (30 in all)' in text


def test_skip_bad_lines_leaves_them_out_and_counts(tmp_path, tokenizer):
    rows = [GOOD, '{oops', conv('Hi', 'Hello'), {'conversations': [{'role': 'user', 'content': 'x'}]}, GOOD]
    path = write_jsonl(tmp_path / 'skip.jsonl', rows)
    ds = SFTDataset(path, tokenizer, 64, cache_dir=tmp_path / 'c', skip_bad_lines=True, verbose=False)
    assert len(ds) == 3 and ds.stats()['skipped'] == 2 and ds.cache.lines.tolist() == [1, 3, 5]
    assert any(':2: invalid JSON' in s for s in ds.cache.meta['skipped_examples'])
    with pytest.raises(DataError):  # the same file without the option still stops
        SFTDataset(path, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)


def test_all_lines_bad_with_skip_is_still_an_error(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'allbad.jsonl', ['{oops', '[]'])
    with pytest.raises(DataError, match='no valid conversation'):
        prepare_sft(path, tokenizer, 64, cache_dir=tmp_path / 'c', skip_bad_lines=True, verbose=False)


def test_cache_is_reused_then_invalidated(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'd.jsonl', [GOOD, conv('a', 'b')])
    root = tmp_path / 'cache'
    first = prepare_sft(path, tokenizer, 64, cache_dir=root, verbose=False)
    stamp = (first / 'meta.json').stat().st_mtime_ns
    assert prepare_sft(path, tokenizer, 64, cache_dir=root, verbose=False) == first
    assert (first / 'meta.json').stat().st_mtime_ns == stamp, 'a second load must not rebuild'
    other_len = prepare_sft(path, tokenizer, 32, cache_dir=root, verbose=False)
    assert other_len != first
    time.sleep(0.01)
    write_jsonl(path, [GOOD, conv('a', 'b'), conv('c', 'd')])          # the data changes
    changed = prepare_sft(path, tokenizer, 64, cache_dir=root, verbose=False)
    assert changed not in (first, other_len)
    assert len(SFTDataset(path, tokenizer, 64, cache_dir=root, verbose=False)) == 3


def test_an_edited_masking_rule_is_what_the_next_data_set_carries(tmp_path, tokenizer, monkeypatch):
    import minimind_sft.data as data
    path, root = DATA / 'sft_val.jsonl', tmp_path / 'cache'
    before = SFTDataset(path, tokenizer, 128, cache_dir=root, verbose=False)
    with monkeypatch.context() as m:   # the rule edited: loss on every token (as a notebook cell or an edit + re-export does)
        m.setattr(data, 'loss_masks', lambda ids, offsets, bos, eos: np.ones(len(ids), np.uint8))
        edited = SFTDataset(path, tokenizer, 128, pad_to_max=False, cache_dir=root, verbose=False)
        X, Y, M = edited[0]
        assert M.tolist() == [1] * len(M)                                  # the edited masks, not the cached ones
    again = SFTDataset(path, tokenizer, 128, cache_dir=root, verbose=False)
    assert edited.cache.folder != before.cache.folder == again.cache.folder   # restored: the first cache again
    assert edited.stats()['loss_tokens'] > before.stats()['loss_tokens'] == again.stats()['loss_tokens']
    assert edited.fingerprint['code_sha256'] != before.fingerprint['code_sha256']
    assert not torch.equal(SFTDataset(path, tokenizer, 128, pad_to_max=False, cache_dir=root, verbose=False)[0][2], M)


def test_cache_depends_on_tokenizer(tmp_path, tokenizer, minimind_tokenizer):
    path = write_jsonl(tmp_path / 'd.jsonl', [GOOD])
    a = prepare_sft(path, tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    b = prepare_sft(path, minimind_tokenizer, 64, cache_dir=tmp_path / 'c', verbose=False)
    assert a != b


def test_default_cache_lives_beside_the_data(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'd.jsonl', [GOOD])
    folder = prepare_sft(path, tokenizer, 64, verbose=False)
    assert folder.parent == tmp_path / '.cache'


def test_unwritable_cache_dir_says_what_to_do(tmp_path, tokenizer):
    if os.geteuid() == 0: blocker = tmp_path / 'file'; blocker.write_text('x'); root = blocker / 'sub'
    else: root = tmp_path / 'ro'; root.mkdir(); root.chmod(0o500); root = root / 'sub'
    path = write_jsonl(tmp_path / 'd.jsonl', [GOOD])
    with pytest.raises(OSError, match='--cache_dir'):
        prepare_sft(path, tokenizer, 64, cache_dir=root, verbose=False)


def test_truncated_away_reply_is_counted_and_has_no_loss(tmp_path, tokenizer):
    long_user = 'word ' * 200
    path = write_jsonl(tmp_path / 'd.jsonl', [conv(long_user, 'short reply'), GOOD])
    ds = SFTDataset(path, tokenizer, 96, pad_to_max=False, cache_dir=tmp_path / 'c', verbose=False)
    assert ds.lengths.tolist()[0] == 96 and ds.lengths.tolist()[1] < 96
    assert ds.stats()['no_loss'] == 1 and ds.stats()['truncated'] == 1
    X, Y, M, _ = SFTCollator(tokenizer.pad_token_id)([ds[0], ds[1]])
    assert M[0].sum() == 0 and M[1].sum() > 0


def test_fast_path_equals_minimind_scan_with_minimind_tokenizer(tmp_path, minimind_tokenizer):
    rows = [json.loads(l) for l in open(DATA / 'sft_val.jsonl', encoding='utf-8')][:150]
    path = write_jsonl(tmp_path / 'v.jsonl', rows)
    for ml in (512, 80):
        fast = SFTDataset(path, minimind_tokenizer, ml, cache_dir=tmp_path / 'c', verbose=False)
        ref = PerSampleSFTDataset(path, minimind_tokenizer, ml)
        for i in range(len(ref)):
            assert all(torch.equal(a, b) for a, b in zip(fast[i], ref[i])), (ml, i)


def test_dataloader_workers_map_the_cache(tmp_path, tokenizer):
    path = write_jsonl(tmp_path / 'd.jsonl', [GOOD, conv('a', 'b'), conv('c', 'dd'), GOOD])
    ds = SFTDataset(path, tokenizer, 64, pad_to_max=False, cache_dir=tmp_path / 'c', verbose=False)
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=2, collate_fn=SFTCollator(tokenizer.pad_token_id),
                                         multiprocessing_context='spawn')
    batches = list(loader)
    direct = SFTCollator(tokenizer.pad_token_id)([ds[0], ds[1]])
    assert type(batches[0]) is type(direct) and all(torch.equal(a, b) for a, b in zip(batches[0][:3], direct[:3])) and batches[0].doc_ids is None


def test_worker_processes_build_the_same_cache(tmp_path, tokenizer):
    from minimind_sft.token_cache import _build_cache
    rows = [l for l in (DATA / 'sft_train.jsonl').read_text(encoding='utf-8').splitlines()][:900]
    path = write_jsonl(tmp_path / 'd.jsonl', rows[:400] + ['{bad'] + rows[400:])
    outs = []
    for n in (1, 2):
        out = tmp_path / f'p{n}'; out.mkdir()
        meta = _build_cache(path, tokenizer, 256, out, skip_bad_lines=True, num_proc=n, chunk_size=100)
        outs.append((out, meta))
    (a, ma), (b, mb) = outs
    assert ma == mb and ma['samples'] == 900 and ma['skipped'] == 1 and f'{path}:401: invalid JSON' in ma['skipped_examples'][0]
    for f in ('ids.bin', 'mask.bin', 'offsets.npy', 'lines.npy', 'byte_offsets.npy'):
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    with pytest.raises(DataError, match=':401: invalid JSON'):
        out = tmp_path / 'p3'; out.mkdir()
        _build_cache(path, tokenizer, 256, out, skip_bad_lines=False, num_proc=2, chunk_size=100)
