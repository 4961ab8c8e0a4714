"""Structured answers: the JSON schema strict mode accepts, and validating what a model replied.

`strict_json_schema` turns a pydantic model into the schema `response_format` json_schema asks for;
`with_schema_in_prompt` spells it out for a server that only has JSON mode; `parse_answer` validates a
reply (a Markdown fence around it is forgiven) and says what is wrong in words fit to send back to the
model. `sabbatical.llm` re-exports all of it.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)

_UNSUPPORTED_IN_STRICT = ("minLength", "maxLength", "default")


@functools.cache
def strict_json_schema(model: type[BaseModel]) -> dict[str, Any]:
    """The model's JSON schema in the form strict structured output requires.

    Every object lists all its properties as required and allows no others; keywords strict mode does
    not accept are left out (pydantic still enforces them when the answer is validated). Cached per
    model: treat the result as read-only.
    """

    def tighten(node: Any) -> Any:
        if isinstance(node, dict):
            node = {k: tighten(v) for k, v in node.items() if k not in _UNSUPPORTED_IN_STRICT}
            if node.get("type") == "object" and "properties" in node:
                node["required"] = list(node["properties"])
                node["additionalProperties"] = False
            return node
        if isinstance(node, list):
            return [tighten(v) for v in node]
        return node

    return tighten(model.model_json_schema())


def parse_answer(content: str | None, model: type[Model]) -> Model:
    """Validate a model's reply; raises ValueError with a message fit to send back to the model."""
    text = (content or "").strip()
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, re.S)
    if fenced:  # small models like to wrap JSON in a Markdown fence even in JSON mode
        text = fenced.group(1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.msg} at position {exc.pos})") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}" for e in exc.errors()[:8])
        raise ValueError(f"the reply does not match the schema: {problems}") from None


def with_schema_in_prompt(messages: list[dict], schema: dict) -> list[dict]:
    """JSON mode knows nothing of our schema, so the first system message spells it out."""
    instruction = (
        "Reply with one JSON object, and nothing else, that validates against this JSON schema:\n"
        + json.dumps(schema, separators=(",", ":"))
    )
    out = [dict(m) for m in messages]
    for message in out:
        if message["role"] == "system":
            message["content"] = f"{message['content']}\n\n{instruction}"
            return out
    return [{"role": "system", "content": instruction}, *out]


@dataclass
class StructuredAnswer(Generic[Model]):
    value: Model
    calls: int
    tokens_in: int
    tokens_out: int
    cost_usd: float | None
    latency_ms: float
    mode: str
