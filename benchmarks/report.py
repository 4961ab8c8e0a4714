"""How every benchmark prints: one JSON object with `--json` (for run_all.py), else a line a figure.

A result is {"figures": [{"name", "value", "unit"?, "goal"?, "met"?}, …], …any raw fields}.
"""

from __future__ import annotations

import json


def emit(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for figure in result["figures"]:
        unit = f" {figure['unit']}" if figure.get("unit") else ""
        verdict = ""
        if "goal" in figure and "met" in figure:
            verdict = f"   (goal {figure['goal']}: {'met' if figure['met'] else 'SHORT'})"
        print(f"{figure['name']}: {figure['value']}{unit}{verdict}")
