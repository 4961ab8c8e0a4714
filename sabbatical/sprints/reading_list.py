"""A sprint's reading list: the pile searched with the sprint's question, and its Markdown section.

The question is searched as the phrases it is made of, not as a bag of words: "Do induction heads form
at the same step as the in-context learning bump?" holds the phrases "induction heads" and "in-context
learning bump", and an item that says "in-context learning" outranks one that says "learning" and
"context" apart. Candidates come from the pile's own search (`reading.search`, words and meaning), once
for the whole question and once for each phrase; each is then scored by how much of the question's
phrases its title and abstract hold, rare words and whole phrases counting most. Items the researcher
starred, kept or tagged rank higher, and items below a relevance floor are left out rather than filling
ten slots. `sprint reading add|remove ID` pins an item to the list or keeps it off; pins are events in
the pile (subject 'sprint:ID') and survive every refresh.

Dropped items are left out, and private ones unless the sprint is private. With no pile the list says
so plainly; a pile that cannot be read is reported, never fatal to the sprint.
"""

from __future__ import annotations

import json
import math
import re
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..errors import StoreError
from ..reading.stopwords import STOP_WORDS

if TYPE_CHECKING:
    from collections.abc import Callable

    from ..config import Config
    from ..workspace import Workspace
    from .reading_check import Candidate, Checked

    Checker = Callable[[list[Candidate]], Checked]

LIMIT = 10
# Relevance (0–1, see combined_relevance) an item must reach to be listed: at least FLOOR, and no more
# than SPREAD below the most relevant candidate (when a few items are about the question, the ones that
# only share some of its words are left out rather than filling ten slots) …
FLOOR = 0.5
SPREAD = 0.25
MARKED_FLOOR = 0.25  # … or above this, whatever the others, when the researcher starred, kept or tagged it
QUESTION_HITS = 60  # candidates from searching the whole question …
PHRASE_HITS = 30  # … and from searching each phrase of it
BOOST = {"starred": 0.3, "kept": 0.15}
TAG_BOOST = 0.1
ABSTRACT_CHARS = 3_000
MIN_PAIR = 1  # two question words stay in one phrase when at least this many items write them side by side
DF_CAP = 5_000  # document frequencies are counted up to here (rarer words weigh more)
# Words of a question that are about asking, not about the subject.
QUESTION_WORDS = frozenset(
    [
        "does",
        "do",
        "did",
        "can",
        "could",
        "would",
        "should",
        "is",
        "are",
        "how",
        "what",
        "why",
        "when",
        "which",
        "whether",
        "make",
        "makes",
        "made",
        "get",
        "gets",
        "use",
        "uses",
        "using",
        "used",
        "work",
        "works",
        "better",
        "best",
        "good",
        "really",
        "way",
        "ways",
        "help",
        "helps",
        "improve",
        "improves",
        "affect",
        "affects",
        "cause",
        "causes",
        "really",
        "actually",
        "happen",
        "happens",
        "same",
        "different",
        "new",
        # size and degree words, which qualify a subject without naming one
        "small",
        "smaller",
        "large",
        "larger",
        "big",
        "bigger",
        "high",
        "higher",
        "low",
        "lower",
        "long",
        "longer",
        "short",
        "shorter",
        "well",
        "much",
        "many",
        "more",
        "less",
        "need",
        "needs",
        "keep",
        "keeps",
        "find",
        "finds",
        "limited",
        "practice",
        "across",
    ]
)
_TOKEN = re.compile(r"\w+(?:-\w+)*")
_SPLIT = re.compile(r"[^\w]+")
_CAPITALS = re.compile(r"\b[0-9]*[A-Z][A-Z0-9]+s?\b")  # "LLM", "GNNs", "3DGS"
_DOTTED = re.compile(r"\b(?:\w\.){2,}")


@dataclass
class ReadingEntry:
    item_id: str
    title: str
    kind: str
    url: str | None
    tldr: str | None
    contribution: str | None
    score: float
    relevance: float = 0.0
    why: str = ""
    pinned: bool = False


@dataclass
class ReadingList:
    query: str
    entries: list[ReadingEntry] = field(default_factory=list)
    pile_exists: bool = True
    problem: str | None = None
    phrases: list[str] = field(default_factory=list)
    below_floor: int = 0  # candidates that matched some words but too little of the question
    checked: int = 0  # candidates the LLM judged (`sprint reading --check`)
    left_by_check: int = 0  # … and said do not help
    check_problems: list[str] = field(default_factory=list)


def _stem(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _normal(text: str) -> str:
    """Lower case, hyphens and punctuation as spaces, dotted initials joined ("i.i.d." → "iid"), crude
    singulars: how phrases are compared."""
    text = _DOTTED.sub(lambda m: m.group(0).replace(".", ""), text.lower())
    return " " + " ".join(_stem(w) for w in _SPLIT.split(text) if w) + " "


def question_phrases(question: str) -> list[str]:
    """The runs of subject words in the question, in order: the words between stop words and punctuation."""
    phrases: list[str] = []
    for clause in re.split(r"[,;:.!?()\"“”]+", question.lower()):
        run: list[str] = []
        for token in _TOKEN.findall(clause) + [""]:
            if (
                token
                and token not in STOP_WORDS
                and token not in QUESTION_WORDS
                and (len(token) >= 2 or token.isdigit())
            ):
                run.append(token)
            elif run:
                phrase = " ".join(run)
                if phrase not in phrases:
                    phrases.append(phrase)
                run = []
    return phrases


def split_where_the_pile_does(conn: sqlite3.Connection, phrases: list[str]) -> list[str]:
    """The phrases cut between two words that no item of the pile writes side by side: "3d gaussian
    splatting reconstruct dynamic scenes" is "3d gaussian splatting", "reconstruct" and "dynamic
    scenes" when nothing says "splatting reconstruct" (a run of subject words often holds a verb)."""
    pieces: list[str] = []
    for phrase in phrases:
        tokens = phrase.split()
        run = tokens[:1]
        for token in tokens[1:]:
            if _side_by_side(conn, run[-1], token) < MIN_PAIR:
                pieces.append(" ".join(run))
                run = []
            run.append(token)
        pieces.append(" ".join(run))
    return list(dict.fromkeys(p for p in pieces if p))


def _side_by_side(conn: sqlite3.Connection, first: str, second: str) -> int:
    query = '"' + f"{first} {second}".replace("-", " ").replace('"', '""') + '"'
    try:
        return conn.execute(
            "SELECT COUNT(*) FROM (SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT ?)", (query, MIN_PAIR)
        ).fetchone()[0]
    except sqlite3.Error:
        return MIN_PAIR  # a pair FTS cannot search for stays together


def significant_words(question: str) -> list[str]:
    """The question's subject words, in order, without repeats."""
    words: list[str] = []
    for phrase in question_phrases(question):
        words += [w for w in _normal(phrase).split() if w not in words]
    return words


def fts_query(question: str) -> str:
    """How the list says what it searched for: the question's phrases, each quoted."""
    return " OR ".join('"' + phrase.replace('"', '""') + '"' for phrase in question_phrases(question))


def search_pile(
    workspace: Workspace,
    question: str,
    *,
    limit: int = LIMIT,
    include_private: bool = False,
    conn: sqlite3.Connection | None = None,
    sprint: str | None = None,
    check: bool = False,
) -> ReadingList:
    """The pile's best matches for `question`, with `sprint`'s pins. Never creates a pile that is not there.

    `conn` is the open pile to search (the CLI hands it over); without one the pile is opened here. `check`
    asks the configured LLM about the best candidates (`reading_check`; `UsageError` without an endpoint)."""
    query = fts_query(question)
    if conn is None and not workspace.pile_path.exists():
        return ReadingList(query, pile_exists=False)
    if not query and sprint is None:
        return ReadingList(query)
    from .. import db

    own = conn is None
    try:
        conn = conn or db.connect(workspace.pile_path)
    except StoreError as exc:
        return ReadingList(query, problem=str(exc))
    pile = conn

    def checker(candidates: list[Candidate]) -> Checked:
        from . import reading_check

        return reading_check.check(pile, workspace.config, workspace.cache_dir, question, candidates)

    try:
        return reading_list(
            conn,
            workspace.config,
            question,
            limit=limit,
            include_private=include_private,
            sprint=sprint,
            checker=checker if check else None,
        )
    except sqlite3.Error as exc:
        return ReadingList(query, problem=f"could not search the pile: {exc}")
    finally:
        if own:
            conn.close()


def reading_list(
    conn: sqlite3.Connection,
    config: Config,
    question: str,
    *,
    limit: int = LIMIT,
    include_private: bool = False,
    sprint: str | None = None,
    checker: Checker | None = None,
) -> ReadingList:
    """The reading list for `question` from an open pile: pinned items first, then the relevant ones.

    With `checker` (the LLM's verdicts, `reading_check`), the best candidates by the words' score are
    judged by it whatever the floor: those it says help are listed, those it says do not are left out,
    and any it could not judge keep the words' decision."""
    phrases = split_where_the_pile_does(conn, question_phrases(question))
    result = ReadingList(fts_query(question), phrases=phrases)
    pins, removed = pinned_items(conn, sprint) if sprint else ([], set())
    hidden = _hidden(conn, include_private)
    scored = _scored(conn, config, question, phrases) if phrases else []
    chosen: list[tuple[str, float, float, str, bool]] = [(i, 1.0, 1.0, "pinned", True) for i in pins if i not in hidden]
    scored = [row for row in scored if row[0] not in hidden and row[0] not in removed and row[0] not in pins]
    verdicts = _checked(conn, checker, scored, result) if checker is not None else {}
    floor = max(FLOOR, max((row[2] for row in scored), default=0.0) - SPREAD)
    for item_id, score, relevance, why in scored:
        if item_id in verdicts:
            helps, reason = verdicts[item_id]
            if not helps:
                result.left_by_check += 1
                continue
            chosen.append((item_id, score, relevance, f"the model: {reason} ({why})", False))
            continue
        marked = why.startswith(("starred", "kept", "tagged"))
        if relevance < floor if not marked else relevance <= MARKED_FLOOR:
            result.below_floor += 1
            continue
        chosen.append((item_id, score, relevance, why, False))
    result.entries = _entries(conn, config, chosen[: max(limit, len(pins))])
    return result


def _checked(
    conn: sqlite3.Connection,
    checker: Checker,
    scored: list[tuple[str, float, float, str]],
    result: ReadingList,
) -> dict[str, tuple[bool, str]]:
    """The checker's verdicts on the best candidates that hold any of the question's words."""
    from .reading_check import ASKED, Candidate

    asked = [row[0] for row in scored if row[2] > 0][:ASKED]
    texts = _texts(conn, asked)
    checked = checker([Candidate(i, *texts.get(i, ("", ""))) for i in asked])
    result.checked = len(checked.verdicts)
    result.check_problems = checked.problems
    return checked.verdicts


def _scored(
    conn: sqlite3.Connection, config: Config, question: str, phrases: list[str]
) -> list[tuple[str, float, float, str]]:
    """(item id, score, relevance, why) for every candidate, best first."""
    from ..reading import triage

    candidates = _candidates(conn, config, question, phrases)
    texts = _texts(conn, list(candidates))
    weights = _word_weights(conn, phrases)
    acronyms = question_acronyms(question)
    states = triage.user_states(conn, list(candidates))
    scored = []
    for item_id, order in candidates.items():
        title, text = texts.get(item_id, ("", ""))
        relevance, matched = combined_relevance(title, text, phrases, weights, acronyms)
        state = states.get(item_id, triage.UserState())
        boost = BOOST.get(state.state, 0.0) + (TAG_BOOST if state.tags else 0.0)
        marks = [m for m in (state.state if state.state in BOOST else "", "tagged" if state.tags else "") if m]
        why = ", ".join([*marks, ("phrases: " + "; ".join(matched)) if matched else "similar in meaning"])
        scored.append((item_id, relevance + boost + 0.01 / (1 + order), relevance, why))
    return sorted(scored, key=lambda row: -row[1])


def combined_relevance(
    title: str, text: str, phrases: list[str], weights: dict[str, float], acronyms: frozenset[str] = frozenset()
) -> tuple[float, list[str]]:
    """An item's relevance to the question (0–1): the mean of how much of its phrases the title and
    abstract hold (`relevance_of`), how much of its words they hold anywhere, and how much of its words
    the title holds. A paper about the question usually names it in its title; one that mentions the
    subject in passing does not."""
    phrased, matched = relevance_of(text, phrases, weights, acronyms)
    anywhere = word_share(text, phrases, weights, acronyms)
    titled = word_share(title, phrases, weights, acronyms)
    return round((phrased + anywhere + titled) / 3, 4), matched


def _candidates(conn: sqlite3.Connection, config: Config, question: str, phrases: list[str]) -> dict[str, int]:
    """Items the pile's search finds for the question or any of its phrases → best rank seen."""
    from ..errors import UsageError
    from ..reading.search import search

    ranks: dict[str, int] = {}
    for text, depth in [(" ".join(phrases), QUESTION_HITS)] + [(p, PHRASE_HITS) for p in phrases if " " in p]:
        try:
            hits = search(conn, config, text, limit=depth)
        except UsageError:
            continue
        for rank, hit in enumerate(hits):
            if hit.state != "dropped":
                ranks[hit.id] = min(rank, ranks.get(hit.id, rank))
    return ranks


def relevance_of(
    text: str, phrases: list[str], weights: dict[str, float], acronyms: frozenset[str] = frozenset()
) -> tuple[float, list[str]]:
    """How much of the question's phrases `text` holds (0–1), and the pieces of them it holds as phrases.

    Each word of a phrase counts in full where the text has it next to its neighbour in the phrase
    ("in-context learning" of "in-context learning bump"), half where the text has it only apart, and
    not at all where it is missing; a one-word phrase counts in full when present. A run of phrase words
    also counts as a phrase where the text writes it as their initials ("RAG" for "retrieval-augmented
    generation", "GNNs" for "graph neural networks"), and a question word written in capitals ("LLM")
    is present where the text spells it out. Words weigh by how rare they are in the pile (a word no
    item uses weighs nothing)."""
    normal, capitals = _normal(text), _capitals(text)
    spelled = _initialisms(normal)
    total = found = 0.0
    matched: list[str] = []
    for phrase in phrases:
        words = _normal(phrase).split()
        covered = _covered(words, normal, matched, capitals)
        whole = _compounds_held(phrase, normal)
        for position, word in enumerate(words):
            weight = weights.get(word, 1.0)
            total += weight
            present = _holds(normal, spelled, word, acronyms) if whole[position] is None else whole[position]
            if position in covered or (len(words) == 1 and present):
                found += weight
            elif present:
                found += 0.5 * weight
        if len(words) == 1 and _holds(normal, spelled, words[0], acronyms):
            matched.append(words[0])
    return (round(found / total, 4) if total else 0.0), matched


def word_share(
    text: str, phrases: list[str], weights: dict[str, float], acronyms: frozenset[str] = frozenset()
) -> float:
    """The weighted share of the question's words that `text` holds anywhere (initials count, as above)."""
    normal, capitals = _normal(text), _capitals(text)
    spelled = _initialisms(normal)
    total = found = 0.0
    for phrase in phrases:
        for word, whole in zip(_normal(phrase).split(), _compounds_held(phrase, normal), strict=True):
            weight = weights.get(word, 1.0)
            total += weight
            present = _holds(normal, spelled, word, acronyms) if whole is None else whole
            if present or _abbreviated(word, phrases, capitals):
                found += weight
    return round(found / total, 4) if total else 0.0


def _compounds_held(phrase: str, normal: str) -> list[bool | None]:
    """For each word of `phrase`: None when it stands alone, else whether `normal` holds the hyphenated
    compound it is part of ("over-smoothing", "non-IID") whole, spaced, hyphenated or joined
    ("oversmoothing"): "smoothing" alone is not "over-smoothing"."""
    held: list[bool | None] = []
    for token in phrase.split():
        parts = _normal(token).split()
        if len(parts) < 2:
            held += [None] * len(parts)
        else:
            held += [f" {' '.join(parts)} " in normal or f" {''.join(parts)} " in normal] * len(parts)
    return held


def _abbreviated(word: str, phrases: list[str], capitals: str) -> bool:
    """Whether `word` is part of a run of its phrase that `normal` writes as initials."""
    for phrase in phrases:
        words = _normal(phrase).split()
        if word in words and any(words[i] == word for span in _initial_spans(words, capitals) for i in span):
            return True
    return False


def _covered(words: list[str], normal: str, matched: list[str], capitals: str = " ") -> set[int]:
    """Positions of `words` inside runs of two or more of them that `normal` holds, longest runs first,
    written out or as their initials."""
    covered: set[int] = set()
    for size in range(len(words), 1, -1):
        for start in range(len(words) - size + 1):
            span = set(range(start, start + size))
            run = words[start : start + size]
            if span <= covered:
                continue
            if " " + " ".join(run) + " " in normal or f" {_initials(run)} " in capitals:
                if not span & covered:
                    matched.append(" ".join(run))
                covered |= span
    return covered


def _initial_spans(words: list[str], capitals: str) -> list[range]:
    return [
        range(start, start + size)
        for size in range(len(words), 1, -1)
        for start in range(len(words) - size + 1)
        if f" {_initials(words[start : start + size])} " in capitals
    ]


def _capitals(text: str) -> str:
    """The words a text writes in capitals ("RAG", "GNNs", "3DGS"), as `_normal` writes them: only those
    can be initials ("a rag doll" is not retrieval-augmented generation)."""
    return " " + " ".join(_stem(w.lower()) for w in _CAPITALS.findall(text)) + " "


def _initials(words: list[str]) -> str:
    """How a run of words is abbreviated: first letters, a word with a digit whole ("3d gaussian
    splatting" → "3dgs")."""
    return "".join(w if any(c.isdigit() for c in w) else w[0] for w in words)


def _initialisms(normal: str) -> set[str]:
    """The initials of every run of two to five words of a text: what an acronym in a question may stand for."""
    tokens = normal.split()
    return {_initials(tokens[i : i + n]) for n in range(2, 6) for i in range(len(tokens) - n + 1)}


def _holds(normal: str, spelled: set[str], word: str, acronyms: frozenset[str]) -> bool:
    return f" {word} " in normal or (word in acronyms and word in spelled)


def question_acronyms(question: str) -> frozenset[str]:
    """The words the question writes in capitals ("LLM agents", "non-IID"), singular and lower case."""
    return frozenset(_stem(w.lower()) for w in _CAPITALS.findall(question))


def _word_weights(conn: sqlite3.Connection, phrases: list[str]) -> dict[str, float]:
    """Each question word's weight: log of how much rarer than the commonest it is in the pile (idf)."""
    words = {w for phrase in phrases for w in _normal(phrase).split()}
    items = conn.execute("SELECT COUNT(*) FROM items").fetchone()[0] or 1
    weights = {}
    for word in words:
        try:
            found = conn.execute(
                "SELECT COUNT(*) FROM (SELECT rowid FROM items_fts WHERE items_fts MATCH ? LIMIT ?)",
                ('"' + word.replace('"', '""') + '"*', DF_CAP),
            ).fetchone()[0]
        except sqlite3.Error:
            found = 1
        # A word no item uses cannot tell items apart: it neither counts for nor against any of them.
        weights[word] = math.log(1 + items / min(found, DF_CAP)) if found else 0.0
    return weights


def _texts(conn: sqlite3.Connection, ids: list[str]) -> dict[str, tuple[str, str]]:
    """Item id → (title, title and abstract, or the start of the content when there is no abstract)."""
    texts: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for r in conn.execute(
            f"SELECT id, title, abstract, substr(content, 1, {ABSTRACT_CHARS}) AS body FROM items "
            f"WHERE id IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            texts[r["id"]] = (r["title"] or "", f"{r['title']}. {r['abstract'] or r['body'] or ''}")
    return texts


def _hidden(conn: sqlite3.Connection, include_private: bool) -> set[str]:
    from ..reading import triage

    hidden = triage.ids_in_state(conn, "dropped")
    if not include_private:
        hidden |= {row[0] for row in conn.execute("SELECT id FROM items WHERE private = 1")}
    return hidden


def _entries(
    conn: sqlite3.Connection, config: Config, chosen: list[tuple[str, float, float, str, bool]]
) -> list[ReadingEntry]:
    from ..reading.summary_rows import latest_summary_rows, preferred_key

    ids = [c[0] for c in chosen]
    rows = (
        {
            r["id"]: r
            for r in conn.execute(
                f"SELECT id, title, kind, url FROM items WHERE id IN ({','.join('?' * len(ids))})", ids
            )
        }
        if ids
        else {}
    )
    summaries = latest_summary_rows(conn, ids, prefer=preferred_key(config.llm))
    entries = []
    for item_id, score, relevance, why, pinned in chosen:
        row, summary = rows.get(item_id), summaries.get(item_id)
        if row is None:
            continue
        entries.append(
            ReadingEntry(
                item_id=item_id,
                title=row["title"] or item_id,
                kind=row["kind"],
                url=row["url"],
                tldr=summary["tldr"] if summary else None,
                contribution=summary["contribution"] if summary else None,
                score=round(score, 4),
                relevance=relevance,
                why=why,
                pinned=pinned,
            )
        )
    return entries


# -- pins -----------------------------------------------------------------------------------------------
def pinned_items(conn: sqlite3.Connection, sprint: str) -> tuple[list[str], set[str]]:
    """(items pinned to `sprint`'s list, in the order pinned; items kept off it), from its events."""
    latest: dict[str, str] = {}
    for row in conn.execute("SELECT action, value FROM events WHERE subject = ? ORDER BY id", (f"sprint:{sprint}",)):
        item_id = json.loads(row["value"] or "{}").get("item")
        if item_id and row["action"] in ("reading_add", "reading_remove"):
            latest.pop(item_id, None)
            latest[item_id] = row["action"]
    return (
        [i for i, action in latest.items() if action == "reading_add"],
        {i for i, action in latest.items() if action == "reading_remove"},
    )


def pin(conn: sqlite3.Connection, sprint: str, ref: str, *, remove: bool = False) -> str:
    """Pin an item (any id the pile resolves) to `sprint`'s reading list, or keep it off; its canonical id."""
    from .. import db
    from ..reading.pile import resolve_item

    item_id = resolve_item(conn, ref)
    with db.transaction(conn):
        conn.execute(
            "INSERT INTO events (subject, action, value) VALUES (?, ?, ?)",
            (f"sprint:{sprint}", "reading_remove" if remove else "reading_add", json.dumps({"item": item_id})),
        )
    return item_id


def render_markdown(reading: ReadingList) -> str:
    """The Reading list section of sprint.md."""
    command = "`sabbatical sprint reading --refresh`"
    if not reading.pile_exists:
        return (
            "No pile yet (reading/pile.db does not exist), so nothing to suggest. Read something with "
            f"`sabbatical read …`, then run {command}."
        )
    if reading.problem:
        return f"The pile could not be searched: {reading.problem}. Once it is fixed, run {command}."
    if not reading.entries:
        return f"Nothing in the pile matches this question yet. After reading more, run {command}."
    searched = ", ".join(reading.phrases) or ", ".join(_words_of(reading.query))
    left_out = f"; {reading.below_floor} more matched too little of it to list" if reading.below_floor else ""
    lines = [
        f"From the pile, best match first (searched for: {searched}{left_out}; {command} redoes it, "
        "`sabbatical sprint reading add|remove ID` pins or removes an item).",
        "",
    ]
    for number, entry in enumerate(reading.entries, 1):
        title = entry.title.replace("[", "(").replace("]", ")").replace("\n", " ")
        linked = f"[{title}]({entry.url})" if entry.url else title
        kind = entry.kind + (f", {entry.contribution.replace('_', ' ')}" if entry.contribution else "")
        tldr = entry.tldr.replace("\n", " ").strip() if entry.tldr else "not summarised yet"
        pinned = " (pinned)" if entry.pinned else ""
        lines.append(f"{number}. **{linked}** ({kind}){pinned}: {tldr} `{entry.item_id}`")
    return "\n".join(lines)


def _words_of(query: str) -> list[str]:
    return [part.strip().strip('"') for part in query.split(" OR ")]
