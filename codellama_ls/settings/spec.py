"""What the schema knows about one setting beyond its type and default.

`config.Settings` declares every setting with `setting(default, doc, ...)`: the dataclass field
gives the type and default, and its metadata holds a `Spec` with the rest. Validation ranges,
the fields that reload the model, the CLI's choice lists and every settings table in the
documentation come from there (`schema_docs` writes and checks the documents).
"""

from __future__ import annotations

from dataclasses import Field, dataclass, field
from typing import Any, Literal

# VS Code's configuration scopes (package.json `contributes.configuration`).
# `machine`: user settings only, so a repository's .vscode/settings.json cannot choose it.
Scope = Literal["application", "machine", "machine-overridable", "window", "resource", "language-overridable"]

_SPEC = "codellama_ls.spec"


@dataclass(frozen=True)
class Spec:
    doc: str
    """One line, lower-case, markdown: the README tables and VS Code's description."""
    range: tuple[float, float] | None = None
    """Inclusive bounds of a numeric setting."""
    reload: bool = False
    """Changing it loads the model again."""
    scope: Scope = "window"
    default_doc: str = ""
    """How the tables show the default when the literal value would mislead (an empty string)."""
    vscode: str = ""
    """A sentence for VS Code users only (its description and README)."""
    choice_docs: tuple[str, ...] = ()
    """VS Code's enumDescriptions, one per choice."""
    examples: tuple[str, ...] = ()


def setting(default: Any, doc: str, **spec: Any) -> Any:
    """A `Settings` field: its default and its `Spec` (typed `Any` so the annotation stays the field's type)."""
    return field(default=default, metadata={_SPEC: Spec(doc, **spec)})


def spec_of(settings_field: Field[Any]) -> Spec:
    spec = settings_field.metadata.get(_SPEC)
    if not isinstance(spec, Spec):
        raise TypeError(f"setting {settings_field.name!r} is not declared with setting(default, doc, ...)")
    return spec
