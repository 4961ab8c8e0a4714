"""What a run of LLM requests may spend, and how much a request is counted as.

`Budget` holds tokens and dollars against optional limits: every request holds its estimated cost before
it is sent (`reserve`), so many requests in flight cannot overspend together, and is settled with what it
really cost. Tokens are estimated from the text (about four characters a token) when an endpoint reports
no usage or an unbelievable one (negative, absurd): `trusted_tokens` decides which. `sabbatical.llm`
re-exports all of it.
"""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass
from typing import Any

from .config import LLMConfig
from .errors import BudgetReached, UsageError

CHARS_PER_TOKEN = 4
IMAGE_TOKENS = 1_000  # what an image part of a message is counted as (its base64 text is not)


@dataclass
class BudgetHold:
    """Tokens (and dollars) a request in flight holds against the budget until it is settled."""

    tokens: int
    usd: float
    open: bool = True


class Budget:
    """Tokens and dollars spent in one run, against optional limits (0 = no limit). Thread-safe.

    A request holds its estimated cost before it is sent (`reserve`) and is settled with what it
    really cost (`settle`) or let go (`release`). A new request is refused while what is spent plus
    what is held reaches a limit, so the budget is overrun by at most one request.
    """

    def __init__(self, tokens: int = 0, usd: float = 0.0):
        self.limit_tokens = tokens
        self.limit_usd = usd
        self.tokens_in = 0
        self.tokens_out = 0
        self.usd = 0.0
        self.priced = False  # whether any request had a price (else `usd` means nothing)
        self.held_tokens = 0
        self.held_usd = 0.0
        self._lock = threading.Lock()

    @property
    def tokens(self) -> int:
        return self.tokens_in + self.tokens_out

    def charge(self, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        with self._lock:
            self._charge(tokens_in, tokens_out, usd)

    def check(self) -> None:
        """Raise BudgetReached when a limit is spent or held (requests already in flight still finish)."""
        with self._lock:
            self._check()

    def reserve(self, tokens: int, usd: float | None) -> BudgetHold:
        """Hold a request's estimated cost; raises BudgetReached when no budget is left for it."""
        with self._lock:
            self._check()
            hold = BudgetHold(max(0, tokens), max(0.0, usd or 0.0))
            self.held_tokens += hold.tokens
            self.held_usd += hold.usd
            return hold

    def settle(self, hold: BudgetHold, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        """Replace what `hold` held with what the request cost."""
        with self._lock:
            self._release(hold)
            self._charge(tokens_in, tokens_out, usd)

    def release(self, hold: BudgetHold) -> None:
        """The request cost nothing (refused before the model ran): let its hold go."""
        with self._lock:
            self._release(hold)

    def _release(self, hold: BudgetHold) -> None:
        if hold.open:
            hold.open = False
            self.held_tokens -= hold.tokens
            self.held_usd -= hold.usd

    def _charge(self, tokens_in: int, tokens_out: int, usd: float | None) -> None:
        self.tokens_in += max(0, tokens_in)
        self.tokens_out += max(0, tokens_out)
        if usd is not None:
            self.usd += max(0.0, usd)
            self.priced = True

    def _check(self) -> None:
        held = f", {self.held_tokens:,} held by requests in flight" if self.held_tokens else ""
        if self.limit_tokens and self.tokens + self.held_tokens >= self.limit_tokens:
            raise BudgetReached(f"token budget of {self.limit_tokens:,} reached ({self.tokens:,} used{held})")
        if self.limit_usd and self.usd + self.held_usd >= self.limit_usd:
            raise BudgetReached(f"budget of ${self.limit_usd:.2f} reached (${self.usd:.4f} spent)")


def parse_budget(text: str) -> Budget:
    """'5000' or '5k' tokens, '$0.50' or '0.5usd' dollars."""
    cleaned = text.strip().lower().replace(",", "").replace("_", "")
    dollars = re.fullmatch(r"\$\s*([0-9]*\.?[0-9]+)|([0-9]*\.?[0-9]+)\s*(?:usd|\$)", cleaned)
    if dollars:
        return Budget(usd=float(dollars.group(1) or dollars.group(2)))
    tokens = re.fullmatch(r"([0-9]+)(k|m)?", cleaned)
    if tokens:
        scale = {"k": 1_000, "m": 1_000_000}.get(tokens.group(2) or "", 1)
        return Budget(tokens=int(tokens.group(1)) * scale)
    raise UsageError(f"--budget {text!r} is neither tokens (5000, 20k) nor dollars ($0.50)")


def budget_from_config(config: LLMConfig) -> Budget:
    return Budget(tokens=config.budget_tokens, usd=config.budget_usd)


# -- counting tokens ------------------------------------------------------------------------------
def estimate_tokens(text: str) -> int:
    """About four characters a token: what a request is counted as when the endpoint does not say."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def estimate_message_tokens(messages: list[dict]) -> int:
    """The estimated input tokens of chat messages (a few tokens of framing each)."""
    total = 0
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):  # parts: text counts by its length, an image by a flat figure
            total += sum(
                estimate_tokens(str(part.get("text", ""))) if part.get("type") == "text" else IMAGE_TOKENS
                for part in content
                if isinstance(part, dict)
            )
        else:
            total += estimate_tokens(str(content or ""))
        total += 4
    return total


def trusted_tokens(reported: Any, estimate: int, ceiling: int) -> int:
    """The endpoint's token count when it is believable, else our estimate.

    Missing, non-numeric, negative, above `ceiling`, or below a tenth of the estimate (a server
    reporting 0 for a long prompt) all count as not reported.
    """
    if isinstance(reported, bool) or not isinstance(reported, (int, float)) or not math.isfinite(reported):
        return estimate
    count = int(reported)
    if count != reported or count < estimate // 10 or count > ceiling:
        return estimate
    return count


def input_ceiling(estimate: int) -> int:
    """The most input tokens believable for a request estimated at `estimate`."""
    return 10 * estimate + 1_000
