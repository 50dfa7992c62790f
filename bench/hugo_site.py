"""The Hugo side of `BENCH_HUGO=1`: the same corpus as a Hugo site with comparable pages.

One page per briefing (its title, date, summary, the article as Markdown, its quotes listed),
`tags` and `actors` taxonomies (a page per tag and per actor listing its briefings, and the
two taxonomy index pages), a home page listing every briefing, all paginated by 50 as
Briefkit's listings are. Layouts are minimal; Hugo's own search (none) is not counted.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

LAYOUTS = {
    "baseof.html": "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{{ .Title }}</title>"
                   "</head><body><header><a href=\"{{ site.Home.RelPermalink }}\">{{ site.Title }}</a></header>"
                   "<main>{{ block \"main\" . }}{{ end }}</main></body></html>\n",
    "page.html": "{{ define \"main\" }}<article><h1>{{ .Title }}</h1><p><time>{{ .Date.Format \"2 January 2006\" }}"
                 "</time></p><p>{{ .Params.summary }}</p>{{ .Content }}<h2>Quotes</h2><ol>{{ range .Params.quotes }}"
                 "<li><blockquote>{{ .text }}</blockquote> {{ .speaker }}</li>{{ end }}</ol><ul>"
                 "{{ range .GetTerms \"actors\" }}<li><a href=\"{{ .RelPermalink }}\">{{ .LinkTitle }}</a></li>{{ end }}"
                 "</ul><ul>{{ range .GetTerms \"tags\" }}<li><a href=\"{{ .RelPermalink }}\">{{ .LinkTitle }}</a></li>"
                 "{{ end }}</ul></article>{{ end }}\n",
    "_partials/listing.html": "<ol>{{ range .Paginator.Pages }}<li><h2><a href=\"{{ .RelPermalink }}\">{{ .Title }}"
                              "</a></h2><p>{{ .Date.Format \"2 January 2006\" }}</p><p>{{ .Params.summary }}</p>"
                              "</li>{{ end }}</ol>{{ with .Paginator }}{{ with .Prev }}<a rel=\"prev\" "
                              "href=\"{{ .URL }}\">Newer</a>{{ end }}{{ with .Next }}<a rel=\"next\" "
                              "href=\"{{ .URL }}\">Older</a>{{ end }}{{ end }}\n",
    "home.html": "{{ define \"main\" }}<h1>{{ site.Title }}</h1>{{ partial \"listing.html\" . }}{{ end }}\n",
    "section.html": "{{ define \"main\" }}<h1>{{ .Title }}</h1>{{ partial \"listing.html\" . }}{{ end }}\n",
    "term.html": "{{ define \"main\" }}<h1>{{ .Title }}</h1>{{ partial \"listing.html\" . }}{{ end }}\n",
    "taxonomy.html": "{{ define \"main\" }}<h1>{{ .Title }}</h1><ul>{{ range .Data.Terms.ByTitle }}<li><a href=\""
                     "{{ .Page.RelPermalink }}\">{{ .Page.Title }}</a> ({{ .Count }})</li>{{ end }}</ul>{{ end }}\n",
}

CONFIG = """\
baseURL = "https://bench.example.org/"
title = "Bench"
disableKinds = ["RSS", "sitemap", "robotsTXT"]
[pagination]
pagerSize = 50
[taxonomies]
tag = "tags"
actor = "actors"
"""


def write_hugo_site(content: Path, root: Path) -> Path:
    """Write a Hugo site under root from a Briefkit content folder; returns root."""
    names = {key: value["name"] for key, value in
             (yaml.safe_load((content / "actors.yaml").read_text(encoding="utf-8")) or {}).items()}
    (root / "content" / "briefings").mkdir(parents=True, exist_ok=True)
    (root / "hugo.toml").write_text(CONFIG, encoding="utf-8")
    for name, text in LAYOUTS.items():
        path = root / "layouts" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for folder in sorted(p for p in content.iterdir() if p.is_dir() and not p.name.startswith(".")):  # not .git
        data = yaml.safe_load((folder / "annotations.yaml").read_text(encoding="utf-8"))
        article = next(folder / n for n in ("article.md", "article.txt") if (folder / n).is_file())
        front = {
            "title": data["title"], "date": str(data["date"]), "summary": data.get("summary", ""),
            "tags": data.get("tags", []), "actors": [names.get(a["id"], a.get("name", a["id"])) for a in data["actors"]],
            "quotes": [{"text": q["text"], "speaker": names.get(q["speaker"], q["speaker"])} for q in data["quotes"]],
        }
        (root / "content" / "briefings" / f"{folder.name}.md").write_text(
            json.dumps(front, ensure_ascii=False, indent=1) + "\n\n" + article.read_text(encoding="utf-8"),
            encoding="utf-8")
    return root
