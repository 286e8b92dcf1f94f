#!/usr/bin/env python3
"""Renders cases.json's conversations with the real chat templates (testdata/templates) as Hugging Face
transformers does (apply_chat_template: Jinja2's ImmutableSandboxedEnvironment with trim_blocks,
lstrip_blocks and loopcontrols; tojson as json.dumps with ensure_ascii=False and the keys in their order;
raise_exception), and writes expected.json: each case's prompt, or "error: ..." when the template raises.

Run from this directory: python3 render.py (needs jinja2; written by it, not by hand)."""
import json
import os
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment

TEMPLATES = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "testdata", "templates")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda f: datetime(2024, 7, 26).strftime(f)
    return env


def main():
    env = environment()
    with open("cases.json") as f:
        cases = json.load(f)
    out = {}
    for case in cases:
        with open(os.path.join(TEMPLATES, case["template"] + ".jinja")) as f:
            tmpl = env.from_string(f.read())
        data = dict(case.get("vars", {}))
        if "tools" in case:
            data["tools"] = case["tools"]
        data.update(messages=case["messages"], add_generation_prompt=case.get("add_generation_prompt", True),
                    bos_token=case.get("bos_token", ""), eos_token=case.get("eos_token", ""))
        try:
            out[case["name"]] = tmpl.render(**data)
        except jinja2.exceptions.TemplateError as e:
            out[case["name"]] = "error: " + str(e)
    with open("expected.json", "w") as f:
        json.dump(out, f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")


main()
