"""Writes the hand-made test tokenizer: a byte-level BPE (GPT-2 style byte alphabet, 256 + 300 merges learned here
from a fixed English/German/emoji corpus, plus special tokens) as tokenizer.json, with tokenizer_config.json and
generation_config.json. Deterministic: rerunning rewrites identical files.

Run from the module folder: python3 src/test/python/tiny_tokenizer.py
"""

import collections
import json
import pathlib
import re

OUT = pathlib.Path(__file__).resolve().parent.parent / "resources" / "dev" / "safemerge" / "model" / "text" / "tiny"

CORPUS = """
The quick brown fox jumps over the lazy dog. The dog sleeps in the sun, and the fox runs into the forest.
What is the capital of France? The capital of France is Paris. What is the capital of Japan? It is Tokyo.
Hello, world! Hello there, how are you today? I am fine, thank you. Thanks for asking.
Numbers: 1, 2, 3, 10, 42, 100, 2024. The answer is 42.
Über die Brücke gehen wir heute. Grüße aus München! Café, naïve, résumé.
Emoji: 🙂 👍 🚀. Chinese: 你好，世界。 Japanese: こんにちは。
def main():\n    print("hello")\n    return 0\n
I cannot help with that request. I'm sorry, but I can't assist with that.
Sure! Here is a short answer: the sky is blue because of Rayleigh scattering.
""" * 3

PATTERN = re.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?[^\W\d_]+| ?\d+| ?[^\s\w]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def train(num_merges):
    byte_map = bytes_to_unicode()
    words = collections.Counter()
    for piece in PATTERN.findall(CORPUS):
        words[tuple(byte_map[b] for b in piece.encode("utf-8"))] += 1
    merges = []
    for _ in range(num_merges):
        pairs = collections.Counter()
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pairs[(a, b)] += count
        if not pairs:
            break
        best = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))[0]
        merges.append(best)
        merged = collections.Counter()
        for word, count in words.items():
            out = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                    out.append(word[i] + word[i + 1])
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            merged[tuple(out)] += count
        words = merged
    return byte_map, merges


def main():
    byte_map, merges = train(300)
    vocab = {}
    for b in range(256):
        vocab[byte_map[b]] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    specials = ["<|bos|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>", "<|pad|>"]
    added = []
    for name in specials:
        added.append({"id": len(vocab) + len(added), "content": name, "single_word": False, "lstrip": False,
                      "rstrip": False, "normalized": False, "special": True})
    # A non-special added token: kept by decode(skip_special_tokens=True).
    added.append({"id": len(vocab) + len(added), "content": "<tool>", "single_word": False, "lstrip": False,
                  "rstrip": False, "normalized": False, "special": False})
    bos = added[0]["id"]
    tokenizer = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": added,
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "<|bos|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "<|bos|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
            "special_tokens": {"<|bos|>": {"id": "<|bos|>", "ids": [bos], "tokens": ["<|bos|>"]}},
        },
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": [a + " " + b for a, b in merges]},
    }
    config = {
        "bos_token": "<|bos|>",
        "eos_token": "<|end|>",
        "pad_token": "<|pad|>",
        "add_bos_token": True,
        "clean_up_tokenization_spaces": False,
        "model_max_length": 2048,
        "tokenizer_class": "PreTrainedTokenizerFast",
        "chat_template": "{{ bos_token }}{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] | trim + '<|end|>' }}{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}",
    }
    generation = {"bos_token_id": bos, "eos_token_id": [added[1]["id"]], "pad_token_id": added[5]["id"]}
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "tokenizer.json").write_text(json.dumps(tokenizer, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (OUT / "tokenizer_config.json").write_text(json.dumps(config, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (OUT / "generation_config.json").write_text(json.dumps(generation, indent=1) + "\n", encoding="utf-8")
    print(f"vocab {len(vocab)} + {len(added)} added tokens, {len(merges)} merges -> {OUT}")


if __name__ == "__main__":
    main()
