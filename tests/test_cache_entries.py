"""The cache's entry files: a checked briefing loaded without its HTML, read back from the file."""

from __future__ import annotations

import pickle

from briefkit.cache import DiskStore, pack_entry
from briefkit.diagnostics import Report
from briefkit.loader import content_folders, load_content
from briefkit.model import Briefing
from briefkit.pipeline import BuildOptions, SpooledBriefing, SpooledDocument, checker
from briefkit.search import Document
from briefkit.validation import check_registry

from conftest import EXAMPLE


def checked_entries(tmp_path, spool: bool) -> list:
    folders = content_folders(EXAMPLE, "briefings", Report())
    registry = check_registry(load_content(EXAMPLE, "briefings", Report()), Report())
    return checker(BuildOptions(src=EXAMPLE, out=tmp_path / "site"), spool=spool)(folders, registry)


def test_a_stored_entry_equals_the_checked_one_and_reads_its_html_from_its_file(tmp_path):
    plain = checked_entries(tmp_path, spool=False)
    store = DiskStore(tmp_path / "cache")
    for i, entry in enumerate(checked_entries(tmp_path, spool=True)):  # as the build puts them: spooled
        store.put(f"k{i}", entry)
    store.keep_only({f"k{i}" for i in range(len(plain))})
    store.save()
    again = DiskStore(tmp_path / "cache")
    loaded = [again.get(f"k{i}") for i in range(len(plain))]
    again.release()
    assert loaded == plain and len(plain) >= 3
    for (_, checked, document), (_, want, want_document) in zip(loaded, plain):
        assert type(checked.briefing) is SpooledBriefing and type(document) is SpooledDocument
        assert "article_html" not in vars(checked.briefing) and "html" not in vars(document)
        assert checked.briefing.article_html == want.briefing.article_html and want.briefing.article_html
        assert document.html == want_document.html
        assert repr(checked.briefing) == repr(want.briefing)
        # Pickled elsewhere (to a worker, to serve's memory): the plain objects, HTML and all.
        assert type(pickle.loads(pickle.dumps(checked.briefing))) is Briefing
        assert type(pickle.loads(pickle.dumps(document))) is Document


def test_an_entry_file_is_a_pickle_followed_by_its_texts(tmp_path):
    _, checked, document = entry = checked_entries(tmp_path, spool=False)[0]
    data = pack_entry(entry)
    assert checked.briefing.article_html.encode() + document.html.encode() in data
    assert checked.briefing.article_html.encode() not in data[:data.index(document.html.encode())
                                                               - len(checked.briefing.article_html.encode())]
    assert pickle.loads(data)[1].briefing.slug == checked.briefing.slug  # the texts after it are not read


def test_a_damaged_entry_file_is_a_miss(tmp_path):
    store = DiskStore(tmp_path / "cache")
    store.put("k", checked_entries(tmp_path, spool=False)[0])
    store.keep_only({"k"})
    store.save()
    path = store.path("k")
    whole = path.read_bytes()
    texts = int.from_bytes(whole[-8:], "big")
    for damaged in (whole[:-1], whole[:len(whole) // 2], b"", whole[:-8] + (10 ** 9).to_bytes(8, "big"),
                    whole[:-8] + (texts - 1).to_bytes(8, "big")):  # the texts would start inside the pickle
        path.write_bytes(damaged)
        assert DiskStore(tmp_path / "cache").get("k") is None
    again = DiskStore(tmp_path / "cache")  # a build that finds it damaged writes it again
    assert again.get("k") is None
    again.put("k", checked_entries(tmp_path, spool=False)[0])
    again.keep_only({"k"})
    again.save()
    assert path.read_bytes() == whole and DiskStore(tmp_path / "cache").get("k") is not None


def test_an_entry_another_build_wrote_meanwhile_is_not_replaced(tmp_path):
    """It is named by its content, and that build may read its HTML at its own offsets."""
    entry = checked_entries(tmp_path, spool=False)[0]
    first, second = DiskStore(tmp_path / "cache"), DiskStore(tmp_path / "cache")
    for store in (first, second):
        assert store.get("k") is None
        store.put("k", entry)
        store.keep_only({"k"})
    first.save()
    inode = first.path("k").stat().st_ino
    second.save()
    assert first.path("k").stat().st_ino == inode


def test_unused_entries_are_kept_while_another_build_may_read_them(tmp_path):
    entries = checked_entries(tmp_path, spool=False)[:2]
    first = DiskStore(tmp_path / "cache")
    first.put("old", entries[0])
    first.keep_only({"old"})
    first.save()
    reader = DiskStore(tmp_path / "cache")  # another build, its page of "old" not made yet
    briefing = reader.get("old")[1].briefing
    writer = DiskStore(tmp_path / "cache")
    writer.put("new", entries[1])
    writer.keep_only({"new"})
    writer.save()
    assert writer.path("old").is_file() and writer.path("new").is_file()
    assert briefing.article_html == entries[0][1].briefing.article_html
    reader.release()
    later = DiskStore(tmp_path / "cache")
    assert later.get("new") is not None
    later.keep_only({"new"})
    later.save()
    assert not later.path("old").exists() and later.path("new").is_file()


def test_a_build_that_looked_before_the_cache_existed_keeps_the_entries_another_then_reads(tmp_path):
    entries = checked_entries(tmp_path, spool=False)[:2]
    early = DiskStore(tmp_path / "cache")
    assert early.get("new") is None  # no cache folder yet: nothing to hold
    reader = DiskStore(tmp_path / "cache")  # another build makes the cache and reads from it
    reader.put("theirs", entries[0])
    reader.keep_only({"theirs"})
    reader.save()
    assert reader.get("theirs") is not None
    early.put("new", entries[1])
    early.keep_only({"new"})
    early.save()
    assert early.path("theirs").is_file()  # held by the reader: not deleted
    reader.release()


def test_read_file_reads_files_of_any_size(tmp_path):
    from briefkit.cache import read_file
    for size in (0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 7):
        path = tmp_path / f"f{size}"
        data = bytes(i % 251 for i in range(size))
        path.write_bytes(data)
        assert read_file(str(path)) == data
