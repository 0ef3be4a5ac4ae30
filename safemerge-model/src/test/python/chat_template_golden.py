"""Renders the committed chat templates with Python jinja2 the way Hugging Face transformers does
(ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, tojson = json.dumps,
raise_exception) and writes the expected outputs for ChatTemplateGoldenTest.

Run from the module folder: python3 src/test/python/chat_template_golden.py
(jinja2 3.1.6 produced the committed file.)
"""

import json
import pathlib

import jinja2
from jinja2.ext import loopcontrols
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
RESOURCES = HERE.parent / "resources" / "dev" / "safemerge" / "model" / "text"
TEMPLATES = RESOURCES / "templates"


class TemplateRaised(Exception):
    pass


def raise_exception(message):
    raise TemplateRaised(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    # Fixed so that the golden file is reproducible; the Java side gets the same fixed clock in the test.
    import datetime

    return datetime.datetime(2025, 3, 14, 9, 26, 53).strftime(fmt)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "The city and state, e.g. San Francisco, CA"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    },
}
TIME_TOOL = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "Current time in a time zone (IANA name, e.g. \"Europe/Paris\")",
        "parameters": {"type": "object", "properties": {"tz": {"type": "string"}}, "required": ["tz"]},
    },
}

SYSTEM = {"role": "system", "content": "You are a careful assistant. Answer briefly."}
USER = {"role": "user", "content": "What is the capital of France?"}
ASSISTANT = {"role": "assistant", "content": "Paris."}
USER2 = {"role": "user", "content": "And of Japan? Reply with one word."}
UNICODE = {"role": "user", "content": "  Héllo ✓ 你好 — \"quotes\" and \\backslash\\  \n"}

TOOL_CALL = {
    "role": "assistant",
    "content": "",
    "tool_calls": [
        {
            "id": "call12345",
            "type": "function",
            "function": {"name": "get_current_weather", "arguments": {"location": "Paris, France", "unit": "celsius"}},
        }
    ],
}
TOOL_RESULT = {"role": "tool", "tool_call_id": "call12345", "name": "get_current_weather", "content": "{\"temperature\": 21}"}
WEATHER_Q = {"role": "user", "content": "What is the weather in Paris today?"}

CHAT_CASES = [
    ("user", [USER], True, None),
    ("user-no-generation-prompt", [USER], False, None),
    ("system-user", [SYSTEM, USER], True, None),
    ("multi-turn", [USER, ASSISTANT, USER2], True, None),
    ("system-multi-turn", [SYSTEM, USER, ASSISTANT, USER2], True, None),
    ("system-multi-turn-closed", [SYSTEM, USER, ASSISTANT, USER2, {"role": "assistant", "content": " Tokyo. "}], False, None),
    ("unicode-whitespace", [UNICODE], True, None),
    ("two-users", [USER, USER2], True, None),
]
TOOL_CASES = [
    ("tools", [WEATHER_Q], True, [WEATHER_TOOL, TIME_TOOL]),
    ("tools-system", [SYSTEM, WEATHER_Q], True, [WEATHER_TOOL]),
    ("tools-call-and-result", [SYSTEM, WEATHER_Q, TOOL_CALL, TOOL_RESULT], True, [WEATHER_TOOL]),
]

# name, file, bos, eos, whether the template reads tools
TEMPLATE_SPECS = [
    ("llama3", "llama3.jinja", "<|begin_of_text|>", "<|eot_id|>", False),
    ("llama3.1", "llama3.1.jinja", "<|begin_of_text|>", "<|eot_id|>", True),
    ("qwen2.5", "qwen2.5.jinja", None, "<|im_end|>", True),
    ("gemma2", "gemma2.jinja", "<bos>", "<eos>", False),
    ("mistral-nemo", "mistral-nemo.jinja", "<s>", "</s>", True),
    ("mistral-7b-v0.3", "mistral-7b-v0.3.jinja", "<s>", "</s>", True),
    ("gemma3", "gemma3.jinja", "<bos>", "<end_of_turn>", False),
    ("qwen3", "qwen3.jinja", None, "<|im_end|>", True),
]

QWEN3_EXTRA = [
    ("think-history", [USER, {"role": "assistant", "content": "<think>\nThe capital is Paris.\n</think>\n\nParis."}, USER2], True, None),
]


def render(env, source, messages, add_generation_prompt, tools, bos, eos):
    template = env.from_string(source)
    try:
        text = template.render(
            messages=messages,
            tools=tools,
            documents=None,
            add_generation_prompt=add_generation_prompt,
            bos_token=bos,
            eos_token=eos,
        )
        return {"expected": text}
    except TemplateRaised as e:
        return {"error": str(e)}


def main():
    env = environment()
    cases = []
    for name, file, bos, eos, uses_tools in TEMPLATE_SPECS:
        source = (TEMPLATES / file).read_text(encoding="utf-8")
        specs = list(CHAT_CASES)
        if uses_tools:
            specs += TOOL_CASES
        if name == "qwen3":
            specs += QWEN3_EXTRA
        for case, messages, gen, tools in specs:
            entry = {
                "template": name,
                "file": file,
                "case": case,
                "bos_token": bos,
                "eos_token": eos,
                "add_generation_prompt": gen,
                "messages": messages,
                "tools": tools,
            }
            entry.update(render(env, source, messages, gen, tools, bos, eos))
            cases.append(entry)
    out = RESOURCES / "chat_template_golden.json"
    out.write_text(json.dumps(cases, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"{len(cases)} cases, {sum('error' in c for c in cases)} expected errors -> {out}")


if __name__ == "__main__":
    main()
