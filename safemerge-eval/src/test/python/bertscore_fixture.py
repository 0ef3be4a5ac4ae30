"""Writes two tiny random encoder checkpoints (BERT and RoBERTa layouts) and golden values for the Java encoder and
BERTScore: hidden states of chosen layers for fixed token ids, and BERTScore P/R/F for sentence pairs.

The model math follows Hugging Face's BertModel/RobertaModel (post-LN layers, exact erf GELU, absolute positions,
RoBERTa positions counted from padding_idx + 1); the score follows bert_score's greedy matching without idf or
baseline rescaling ([CLS]/[SEP] weigh 0 but stay match targets; an empty side scores 0). Everything is float64 numpy,
written independently of the Java code.

Run from the repository root: python3 safemerge-eval/src/test/python/bertscore_fixture.py
"""

import json
import math
import struct
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parents[1] / "resources" / "dev" / "safemerge" / "eval" / "bertscore"

WORDS = ("the patient has a mild fever and cough drink water rest take medicine doctor says see "
         "your if pain gets worse call today tomorrow blood pressure is high low").split()


def write_safetensors(path, tensors):
    header = {}
    offset = 0
    blobs = []
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    header_bytes = json.dumps(header, separators=(",", ":")).encode()
    header_bytes += b" " * (-len(header_bytes) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(header_bytes)))
        f.write(header_bytes)
        for blob in blobs:
            f.write(blob)


def random_weights(rng, cfg, prefix):
    h, i, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    w = {}

    def mat(name, rows, cols, scale=0.25):
        w[prefix + name] = rng.normal(0, scale, (rows, cols)).astype(np.float32)

    def vec(name, n, base=0.0, scale=0.1):
        w[prefix + name] = (base + rng.normal(0, scale, n)).astype(np.float32)

    mat("embeddings.word_embeddings.weight", v, h, 0.5)
    mat("embeddings.position_embeddings.weight", cfg["max_position_embeddings"], h, 0.5)
    mat("embeddings.token_type_embeddings.weight", cfg["type_vocab_size"], h, 0.5)
    vec("embeddings.LayerNorm.weight", h, 1.0)
    vec("embeddings.LayerNorm.bias", h)
    for l in range(cfg["num_hidden_layers"]):
        p = f"encoder.layer.{l}."
        for proj in ("query", "key", "value"):
            mat(p + f"attention.self.{proj}.weight", h, h)
            vec(p + f"attention.self.{proj}.bias", h)
        mat(p + "attention.output.dense.weight", h, h)
        vec(p + "attention.output.dense.bias", h)
        vec(p + "attention.output.LayerNorm.weight", h, 1.0)
        vec(p + "attention.output.LayerNorm.bias", h)
        mat(p + "intermediate.dense.weight", i, h)
        vec(p + "intermediate.dense.bias", i)
        mat(p + "output.dense.weight", h, i)
        vec(p + "output.dense.bias", h)
        vec(p + "output.LayerNorm.weight", h, 1.0)
        vec(p + "output.LayerNorm.bias", h)
    # A pooler, as BertModel checkpoints carry one; BERTScore never uses it.
    mat("pooler.dense.weight", h, h)
    vec("pooler.dense.bias", h)
    return w


def layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


def gelu(x):
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def hidden_states(w, cfg, prefix, ids, layer):
    """The layer-`layer` output of the encoder for one unpadded sequence (layer 0 = embeddings)."""
    g = lambda name: w[prefix + name].astype(np.float64)
    eps = cfg["layer_norm_eps"]
    n = len(ids)
    if cfg["model_type"] == "roberta":
        positions = np.arange(n) + cfg["pad_token_id"] + 1
    else:
        positions = np.arange(n)
    x = (g("embeddings.word_embeddings.weight")[ids]
         + g("embeddings.position_embeddings.weight")[positions]
         + g("embeddings.token_type_embeddings.weight")[np.zeros(n, dtype=int)])
    x = layer_norm(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"), eps)
    heads = cfg["num_attention_heads"]
    d = cfg["hidden_size"] // heads
    for l in range(layer):
        p = f"encoder.layer.{l}."
        lin = lambda name, inp: inp @ g(p + name + ".weight").T + g(p + name + ".bias")
        q = lin("attention.self.query", x).reshape(n, heads, d).transpose(1, 0, 2)
        k = lin("attention.self.key", x).reshape(n, heads, d).transpose(1, 0, 2)
        v = lin("attention.self.value", x).reshape(n, heads, d).transpose(1, 0, 2)
        scores = q @ k.transpose(0, 2, 1) / math.sqrt(d)
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(1, 0, 2).reshape(n, heads * d)
        x = layer_norm(lin("attention.output.dense", context) + x,
                       g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias"), eps)
        inner = gelu(lin("intermediate.dense", x))
        x = layer_norm(lin("output.dense", inner) + x,
                       g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"), eps)
    return x


class Model:
    def __init__(self, name, cfg, prefix, specials, cls_sep_unk, lowercase, rng):
        self.name, self.cfg, self.prefix, self.lowercase = name, cfg, prefix, lowercase
        self.vocab = {tok: i for i, tok in enumerate(specials + WORDS)}
        self.cls_id, self.sep_id, self.unk_id = (self.vocab[t] for t in cls_sep_unk)
        cfg["vocab_size"] = len(self.vocab)
        self.weights = random_weights(rng, cfg, prefix)
        offset = cfg["pad_token_id"] + 1 if cfg["model_type"] == "roberta" else 0
        self.max_length = cfg["max_position_embeddings"] - offset

    def tokenize(self, text):
        """[CLS] words [SEP], words split on whitespace, truncated to the model's length like bert_score does."""
        text = text.strip()
        if self.lowercase:
            text = text.lower()
        ids = [self.vocab.get(word, self.unk_id) for word in text.split()]
        ids = ids[: self.max_length - 2]
        return [self.cls_id] + ids + [self.sep_id]

    def bertscore(self, candidate, reference, layer):
        c_ids, r_ids = self.tokenize(candidate), self.tokenize(reference)
        c = hidden_states(self.weights, self.cfg, self.prefix, np.array(c_ids), layer)
        r = hidden_states(self.weights, self.cfg, self.prefix, np.array(r_ids), layer)
        c = c / np.linalg.norm(c, axis=1, keepdims=True)
        r = r / np.linalg.norm(r, axis=1, keepdims=True)
        sim = c @ r.T
        c_weight = np.array([0.0 if t in (self.cls_id, self.sep_id) else 1.0 for t in c_ids])
        r_weight = np.array([0.0 if t in (self.cls_id, self.sep_id) else 1.0 for t in r_ids])
        if c_weight.sum() == 0 or r_weight.sum() == 0:
            return 0.0, 0.0, 0.0
        p = float((sim.max(axis=1) * c_weight).sum() / c_weight.sum())
        r_ = float((sim.max(axis=0) * r_weight).sum() / r_weight.sum())
        f = 2 * p * r_ / (p + r_) if p + r_ != 0 else 0.0
        return p, r_, f

    def write(self):
        d = OUT / self.name
        d.mkdir(parents=True, exist_ok=True)
        (d / "config.json").write_text(json.dumps(self.cfg, indent=2) + "\n")
        write_safetensors(d / "model.safetensors", self.weights)
        (d / "tokenizer.json").write_text(json.dumps(self.tokenizer_json(), indent=1) + "\n")

    def tokenizer_json(self):
        inverse = {i: t for t, i in self.vocab.items()}
        specials = [inverse[i] for i in range(4)]
        added = [{"id": self.vocab[t], "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                  "normalized": False, "special": True} for t in specials]
        if self.cfg["model_type"] == "roberta":
            post = {"type": "RobertaProcessing", "sep": [inverse[self.sep_id], self.sep_id],
                    "cls": [inverse[self.cls_id], self.cls_id], "trim_offsets": True, "add_prefix_space": False}
        else:
            post = {"type": "BertProcessing", "sep": [inverse[self.sep_id], self.sep_id],
                    "cls": [inverse[self.cls_id], self.cls_id]}
        return {
            "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
            "normalizer": {"type": "Lowercase"} if self.lowercase else None,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": post,
            "decoder": None,
            "model": {"type": "WordLevel", "vocab": self.vocab, "unk_token": inverse[self.unk_id]},
        }


PAIRS = [
    ("the patient has a mild fever", "the patient has a mild fever"),
    ("Drink water and rest", "take medicine and rest today"),
    ("  see your doctor if pain gets worse  ", "call your doctor today if the fever is high"),
    ("blood pressure is low", "xyzzy unknownword blood pressure is high"),
    ("", "the doctor says rest"),
    ("rest", ""),
    (" ".join(WORDS), "the patient has high blood pressure and a cough"),
]


def main():
    rng = np.random.default_rng(20261128)
    bert = Model("bert", {
        "architectures": ["BertModel"], "model_type": "bert", "hidden_size": 32, "num_hidden_layers": 3,
        "num_attention_heads": 4, "intermediate_size": 64, "hidden_act": "gelu", "max_position_embeddings": 16,
        "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 0, "position_embedding_type": "absolute",
        "torch_dtype": "float32"}, "bert.", ["[PAD]", "[UNK]", "[CLS]", "[SEP]"], ("[CLS]", "[SEP]", "[UNK]"), True, rng)
    roberta = Model("roberta", {
        "architectures": ["RobertaModel"], "model_type": "roberta", "hidden_size": 24, "num_hidden_layers": 2,
        "num_attention_heads": 3, "intermediate_size": 48, "hidden_act": "gelu", "max_position_embeddings": 14,
        "type_vocab_size": 1, "layer_norm_eps": 1e-5, "pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2,
        "position_embedding_type": "absolute", "torch_dtype": "float32"}, "", ["<s>", "<pad>", "</s>", "<unk>"],
        ("<s>", "</s>", "<unk>"), False, rng)

    golden = {}
    for model, layers in ((bert, (0, 1, 3)), (roberta, (2,))):
        model.write()
        sequences = [[model.cls_id, 5, 9, 7, model.sep_id], [model.cls_id] + list(range(4, 4 + model.max_length - 2))
                     + [model.sep_id], [model.cls_id, model.sep_id]]
        hidden = []
        for layer in layers:
            for ids in sequences:
                states = hidden_states(model.weights, model.cfg, model.prefix, np.array(ids), layer)
                hidden.append({"layer": layer, "ids": ids, "states": states.tolist()})
        scores = []
        for layer in layers:
            for candidate, reference in PAIRS:
                p, r, f = model.bertscore(candidate, reference, layer)
                scores.append({"layer": layer, "candidate": candidate, "reference": reference, "p": p, "r": r, "f": f})
        golden[model.name] = {"hidden": hidden, "bertscore": scores}
    (OUT / "golden.json").write_text(json.dumps(golden, indent=1) + "\n")


if __name__ == "__main__":
    main()
