"""Times Aider's repo map on a corpus, for comparison with lathe-context's.

Run by benches/context.rs with the Python of a virtualenv holding `aider-chat`:

    python aider_repomap.py --root CORPUS --budget 2048 --bpe o200k_base.tiktoken \
        --edit REL_PATH

Token counts use tiktoken's o200k_base, loaded offline from the given BPE file (the one
shipped with tiktoken-rs), so both maps are measured with the same tokenizer. Prints one
JSON object: cold and warm (after editing one file) times in seconds, and the map's tokens.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"


def offline_tiktoken(bpe_path):
    cache = tempfile.mkdtemp(prefix="tiktoken-")
    shutil.copy(bpe_path, os.path.join(cache, hashlib.sha1(O200K_URL.encode()).hexdigest()))
    os.environ["TIKTOKEN_CACHE_DIR"] = cache
    import tiktoken

    return tiktoken.get_encoding("o200k_base")


class Model:
    """The part of aider's Model that RepoMap uses."""

    def __init__(self, encoding):
        self.encoding = encoding

    def token_count(self, text):
        return len(self.encoding.encode(text, disallowed_special=()))


def list_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                out.append(os.path.join(dirpath, name))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--budget", type=int, required=True)
    parser.add_argument("--bpe", required=True)
    parser.add_argument("--edit", required=True, help="file (relative to root) to edit")
    args = parser.parse_args()

    encoding = offline_tiktoken(args.bpe)
    from aider.io import InputOutput
    from aider.repomap import RepoMap

    root = os.path.abspath(args.root)
    model = Model(encoding)
    io = InputOutput(pretty=False, yes=True, fancy_input=False)
    files = list_files(root)
    shutil.rmtree(os.path.join(root, RepoMap.TAGS_CACHE_DIR), ignore_errors=True)

    start = time.perf_counter()
    repo_map = RepoMap(map_tokens=args.budget, root=root, main_model=model, io=io)
    text = repo_map.get_repo_map([], files) or ""
    cold = time.perf_counter() - start
    tokens = model.token_count(text)

    edited = os.path.join(root, args.edit)
    with open(edited, encoding="utf-8") as f:
        original = f.read()
    try:
        with open(edited, "a", encoding="utf-8") as f:
            f.write("\nfn aider_bench_added() -> u32 { 1 }\n")
        start = time.perf_counter()
        repo_map = RepoMap(map_tokens=args.budget, root=root, main_model=model, io=io)
        repo_map.get_repo_map([], files)
        warm = time.perf_counter() - start
    finally:
        with open(edited, "w", encoding="utf-8") as f:
            f.write(original)
        shutil.rmtree(os.path.join(root, RepoMap.TAGS_CACHE_DIR), ignore_errors=True)

    json.dump(
        {"cold_s": cold, "warm_s": warm, "tokens": tokens, "files": len(files)},
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
