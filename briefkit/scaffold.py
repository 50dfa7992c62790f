"""`python build.py new SLUG --article FILE [--date D]`: a briefing folder, pre-filled from its article.

The annotations are suggestions for an author to review: the title (the article's first line or
heading), every quoted passage of at least four words with its most likely speaker, the registry
actors named in the text and capitalised names that may be new actors. Each suggestion carries a
`# suggested` comment, and the file builds as written.

The YAML is written as text (PyYAML cannot write comments); every string from the article goes
through `yaml_str`, a JSON string with the characters YAML reads differently escaped, so no text
in an article can change the structure of the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .diagnostics import UsageError
from .schema import DATE_RE, SLUG_RE, slug_suggestion
from .text.folding import DOUBLE_QUOTES, SINGLE_QUOTES, fold
from .text.mentions import ActorSpec, mention_pattern
from .text.render import Renderer

MIN_QUOTE_WORDS = 4
PLACEHOLDER_ARTICLE = "Paste the article here, in place of this paragraph.\n"
PLACEHOLDER_TITLE = "TODO: the headline"
PLACEHOLDER_SUMMARY = "TODO: why this briefing matters, in one to three sentences."
SCHEMA = Path("schemas") / "annotations.schema.json"

SPEECH_VERBS = (
    "said|says|say|told|tells|tell|added|adds|asked|asks|replied|replies|stated|states|explained|"
    "explains|warned|warns|wrote|writes|insisted|insists|noted|notes|declared|declares|announced|"
    "announces|continued|continues|responded|responds|claimed|claims|denied|denies|argued|argues|"
    "recalled|recalls|saying|telling|adding|replying|warning|insisting|according to")
VERB = rf"(?:{SPEECH_VERBS})(?!\w)"
# Between a name and its verb: nothing, or one lower-case word ("Putin simply replied", "Trump also said").
NAME_VERB_RE = re.compile(rf"(?:\s+[a-z]+)?\s+{VERB}")
VERB_NAME_RE = re.compile(rf"[\s,.;:!?\u2013\u2014-]*{VERB}\s+")
AFTER_NAME_RE = re.compile(r"[\s,.;:!?\u2013\u2014-]*")
PRONOUN_VERB_RE = re.compile(rf"(?<!\w)(?:he|she|He|She)(?:\s+[a-z]+)?\s+{VERB}")
AFTER_PRONOUN_RE = re.compile(rf"[\s,.;:!?\u2013\u2014-]*(?:he|she)(?:\s+[a-z]+)?\s+{VERB}")
ANY_VERB_RE = re.compile(rf"(?<!\w){VERB}")
WORD_RE = re.compile(r"\w+(?:['\u2019]\w+)*")

# Capitalised words, and the ones that are not names by themselves.
CAP_WORD = r"[A-Z][a-z]+(?:['\u2019-][A-Za-z]+)*"
CAP_RUN_RE = re.compile(rf"(?<![\w'\u2019-]){CAP_WORD}(?: {CAP_WORD})+(?![\w'\u2019-])")
NOT_NAMES = frozenset("""
    The A An And But Or So Yet For Nor If When While As At On In Of To From By With Without After
    Before Since Until During Despite Although Though Because Meanwhile However This That These Those
    It Its He She They We You I His Her Their Our Your My Mr Mrs Ms Dr Sir Madam Lord Lady Saint St
    President Vice Prime Minister Secretary Deputy Defense Defence Foreign Interior Finance State
    Press Spokesperson Spokesman Spokeswoman Chief Commander General Admiral Colonel Major Captain
    Senator Representative Governor Mayor Ambassador Chancellor King Queen Prince Princess Judge Justice
    Department Ministry Office Minister's Leader Chairman Chair Director Head Former Acting
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June
    July August September October November December Image Photo Getty Reuters Read More
""".split())
SENTENCE_START_RE = re.compile(r"(?:^|[.!?:;]\s+|[\"'\u201c\u2018\u00ab(\[]\s*)$")


@dataclass
class Quote:
    text: str
    paragraph: int
    start: int  # index of the opening mark in the paragraph
    end: int    # index of the closing mark
    speaker: str | None = None
    why: str = ""
    sure: bool = False


@dataclass
class Mention:
    paragraph: int
    start: int
    end: int
    actor: str


@dataclass
class NewActor:
    id: str
    name: str
    count: int = 0


@dataclass
class Suggestions:
    title: str
    title_from: str
    registry_actors: list[tuple[str, str, int]] = field(default_factory=list)  # id, name, mentions
    new_actors: list[NewActor] = field(default_factory=list)
    quotes: list[Quote] = field(default_factory=list)
    skipped_actors: list[str] = field(default_factory=list)


# --- command ------------------------------------------------------------------------------------

def new_briefing(args) -> int:
    """Create `<src>/<slug>/` with the article and a pre-filled annotations.yaml; returns 0."""
    slug = args.slug
    if not SLUG_RE.match(slug):
        raise UsageError(f"'{slug}' is not a valid slug (lower-case letters, digits and hyphens, "
                         f"starting with a letter or digit); try '{slug_suggestion(slug)}'")
    date = parse_date(args.date)
    src = Path(args.src)
    src_display = args.src.rstrip("/") or "/"
    if src.exists() and not src.is_dir():
        raise UsageError(f"the content folder {src_display} is not a folder")
    folder = src / slug
    shown = f"{src_display}/{slug}"
    if folder.exists() or folder.is_symlink():
        raise UsageError(f"{shown} already exists; choose another slug or remove that folder first")
    if args.article is None:
        article, fmt = PLACEHOLDER_ARTICLE, "txt"
    else:
        article, fmt = read_article(args.article)
    registry = read_registry(src / "actors.yaml")
    suggestions = suggest(article, fmt, registry) if args.article is not None else \
        Suggestions(PLACEHOLDER_TITLE, "placeholder")
    schema = src.resolve().parent / SCHEMA
    schema_ref = Path(os.path.relpath(schema, (src / slug).resolve())).as_posix() if schema.is_file() else None
    text = annotations_yaml(suggestions, date, f"article.{fmt}", schema_ref)
    try:
        folder.mkdir(parents=True)
        (folder / f"article.{fmt}").write_text(article, encoding="utf-8", newline="")
        (folder / "annotations.yaml").write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot create {shown}: {exc.strerror or exc}") from None
    actors = len(suggestions.registry_actors) + len(suggestions.new_actors)
    print(f"created {shown}/: article.{fmt}, annotations.yaml "
          f"({count(len(suggestions.quotes), 'suggested quote')}, {count(actors, 'suggested actor')})")
    print(f"next: review the '# suggested' lines in {shown}/annotations.yaml, "
          f"then run: python build.py check --src {src_display}")
    return 0


def count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def parse_date(value: str | None) -> dt.date:
    if value is None:
        return dt.date.today()  # authoring, not output: the one place Briefkit reads the clock
    try:
        if not DATE_RE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"--date must be a real date written YYYY-MM-DD, not '{value}'") from None


def read_article(name: str) -> tuple[str, str]:
    path = Path(name)
    suffix = path.suffix.lower()
    fmt = {".txt": "txt", ".md": "md", ".markdown": "md"}.get(suffix)
    if not path.exists():
        raise UsageError(f"cannot read the article {name}: no such file")
    if path.is_dir():
        raise UsageError(f"cannot read the article {name}: it is a folder")
    if fmt is None:
        raise UsageError(f"the article must be a .txt or .md file, not {name}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read the article {name}: {exc.strerror or exc}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise UsageError(f"the article {name} is not UTF-8 text (line {line}); "
                         "save it as UTF-8 and try again") from None
    return text, fmt


def read_registry(path: Path) -> dict[str, dict]:
    """actors.yaml as id -> entry; an unreadable or invalid registry counts as none (check reports it)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    if not isinstance(data, dict):
        return {}
    return {key: value for key, value in data.items()
            if isinstance(key, str) and SLUG_RE.match(key) and isinstance(value, dict)
            and isinstance(value.get("name"), str) and value["name"].strip()}


def registry_names(entry: dict) -> tuple[str, ...]:
    aliases = entry.get("aliases") or ()
    if isinstance(aliases, str):
        aliases = (aliases,)
    return tuple(n.strip() for n in (entry["name"], *aliases) if isinstance(n, str) and n.strip())


# --- reading the article ---------------------------------------------------------------------------

def article_paragraphs(text: str, fmt: str) -> list[str]:
    """The article's paragraphs as a reader sees them (Markdown rendered), as the build sees them."""
    return Renderer().reading_paragraphs(text, fmt)


def find_title(text: str, fmt: str, paras: list[str]) -> tuple[str, str]:
    if fmt == "md":
        for line in text.splitlines():
            heading = re.match(r"\s{0,3}#{1,6}\s+(.+?)(?:\s+#+)?\s*$", line)
            if heading:
                return clean_title(re.sub(r"[*_`]", "", heading.group(1))), "the article's first heading"
    for para in paras:
        first = para.strip().split("\n")[0].strip()
        if first:
            return clean_title(first), "the article's first line"
    return PLACEHOLDER_TITLE, "placeholder"


def clean_title(title: str) -> str:
    title = " ".join(title.split())
    if len(title) > 150:
        title = title[:150].rsplit(" ", 1)[0] + "\u2026"
    return title or PLACEHOLDER_TITLE


# --- quotes --------------------------------------------------------------------------------------

OPENING = frozenset("\u201c\u201e\u201f\u00ab\u2018\u201a\u201b\u2039\u301d")
CLOSING = frozenset("\u201d\u00bb\u2019\u203a\u301e\u301f")


def is_open_context(prev: str) -> bool:
    return prev == "" or prev.isspace() or prev in "([{/\u2014\u2013-" or prev in DOUBLE_QUOTES \
        or prev in SINGLE_QUOTES


def find_quotes(para: str, index: int) -> list[Quote]:
    """Passages of one paragraph between quotation marks. A closing mark closes the innermost open
    quote, even of the other kind (`‘...\"` is one quote); a quote closed together with the one
    around it (`“...‘...\"`) stands alone; a properly nested quote stays part of the outer one."""
    stack: list[tuple[int, str]] = []  # (index, kind)
    found: list[tuple[int, int]] = []
    n = len(para)
    for i, ch in enumerate(para):
        if ch in DOUBLE_QUOTES:
            kind = '"'
        elif ch in SINGLE_QUOTES:
            kind = "'"
        else:
            continue
        prev = para[i - 1] if i else ""
        nxt = para[i + 1] if i + 1 < n else ""
        if kind == "'" and prev.isalnum() and nxt.isalnum():
            continue  # an apostrophe: It's, O'Brien
        can_open = is_open_context(prev) and nxt != "" and not nxt.isspace()
        can_close = prev != "" and not prev.isspace() and not nxt.isalnum()
        if ch in OPENING and not (kind == "'" and prev.isalnum()):
            role = "open"
        elif ch in CLOSING and can_close:
            role = "close"
        elif can_close and stack:
            role = "close"
        elif can_open:
            role = "open"
        else:
            continue
        if role == "open":
            stack.append((i, kind))
            continue
        if not stack:
            continue
        top, top_kind = stack[-1]
        if kind != top_kind and kind == "'":
            continue  # a single mark that cannot close a double quote: a plural possessive (leaders')
        stack.pop()
        if kind == '"' and top_kind == "'" and stack and stack[-1][1] == '"':
            stack.pop()  # “He said, ‘go." closes both: the inner quote is the quote
        found = [(a, b) for a, b in found if not (top < a and b < i)]  # nested ones are part of this
        found.append((top, i))
    quotes = []
    for a, b in sorted(found):
        text = " ".join(para[a + 1:b].split()).rstrip(",;:")  # "..., she said": the comma is not the quote's
        if len(WORD_RE.findall(text)) >= MIN_QUOTE_WORDS:
            quotes.append(Quote(text, index, a, b))
    return quotes


# --- actors ----------------------------------------------------------------------------------------

def find_mentions(paras: list[str], actors: dict[str, tuple[str, ...]]) -> list[Mention]:
    specs = tuple(ActorSpec(actor_id, names, "") for actor_id, names in actors.items())
    pattern, owner = mention_pattern(specs)
    if pattern is None:
        return []
    return [Mention(p, m.start(), m.end(), owner[fold(m.group(0))])
            for p, para in enumerate(paras) for m in pattern.finditer(para)]


def find_new_names(paras: list[str], taken: list[Mention]) -> list[str]:
    """Capitalised runs of two or more words not covered by a known actor, titles and
    sentence-start words dropped."""
    names: list[str] = []
    lower_words = {w for para in paras for w in WORD_RE.findall(para) if w.islower()}
    for p, para in enumerate(paras):
        spans = [(m.start, m.end) for m in taken if m.paragraph == p]
        for run in CAP_RUN_RE.finditer(para):
            words = [(w.start() + run.start(), w.end() + run.start(), w.group(0))
                     for w in re.finditer(r"\S+", run.group(0))]
            pieces: list[list[tuple[int, int, str]]] = [[]]
            for word in words:
                if any(a < word[1] and word[0] < b for a, b in spans):
                    pieces.append([])
                else:
                    pieces[-1].append(word)
            for piece in pieces:
                if piece and SENTENCE_START_RE.search(para[:piece[0][0]]) and \
                        (piece[0][2] in NOT_NAMES or piece[0][2].lower() in lower_words):
                    piece = piece[1:]
                while piece and piece[0][2] in NOT_NAMES:
                    piece = piece[1:]
                while piece and piece[-1][2] in NOT_NAMES:
                    piece = piece[:-1]
                if len(piece) >= 2 and not any(w[2] in NOT_NAMES for w in piece):
                    names.append(" ".join(w[2] for w in piece))
    return list(dict.fromkeys(names))


# --- speakers ---------------------------------------------------------------------------------------

def attribute(quotes: list[Quote], paras: list[str], mentions: list[Mention], kinds: dict[str, str],
              order: list[str]) -> None:
    """Give every quote its most likely speaker (see the module doc); `sure` when a speech verb
    names it, otherwise the author is asked to check."""
    by_para: dict[int, list[Mention]] = {}
    for m in mentions:
        by_para.setdefault(m.paragraph, []).append(m)
    quote_spans = {(q.paragraph, q.start, q.end) for q in quotes}

    def inside_quote(p: int, pos: int) -> bool:
        return any(qp == p and a < pos < b for qp, a, b in quote_spans)

    # Actors named with a speech verb ("Wilson denied", "Putin replied"), in reading order: what
    # "she said" refers to.
    speakers: list[tuple[int, int, str]] = []
    for m in mentions:
        if NAME_VERB_RE.match(paras[m.paragraph], m.end) and not inside_quote(m.paragraph, m.start):
            speakers.append((m.paragraph, m.start, m.actor))

    def resolve_pronoun(p: int, pos: int) -> str | None:
        before = [s for s in speakers if (s[0], s[1]) < (p, pos) and kinds.get(s[2]) == "person"]
        if before:
            return before[-1][2]
        persons = [m for m in mentions if (m.paragraph, m.start) < (p, pos) and kinds.get(m.actor) == "person"]
        return persons[-1].actor if persons else None

    previous_end: dict[int, int] = {}
    for q in quotes:
        para = paras[q.paragraph]
        here = by_para.get(q.paragraph, [])
        seg_start = previous_end.get(q.paragraph, 0)
        previous_end[q.paragraph] = q.end + 1
        after = q.end + 1
        # 1. Right after the quote: "..., said X", "..., X said", "..., she said". Not when the quote
        # closes a sentence and a new one starts ('"...boat." Lind replied'): that name introduces
        # what follows.
        new_sentence = para[q.end - 1:q.end] in (".", "!", "?") and re.match(r"\s+[A-Z]", para[after:])
        verb = None if new_sentence else VERB_NAME_RE.match(para, after)
        if verb:
            limit = re.search(r"[.,;:!?]", para[verb.end():])
            stop = verb.end() + (limit.start() if limit else len(para))
            named = [m for m in here if verb.end() <= m.start < stop]
            if named:
                q.speaker, q.why, q.sure = named[0].actor, "named after the quote", True
                continue
        lead = AFTER_NAME_RE.match(para, after).end()
        named = [] if new_sentence else [m for m in here if m.start == lead and NAME_VERB_RE.match(para, m.end)]
        if named:
            q.speaker, q.why, q.sure = named[0].actor, "named after the quote", True
            continue
        if not new_sentence and AFTER_PRONOUN_RE.match(para, after):
            actor = resolve_pronoun(q.paragraph, q.start)
            if actor:
                q.speaker, q.why, q.sure = actor, "'he/she said' after the quote: the last person named speaking", True
                continue
        # 2. Before the quote, the closest "X said" / "she said" since the previous quote.
        pairs = [(m.end, m.actor, "named with a speech verb before the quote") for m in here
                 if seg_start <= m.start and m.end < q.start and not inside_quote(q.paragraph, m.start)
                 and (v := NAME_VERB_RE.match(para, m.end)) and v.end() <= q.start]
        for pron in PRONOUN_VERB_RE.finditer(para, seg_start, q.start):
            actor = resolve_pronoun(q.paragraph, pron.start())
            if actor:
                pairs.append((pron.start(), actor, "'he/she said' before the quote: the last person named speaking"))
        if pairs:
            _, q.speaker, q.why = max(pairs)
            q.sure = True
            continue
        # 3. A speech verb without a name ("..., saying"): the sentence's first person.
        sentence_start = max(seg_start, *(m.end() for m in re.finditer(r"[.!?]\s", para[:q.start])), 0)
        sentence = [m for m in here if sentence_start <= m.start < q.start and kinds.get(m.actor) == "person"]
        if ANY_VERB_RE.search(para, sentence_start, q.start) and sentence:
            q.speaker, q.why, q.sure = sentence[0].actor, "the subject of the sentence with a speech verb", True
            continue
        # 4. A guess: the closest person (or actor) named before the quote, else the first one.
        nearby = [m for m in mentions if (m.paragraph, m.start) < (q.paragraph, q.start)
                  and not inside_quote(m.paragraph, m.start)]
        persons = [m for m in nearby if kinds.get(m.actor) == "person"]
        guess = (persons or nearby)[-1].actor if (persons or nearby) else None
        if guess is None:
            everyone = [a for a in order if kinds.get(a) == "person"] or order
            guess = everyone[0] if everyone else None
        q.speaker, q.why, q.sure = guess, "no speaker named near the quote", False


# --- suggestions --------------------------------------------------------------------------------------

def suggest(text: str, fmt: str, registry: dict[str, dict]) -> Suggestions:
    paras = article_paragraphs(text, fmt)
    title, title_from = find_title(text, fmt, paras)
    result = Suggestions(title, title_from)
    known = {actor_id: registry_names(entry) for actor_id, entry in registry.items()}
    registry_mentions = find_mentions(paras, known)
    counts: dict[str, int] = {}
    for m in registry_mentions:
        counts[m.actor] = counts.get(m.actor, 0) + 1
    # Actors of one briefing may not share a name: keep the first one found.
    used_names: dict[str, str] = {}
    chosen: dict[str, tuple[str, ...]] = {}
    for actor_id in counts:
        folded = {fold(n) for n in known[actor_id]}
        clash = next((used_names[n] for n in folded if n in used_names), None)
        if clash:
            result.skipped_actors.append(f"{actor_id} (shares a name with {clash})")
            continue
        chosen[actor_id] = known[actor_id]
        used_names.update((n, actor_id) for n in folded)
        result.registry_actors.append((actor_id, registry[actor_id]["name"], counts[actor_id]))
    kinds = {actor_id: str(registry[actor_id].get("kind", "other")) for actor_id in chosen}
    for name in find_new_names(paras, find_mentions(paras, known)):
        if fold(name) in used_names:
            continue
        base = slug_suggestion(name)
        actor_id, k = base, 2
        while actor_id in registry or actor_id in chosen:
            actor_id, k = f"{base}-{k}", k + 1
        chosen[actor_id] = (name,)
        used_names[fold(name)] = actor_id
        kinds[actor_id] = "person"
        result.new_actors.append(NewActor(actor_id, name))
    mentions = find_mentions(paras, chosen)
    for actor in result.new_actors:
        actor.count = sum(m.actor == actor.id for m in mentions)
    quotes = [q for p, para in enumerate(paras) for q in find_quotes(para, p)]
    order = list(dict.fromkeys(m.actor for m in mentions))
    attribute(quotes, paras, mentions, kinds, order)
    result.quotes = quotes
    return result


# --- writing YAML -----------------------------------------------------------------------------------

# PyYAML refuses these characters, or reads them as line breaks inside a double-quoted scalar.
YAML_UNSAFE_RE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
                            "|[\u2028\u2029]")


def yaml_str(value: str) -> str:
    """A double-quoted YAML scalar: JSON's string syntax, which YAML reads the same way."""
    return YAML_UNSAFE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", json.dumps(value, ensure_ascii=False))


def comment(text: str) -> str:
    return " ".join(text.split())


def annotations_yaml(s: Suggestions, date: dt.date, article: str, schema_ref: str | None) -> str:
    lines: list[str] = []
    if schema_ref:
        lines.append(f"# yaml-language-server: $schema={schema_ref}")
    else:
        lines.append(f"# (No editor schema was found at {SCHEMA.as_posix()} next to the content folder, "
                     "so there is no yaml-language-server line.)")
    lines += [
        f"# Made by `briefkit new` from {article}. Every line marked '# suggested' is a guess:",
        "# check it against the article, fix or delete it, then run `python build.py check`.",
        "",
        f"title: {yaml_str(s.title)}  # suggested: from {s.title_from}",
        f"date: {date.isoformat()}",
        f"summary: {yaml_str(PLACEHOLDER_SUMMARY)}  # to write: inline Markdown, 1-3 sentences",
        "",
    ]
    if s.registry_actors or s.new_actors:
        lines.append("actors:")
        for actor_id, name, n in s.registry_actors:
            lines.append(f"  - id: {actor_id}  # suggested: {comment(name)} (actors.yaml), "
                         f"{count(n, 'mention')}; add a role")
        for actor in s.new_actors:
            lines += [f"  - id: {actor.id}  # suggested new actor, {count(actor.count, 'mention')}: "
                      "check the name and kind (or move it to actors.yaml)",
                      f"    name: {yaml_str(actor.name)}",
                      "    kind: person  # suggested: a guess"]
        for skipped in s.skipped_actors:
            lines.append(f"  # not added: {comment(skipped)}")
    else:
        lines.append("# actors: none found in the article; add them as `- id: ...` items")
    lines.append("")
    if s.quotes and (s.registry_actors or s.new_actors):
        lines.append("quotes:")
        for q in s.quotes:
            check = "" if q.sure else ": check the speaker"
            lines += [f"  - text: {yaml_str(q.text)}  # suggested",
                      f"    speaker: {q.speaker}  # suggested{check} ({comment(q.why)})"]
    elif s.quotes:
        lines.append("# Quotes found, but no actor to say them: add the actors, then uncomment these.")
        lines.append("# quotes:")
        for q in s.quotes:
            lines += [f"#   - text: {yaml_str(q.text)}", "#     speaker: TODO"]
    else:
        lines.append("# quotes: none found in quotation marks; add them as `- text: ...` with `speaker: <actor id>`")
    return "\n".join(lines) + "\n"
