"Run under torchrun: every rank prepares the same data; prints which rank saw which cache folder."
import sys, torch.distributed as dist
from minimind_sft.data import DataError
from minimind_sft.token_cache import prepare_sft
from minimind_sft.tokenizer import load_tokenizer

dist.init_process_group('gloo')
data, tok_dir, cache = sys.argv[1:4]
try:
    folder = prepare_sft(data, load_tokenizer(tok_dir), 64, cache_dir=cache)
    print(f'rank {dist.get_rank()} folder {folder}', flush=True)
except DataError as e:
    print(f'rank {dist.get_rank()} DataError {str(e).splitlines()[0]}', flush=True)
    sys.exit(3)
finally:
    dist.destroy_process_group()
