"""Code actions on the event loop: listing them, running one as a command, applying its edit.

Each action is a command (`workspace/executeCommand`), answered at once: the work goes on in the
background under a cancellable `$/progress`, asks the engine worker (the same loaded model as
completions), and applies the result with `workspace/applyEdit` as a versioned edit, so neither we
nor the client touch a document that changed meanwhile. Explanations are shown with
`window/showMessage`. `codeAction/resolve` fills in the command of an action listed lazily (the
enclosing function is looked up only for the action picked).

Edit by instruction needs text from the user: its action carries the client-side command
`codellama.editWithInstruction`, which each editor integration implements by prompting
(VS Code input box, Neovim `vim.ui.input`, Emacs `read-string`) and calling `codellama.edit`
with the instruction added to the arguments.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from typing import Any

from lsprotocol import types

from codellama_ls.actions.instructions import TITLES, ActionKind, Target, comment_request, target_of
from codellama_ls.actions.pipeline import ActionRequest, ActionResult, run_action, run_comment
from codellama_ls.completion.lifecycle import Suggestion
from codellama_ls.completion.pipeline import sampling_of
from codellama_ls.documents import syntax
from codellama_ls.documents.document import Document, UnknownDocument
from codellama_ls.documents.positions import PositionError
from codellama_ls.engine.base import Engine
from codellama_ls.engine.worker import CancelToken
from codellama_ls.jobs import CLOSED, EDITED, Job, Jobs
from codellama_ls.settings.config import Settings

log = logging.getLogger(__name__)

COMMANDS = {
    ActionKind.EXPLAIN: "codellama.explain",
    ActionKind.DOCSTRING: "codellama.docstring",
    ActionKind.TESTS: "codellama.tests",
    ActionKind.EDIT: "codellama.edit",
}
PROMPT_COMMAND = "codellama.editWithInstruction"
"""Client-side: prompts for the instruction, then runs `codellama.edit` with it."""

KINDS = {
    ActionKind.EXPLAIN: "refactor.codellama.explain",
    ActionKind.DOCSTRING: "refactor.rewrite.codellama.docstring",
    ActionKind.TESTS: "refactor.codellama.tests",
    ActionKind.EDIT: "refactor.rewrite.codellama.edit",
}


def _wanted(kind: str, only: list[str] | None) -> bool:
    return not only or any(kind == want or kind.startswith(want + ".") for want in only)


class CodeActions:
    """Needs the session's documents, settings, models and `tell`, and the server to talk back."""

    def __init__(self, server: Any, session: Any) -> None:
        self._server = server
        self._session = session
        self._jobs: Jobs[Job] = Jobs()
        """The action running for each document: the newest wins, an edit or a close cancels it."""
        self._tasks: set[asyncio.Task[None]] = set()
        """Actions running in the background (a task nobody holds may be collected)."""

    # -- listing ------------------------------------------------------------------

    def list(self, params: types.CodeActionParams, resolve_support: bool) -> list[types.CodeAction]:
        uri = params.text_document.uri
        try:
            doc = self._session.documents.get(uri)
        except UnknownDocument:
            return []
        if doc.skip_reason or not self._session.settings.enabled:
            return []
        automatic = params.context.trigger_kind == types.CodeActionTriggerKind.Automatic
        if automatic and not self._session.models.follows_instructions(self._session.settings):
            # No light bulb on every line for a model that cannot do them; asked for (Ctrl+.), they
            # are listed, and running one says what to configure.
            return []
        only = [str(k) for k in params.context.only] if params.context.only else None
        rng = params.range
        args = {
            "uri": uri,
            "version": doc.version,
            "range": {
                "start": {"line": rng.start.line, "character": rng.start.character},
                "end": {"line": rng.end.line, "character": rng.end.character},
            },
        }
        actions = []
        for kind, title in TITLES.items():
            code_kind = KINDS[kind]
            if not _wanted(code_kind, only):
                continue
            action = types.CodeAction(title=title, kind=code_kind, data={"action": kind.value, **args})
            if not resolve_support:
                action = self.resolve(action)
            actions.append(action)
        return actions

    def resolve(self, action: types.CodeAction) -> types.CodeAction:
        """The command for a listed action, its range widened to the enclosing function now."""
        data = action.data if isinstance(action.data, dict) else {}
        try:
            kind = ActionKind(data.get("action"))
        except ValueError:
            return action
        args = dict(data)
        args.pop("action", None)
        found = self._locate(args)
        if isinstance(found, tuple):
            doc, target = found
            start, end = doc.position_at(target.start), doc.position_at(target.end)
            args["range"] = {
                "start": {"line": start[0], "character": start[1]},
                "end": {"line": end[0], "character": end[1]},
            }
        command = PROMPT_COMMAND if kind is ActionKind.EDIT else COMMANDS[kind]
        action.command = types.Command(title=action.title, command=command, arguments=[args])
        return action

    # -- running ------------------------------------------------------------------

    def _locate(self, args: dict[str, Any]) -> tuple[Document, Target] | str:
        """The document and target the arguments name, or why there is none."""
        try:
            doc = self._session.documents.get(str(args["uri"]))
            version = args.get("version")
            if version is not None and version != doc.version:
                return "the document changed since the action was offered; ask for it again"
            rng = args["range"]
            start = doc.offset_at(int(rng["start"]["line"]), int(rng["start"]["character"]))
            end = doc.offset_at(int(rng["end"]["line"]), int(rng["end"]["character"]))
        except UnknownDocument as exc:
            return f"{exc}"
        except (KeyError, TypeError, ValueError, PositionError) as exc:
            return f"invalid code action arguments ({exc})"
        scope = None
        spec, tree = doc.language, doc.tree
        if start == end and spec is not None and tree is not None:
            spans = syntax.enclosing_scopes(tree, spec, doc.byte_offset(start), source=doc.source_bytes)
            if spans:
                scope = (doc.offset_of_byte(spans[0].start), doc.offset_of_byte(spans[0].end))
        target = target_of(doc.text, start, end, scope)
        if target is None:
            return "select some code, or put the cursor inside a function"
        return doc, target

    def start(self, kind: ActionKind, args: dict[str, Any]) -> None:
        """Run an action in the background and let its command be answered at once: Eglot waits
        for a command's answer with the editor frozen, and a client's own progress token lives
        only until that answer. The work reports under our own cancellable `$/progress`; its edit
        comes as `workspace/applyEdit`, its explanation as `window/showMessage`."""
        task = asyncio.get_running_loop().create_task(self._execute_logged(kind, args))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute_logged(self, kind: ActionKind, args: dict[str, Any]) -> None:
        try:
            await self.execute(kind, args)
        except asyncio.CancelledError:
            pass
        except Exception as exc:  # never lost silently: nobody awaits this task
            log.exception("code action failed")
            self._show(f"{TITLES[kind]} failed: {exc}", types.MessageType.Error)

    async def execute(
        self, kind: ActionKind, args: dict[str, Any], progress_token: types.ProgressToken | None = None
    ) -> Any:
        """Run an action; its edit is applied here. Returns the explanation's Markdown (explain),
        else whether an edit was applied; problems are shown to the user and answer null."""
        if kind is ActionKind.EDIT and not str(args.get("instruction") or "").strip():
            self._session.tell(
                "edit by instruction needs the instruction: this editor did not ask for it (see the README "
                "on code actions for your editor)",
                types.MessageType.Warning,
            )
            return None
        found = self._locate(args)
        if isinstance(found, str):
            # Its progress still begins and ends: every command's progress says how it went.
            progress = await self._begin_progress(kind, CancelToken(), progress_token)
            self._show(found, types.MessageType.Warning)
            if progress is not None:
                self._end_progress(progress, "not run")
            return None
        doc, target = found
        # The job is the document's from now on, while a model loads too: a newer action, an edit or
        # a close cancels it.
        job = self._jobs.start(Job(doc))
        # At once, before a model loads: the user sees the work and can cancel it from the start.
        progress = await self._begin_progress(kind, job.token, progress_token)
        outcome: dict[str, str] = {}
        try:
            return await self._work(kind, args, job, target, progress, outcome)
        finally:
            self._jobs.finish(job)
            if progress is not None:
                self._end_progress(progress, outcome.get("end") or ("cancelled" if job.token.cancelled else "done"))

    async def _work(
        self,
        kind: ActionKind,
        args: dict[str, Any],
        job: Job,
        target: Target,
        progress: types.ProgressToken | None,
        outcome: dict[str, str],
    ) -> Any:
        session = self._session
        token = job.token
        worker = await session.models.for_instructions(session.settings)
        if worker is None or token.cancelled or not job.still_current(session.documents):
            outcome["end"] = "not run"
            return None
        doc = job.doc
        spec = doc.language
        request = ActionRequest(
            kind,
            target,
            doc.text,
            spec.name if spec is not None else doc.language_id,
            spec,
            str(args.get("instruction") or ""),
            key=f"instruct:{doc.uri}",
            source=doc.source_bytes,
            anchor=(target.start, doc.byte_offset(target.start)),
        )
        settings = session.settings
        sampling = dataclasses.replace(sampling_of(settings), max_tokens=settings.instruct_max_tokens)
        loop = asyncio.get_running_loop()
        last = {"at": 0.0}

        def on_text(text: str) -> None:
            now = time.monotonic()
            if progress is None or now - last["at"] < 0.2:
                return
            last["at"] = now
            tail = text.strip().splitlines()[-1:] or [""]
            loop.call_soon_threadsafe(self._report, progress, f"{len(text)} characters: {tail[0][:60]}")

        def work(engine: Engine) -> ActionResult:
            return run_action(engine, request, sampling, token, on_text)

        try:
            result = await asyncio.shield(worker.run(work))
        except asyncio.CancelledError:
            token.cancel()  # the server is closing: the worker stops at its next check
            raise
        except Exception as exc:
            log.exception("code action failed")
            self._show(f"{TITLES[kind]} failed: {exc}", types.MessageType.Error)
            outcome["end"] = "failed"
            return None
        log.info(
            "action %s: %d tokens in %.0f ms%s",
            kind.value,
            result.generated_tokens,
            result.total_ms,
            f" ({result.error})" if result.error else "",
        )
        if job.why == EDITED:
            self._show("the document changed while the model worked; nothing was applied", types.MessageType.Warning)
            outcome["end"] = "the document changed"
            return None
        if result.cancelled or token.cancelled:
            return None
        if result.error:
            self._show(result.error, types.MessageType.Warning)
            outcome["end"] = "nothing applied"
            return None
        if kind is ActionKind.EXPLAIN:
            self._show(result.markdown, types.MessageType.Info, prefix=False)
            return result.markdown
        if not job.still_current(session.documents):
            self._show("the document changed while the model worked; nothing was applied", types.MessageType.Warning)
            outcome["end"] = "the document changed"
            return None
        applied = await self._apply(doc, job.version, result)
        outcome["end"] = "done" if applied else "not applied"
        return applied

    async def _apply(self, doc: Document, version: int, result: ActionResult) -> bool:
        start, end = doc.position_at(result.start), doc.position_at(result.end)
        edit = types.TextEdit(range=types.Range(types.Position(*start), types.Position(*end)), new_text=result.new_text)
        workspace_edit = types.WorkspaceEdit(
            document_changes=[
                types.TextDocumentEdit(
                    text_document=types.OptionalVersionedTextDocumentIdentifier(uri=doc.uri, version=version),
                    edits=[edit],
                )
            ]
        )
        try:
            answer = await self._server.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(edit=workspace_edit, label=TITLES[result.kind])
            )
        except Exception as exc:
            log.warning("workspace/applyEdit failed: %s", exc)
            self._show(f"the editor did not apply the edit: {exc}", types.MessageType.Warning)
            return False
        applied = bool(getattr(answer, "applied", False))
        if not applied:
            reason = getattr(answer, "failure_reason", None)
            self._show(f"the editor did not apply the edit{f': {reason}' if reason else ''}", types.MessageType.Warning)
        return applied

    # -- code from a comment ---------------------------------------------------------

    async def code_from_comment(self, uri: str, position: types.Position) -> Suggestion | None:
        """On an explicit request on a blank line below a comment, the code the comment describes,
        written by the instruct model, and where it goes; None when this is not such a request
        (or no model follows instructions), so the completion model answers instead."""
        session = self._session
        try:
            doc = session.documents.get(uri)
            offset = doc.offset_at(position.line, position.character)
        except (UnknownDocument, PositionError):
            return None
        spec = doc.language
        if doc.skip_reason or spec is None:
            return None
        request = comment_request(
            doc.text, offset, spec.line_comment, spec.block_comment[1] if spec.block_comment else None
        )
        if request is None or not session.models.follows_instructions(session.settings):
            return None
        worker = await session.models.for_instructions(session.settings)
        if worker is None:
            return None
        settings: Settings = session.settings
        sampling = dataclasses.replace(sampling_of(settings), max_tokens=settings.instruct_max_tokens)
        job = self._jobs.start(Job(doc))
        token = job.token
        # The document as it is now (a snapshot): the loop edits it while the model writes.
        text, source, anchor = doc.text, doc.source_bytes, (offset, doc.byte_offset(offset))

        def work(engine: Engine) -> ActionResult:
            return run_comment(
                engine, request, text, spec.name, spec, sampling, token, f"instruct:{uri}", source, anchor
            )

        try:
            result = await asyncio.shield(worker.run(work))
        except asyncio.CancelledError:
            token.cancel()
            raise
        finally:
            self._jobs.finish(job)
        log.info("code from a comment: %d tokens in %.0f ms %s", result.generated_tokens, result.total_ms, result.error)
        if result.error or result.cancelled or token.cancelled or not result.new_text:
            return None
        if not job.still_current(session.documents):  # edited or closed meanwhile
            return None
        at = doc.position_at(offset)
        return Suggestion(result.new_text, at, at)

    def document_changed(self, uri: str) -> None:
        """An edit makes the running action's result useless: stop it now rather than drop it later."""
        self._jobs.cancel(uri, EDITED)

    def document_closed(self, uri: str) -> None:
        self._jobs.cancel(uri, CLOSED)

    def cancel_all(self) -> None:
        self._jobs.cancel_all()

    # -- talking back ---------------------------------------------------------------

    def _show(self, message: str, kind: types.MessageType, prefix: bool = True) -> None:
        # Not `tell`: every answer is news, and the same problem can recur action after action.
        log.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, "%s", message[:200])
        try:
            text = f"codellama-ls: {message}" if prefix else message
            self._server.window_show_message(types.ShowMessageParams(type=kind, message=text))
        except Exception:  # no client connected (unit tests) or a closed pipe
            log.debug("could not show message", exc_info=True)

    async def _begin_progress(
        self, kind: ActionKind, token: CancelToken, given: types.ProgressToken | None
    ) -> types.ProgressToken | None:
        progress = self._server.work_done_progress
        progress_token = given
        try:
            if progress_token is None:
                if not self._session.progress_supported:
                    return None
                progress_token = f"codellama-ls/action/{uuid.uuid4()}"
                await progress.create_async(progress_token)
            progress.begin(
                progress_token,
                types.WorkDoneProgressBegin(title=TITLES[kind], message="waiting for the model", cancellable=True),
            )
        except Exception:  # the client refused or does not answer: run without progress
            log.debug("no progress for the action", exc_info=True)
            return None
        cancelled = progress.tokens.get(progress_token)
        if cancelled is not None:
            # window/workDoneProgress/cancel cancels this future (pygls).
            cancelled.add_done_callback(lambda future: token.cancel() if future.cancelled() else None)
        return progress_token

    def _report(self, progress_token: types.ProgressToken, message: str) -> None:
        try:
            self._server.work_done_progress.report(progress_token, types.WorkDoneProgressReport(message=message))
        except Exception:
            log.debug("progress report failed", exc_info=True)

    def _end_progress(self, progress_token: types.ProgressToken, message: str) -> None:
        try:
            self._server.work_done_progress.end(progress_token, types.WorkDoneProgressEnd(message=message))
            self._server.work_done_progress.tokens.pop(progress_token, None)
        except Exception:
            log.debug("progress end failed", exc_info=True)
