"""`python build.py new`: the scaffolded annotations are the expected suggestions and build as written."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from briefkit.cli import main  # noqa: E402
from briefkit.scaffold import yaml_str  # noqa: E402

SAMPLE = Path("/work/shared/seeds/article-trump-putin-moscow.txt")
if not SAMPLE.exists():  # the same article as the example briefing
    SAMPLE = REPO / "briefings" / "trump-putin-bomb-moscow" / "article.txt"
REGISTRY = REPO / "briefings" / "actors.yaml"

GUILLEMETS = """\
Veloria rejects harbour plan

Foreign Minister Amara Voss spoke in Port Ellery on Monday. «We will not sign a deal that gives away our fishing grounds», Voss told reporters.

The Kingdom of Karsk answered within hours. Teodor Lind said: «The offer remains on the table for anyone who reads it.»

The crew of the Marta sat it out. «Nobody asked the boats what they think.» Nobody else spoke.
"""

SAID_X = """\
# Harbour fees: *the* union objects

"The fees will ruin small boats before winter," said Jonas Brekke, the union's spokesperson.

"We have heard the fishers and we will answer them," said the Harbour Authority in a statement.

Later, Ingrid Solberg of the Coastal Fishers Union spoke up. "Everyone here knows what this costs," she said.

'This is not a negotiation at all,' Lind said.
"""


def content(tmp_path: Path, registry: bool = True) -> Path:
    src = tmp_path / "content"
    src.mkdir()
    if registry:
        shutil.copy(REGISTRY, src / "actors.yaml")
    return src


def new(src: Path, *args: str) -> int:
    return main(["new", *args, "--src", str(src)])


def annotations(src: Path, slug: str) -> tuple[str, dict]:
    text = (src / slug / "annotations.yaml").read_text(encoding="utf-8")
    return text, yaml.safe_load(text)


def quotes(data: dict) -> dict[str, str]:
    return {q["text"]: q["speaker"] for q in data.get("quotes") or []}


def builds(src: Path, tmp_path: Path, capsys) -> None:
    capsys.readouterr()
    status = main(["build", "--src", str(src), "--out", str(tmp_path / "site"), "--strict"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "0 warnings" in captured.out


def test_sample_article(tmp_path, capsys):
    src = content(tmp_path)
    assert new(src, "trump-moscow", "--article", str(SAMPLE), "--date", "2025-07-09") == 0
    out = capsys.readouterr().out
    assert "created" in out and "annotations.yaml" in out
    assert (src / "trump-moscow" / "article.txt").read_bytes() == SAMPLE.read_bytes()
    text, data = annotations(src, "trump-moscow")
    assert data["title"] == "Donald Trump is said to have told Putin he would 'bomb Moscow' (Image: Getty )"
    assert str(data["date"]) == "2025-07-09"
    found = quotes(data)
    assert found["If you go into Ukraine, I\u2019m going to bomb the sh*t out of Moscow. "
                 "I\u2019m telling you I have no choice."] == "donald-trump"
    assert found["I don't believe you."] == "vladimir-putin"
    pentagon = [t for t in found if t.startswith("It is the job of the Secretary of Defense")]
    assert len(pentagon) == 1 and found[pentagon[0]] == "kingsley-wilson"
    assert found["I\u2019m not happy with him, I can tell you that much right now"] == "donald-trump"
    assert not any(len(t.split()) < 4 for t in found)  # "hit very hard", "believed me 10%" left out
    actors = [a["id"] for a in data["actors"]]
    for actor_id in ("donald-trump", "vladimir-putin", "pete-hegseth", "kingsley-wilson"):
        assert actor_id in actors
    # Every suggestion is marked, and the file builds as written.
    for line in text.splitlines():
        if line.lstrip().startswith(("- id:", "- text:", "speaker:", "title:")):
            assert "# suggested" in line, line
    builds(src, tmp_path, capsys)


def test_guillemets(tmp_path, capsys):
    src = content(tmp_path)
    (tmp_path / "article.txt").write_text(GUILLEMETS, encoding="utf-8")
    assert new(src, "veloria-rejects", "--article", str(tmp_path / "article.txt"), "--date", "2025-01-02") == 0
    text, data = annotations(src, "veloria-rejects")
    assert data["title"] == "Veloria rejects harbour plan"
    assert quotes(data) == {
        "We will not sign a deal that gives away our fishing grounds": "amara-voss",
        "The offer remains on the table for anyone who reads it.": "teodor-lind",
        "Nobody asked the boats what they think.": "teodor-lind",
    }
    assert "    speaker: teodor-lind  # suggested: check the speaker" in text  # no one named near it
    builds(src, tmp_path, capsys)


def test_said_x_order_and_new_actors(tmp_path, capsys):
    src = content(tmp_path)
    (tmp_path / "fees.md").write_text(SAID_X, encoding="utf-8")
    assert new(src, "harbour-fees", "--article", str(tmp_path / "fees.md"), "--date", "2025-01-03") == 0
    assert (src / "harbour-fees" / "article.md").exists()
    text, data = annotations(src, "harbour-fees")
    assert data["title"] == "Harbour fees: the union objects"
    assert quotes(data) == {
        "The fees will ruin small boats before winter": "jonas-brekke",
        "We have heard the fishers and we will answer them": "ellery-harbour-authority",
        "Everyone here knows what this costs": "ingrid-solberg",  # "she said": the last person named
        "This is not a negotiation at all": "teodor-lind",
    }
    assert {"id": "ingrid-solberg", "name": "Ingrid Solberg", "kind": "person"} in data["actors"]
    assert "  - id: ingrid-solberg  # suggested new actor" in text
    assert "Later" not in text
    builds(src, tmp_path, capsys)


def test_without_registry_sentence_start_words_are_not_names(tmp_path, capsys):
    src = content(tmp_path, registry=False)
    article = tmp_path / "a.txt"
    article.write_text("The Harbour Board met.\n\nThe Chairman Olav Dahl said: “We will meet again in spring.”\n",
                       encoding="utf-8")
    assert new(src, "board", "--article", str(article), "--date", "2025-02-01") == 0
    _, data = annotations(src, "board")
    assert [a["name"] for a in data["actors"]] == ["Harbour Board", "Olav Dahl"]
    assert quotes(data) == {"We will meet again in spring.": "olav-dahl"}
    builds(src, tmp_path, capsys)


def test_placeholder_article_builds(tmp_path, capsys):
    src = content(tmp_path)
    assert new(src, "blank", "--date", "2025-03-04") == 0
    assert (src / "blank" / "article.txt").exists()
    _, data = annotations(src, "blank")
    assert data["title"].startswith("TODO")
    builds(src, tmp_path, capsys)


def test_schema_line(tmp_path, capsys):
    src = content(tmp_path)
    assert new(src, "no-schema", "--date", "2025-03-04") == 0
    text, _ = annotations(src, "no-schema")
    assert "$schema" not in text and "No editor schema" in text.splitlines()[0]
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "annotations.schema.json").write_text("{}", encoding="utf-8")
    assert new(src, "with-schema", "--date", "2025-03-04") == 0
    text, _ = annotations(src, "with-schema")
    assert text.splitlines()[0] == "# yaml-language-server: $schema=../../schemas/annotations.schema.json"


def test_hostile_text_stays_text(tmp_path, capsys):
    src = content(tmp_path)
    hostile = 'Title: {a: [b]} # not a comment \\ "x\n\nAmara Voss said: “Here is \\n a back\\slash, # hash, \u2028 and: {yaml: [flow]} &anchor *alias”\n'
    article = tmp_path / "h.txt"
    article.write_text(hostile, encoding="utf-8")
    assert new(src, "hostile", "--article", str(article), "--date", "2025-03-04") == 0
    _, data = annotations(src, "hostile")
    assert data["title"] == 'Title: {a: [b]} # not a comment \\ "x'
    [(text, speaker)] = quotes(data).items()
    assert text == "Here is \\n a back\\slash, # hash, and: {yaml: [flow]} &anchor *alias"
    assert speaker == "amara-voss"
    for value in ("\u2028", "\x85", "\ufeff", "\U0001f600", '"\\'):
        assert yaml.safe_load("v: " + yaml_str(value))["v"] == value


@pytest.mark.parametrize(("args", "message"), [
    (["Bad_Slug!"], "briefkit: error: 'Bad_Slug!' is not a valid slug (lower-case letters, digits and "
                    "hyphens, starting with a letter or digit); try 'bad-slug'\n"),
    (["ok", "--date", "2025-02-30"], "briefkit: error: --date must be a real date written YYYY-MM-DD, "
                                     "not '2025-02-30'\n"),
    (["ok", "--date", "9 July 2025"], "briefkit: error: --date must be a real date written YYYY-MM-DD, "
                                      "not '9 July 2025'\n"),
    (["ok", "--article", "missing.txt"], "briefkit: error: cannot read the article missing.txt: no such file\n"),
    (["ok", "--article", "notes.docx"], "briefkit: error: the article must be a .txt or .md file, not notes.docx\n"),
])
def test_usage_errors(tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notes.docx").write_bytes(b"PK")
    (tmp_path / "content").mkdir()
    assert main(["new", *args, "--src", "content"]) == 2
    captured = capsys.readouterr()
    assert captured.err == message
    assert captured.out == ""
    assert not (tmp_path / "content" / "ok").exists()


def test_existing_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "content" / "taken").mkdir(parents=True)
    assert main(["new", "taken", "--src", "content"]) == 2
    assert capsys.readouterr().err == ("briefkit: error: content/taken already exists; choose another slug "
                                       "or remove that folder first\n")


def test_not_utf8(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin.txt").write_bytes(b"Title\nCaf\xe9\n")
    assert main(["new", "latin", "--article", "latin.txt", "--src", "content"]) == 2
    assert capsys.readouterr().err == ("briefkit: error: the article latin.txt is not UTF-8 text (line 2); "
                                       "save it as UTF-8 and try again\n")


def test_sample_validates_against_the_editor_schema(tmp_path, capsys):
    schema = REPO / "schemas" / "annotations.schema.json"
    checker = Path(sys.executable).parent / "check-jsonschema"
    if not (schema.exists() and checker.exists()):
        pytest.skip("schemas/ or check-jsonschema missing")
    import subprocess  # noqa: PLC0415
    src = content(tmp_path)
    assert new(src, "trump-moscow", "--article", str(SAMPLE), "--date", "2025-07-09") == 0
    result = subprocess.run([str(checker), "--schemafile", str(schema),
                             str(src / "trump-moscow" / "annotations.yaml")],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_name_after_a_finished_quote_starts_the_next_sentence(tmp_path, capsys):
    """'Voss said: "... boat." Lind replied that ...': the quote is Voss's, not Lind's."""
    src = content(tmp_path)
    (tmp_path / "article.txt").write_text(
        "Harbour talks resume\n\nVelorian minister Amara Voss said: \"We will keep the harbour open for every "
        "fishing boat.\" Teodor Lind replied that \"Karsk wants a fair deal for its fishers,\" adding more.\n",
        encoding="utf-8")
    assert new(src, "talks-resume", "--article", str(tmp_path / "article.txt"), "--date", "2025-10-01") == 0
    _, data = annotations(src, "talks-resume")
    assert quotes(data) == {"We will keep the harbour open for every fishing boat.": "amara-voss",
                            "Karsk wants a fair deal for its fishers": "teodor-lind"}
    builds(src, tmp_path, capsys)
