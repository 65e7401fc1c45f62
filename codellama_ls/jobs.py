"""Model work for one document: the newest job wins, an edit or a `didClose` cancels it (event loop).

Completions and code actions each keep one `Jobs` table: starting a job for a document cancels the one
it replaces, and every answer is checked with `Job.still_current` before it touches the document, after
the long wait for the model (the document may have been edited, or closed, meanwhile).
"""

from __future__ import annotations

from typing import Generic, TypeVar

from codellama_ls.documents.document import Document, DocumentStore
from codellama_ls.engine.worker import CancelToken

NEWER = "a newer request"
EDITED = "the document changed"
CLOSED = "the document was closed"
STOPPED = "the server stopped it"


class Job:
    """One piece of model work for a document at the version it was read."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.version = doc.version
        self.token = CancelToken()
        self.why: str | None = None
        """Why it was cancelled by us (None: not, or by the client's own `$/cancelRequest`)."""

    def cancel(self, why: str) -> None:
        if not self.token.cancelled:
            self.why = why
        self.token.cancel()

    def still_current(self, documents: DocumentStore) -> bool:
        """The document is still open, the same one, at the version this job read."""
        return still_current(documents, self.doc, self.version)


def still_current(documents: DocumentStore, doc: Document, version: int) -> bool:
    """`doc` is still open (the same object: not closed and opened again) and still at `version`."""
    return doc.version == version and doc.uri in documents and documents.get(doc.uri) is doc


J = TypeVar("J", bound=Job)


class Jobs(Generic[J]):
    """The running job of each document, at most one: the newest wins."""

    def __init__(self) -> None:
        self._running: dict[str, J] = {}

    def start(self, job: J) -> J:
        """Run `job` for its document, cancelling the one it replaces."""
        self.cancel(job.doc.uri, NEWER)
        self._running[job.doc.uri] = job
        return job

    def running(self, uri: str) -> J | None:
        return self._running.get(uri)

    def finish(self, job: J) -> None:
        """The job ended (answered, failed or cancelled): forget it unless a newer one replaced it."""
        if self._running.get(job.doc.uri) is job:
            del self._running[job.doc.uri]

    def cancel(self, uri: str, why: str) -> None:
        job = self._running.pop(uri, None)
        if job is not None:
            job.cancel(why)

    def cancel_all(self, why: str = STOPPED) -> None:
        for uri in list(self._running):
            self.cancel(uri, why)

    def items(self) -> list[tuple[str, J]]:
        return list(self._running.items())
