"""The per-document job table shared by completions and code actions: newest wins, still current."""

from __future__ import annotations

from lsprotocol import types

from codellama_ls.documents.document import DocumentStore
from codellama_ls.jobs import CLOSED, EDITED, NEWER, Job, Jobs

URI = "file:///tmp/a.py"


def _store() -> DocumentStore:
    store = DocumentStore()
    store.open(URI, "python", 1, "x = 1\n")
    return store


def test_the_newest_job_wins_and_an_old_one_finishing_leaves_it() -> None:
    store, jobs = _store(), Jobs[Job]()
    first = jobs.start(Job(store.get(URI)))
    second = jobs.start(Job(store.get(URI)))
    assert first.token.cancelled and first.why == NEWER and not second.token.cancelled
    jobs.finish(first)
    assert jobs.running(URI) is second
    jobs.finish(second)
    assert jobs.running(URI) is None


def test_an_edit_or_a_close_makes_a_job_stale_and_says_why() -> None:
    store, jobs = _store(), Jobs[Job]()
    job = jobs.start(Job(store.get(URI)))
    assert job.still_current(store)
    store.change(URI, 2, [types.TextDocumentContentChangeWholeDocument(text="y = 2\n")])
    jobs.cancel(URI, EDITED)
    assert not job.still_current(store) and job.why == EDITED

    closing = jobs.start(Job(store.get(URI)))
    store.close(URI)
    jobs.cancel(URI, CLOSED)
    assert not closing.still_current(store) and closing.token.cancelled and closing.why == CLOSED


def test_a_document_opened_again_is_not_the_one_the_job_read() -> None:
    store = _store()
    job = Job(store.get(URI))
    store.close(URI)
    store.open(URI, "python", 1, "x = 1\n")
    assert not job.still_current(store)


def test_the_first_reason_is_kept() -> None:
    store = _store()
    job = Job(store.get(URI))
    job.cancel(CLOSED)
    job.cancel(NEWER)
    assert job.why == CLOSED
