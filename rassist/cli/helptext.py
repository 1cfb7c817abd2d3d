"""--help without type noise: typer writes every option's Python type as <bool>, <str>,
<list[Path]>. A flag takes no value, so it shows none; an option shows its metavar, or a plain
word for its kind of value (TEXT, N, NUMBER, PATH); an argument's name says it already."""

from __future__ import annotations

from typing import Any

_WORDS = {"str": "TEXT", "int": "N", "float": "NUMBER", "Path": "PATH"}


def _value_word(param: Any) -> str | None:
    if getattr(param, "metavar", None) is not None:
        return str(param.metavar)
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return None
    bare = str(param.bare_type())
    many = bare.startswith("list[")
    bare = bare[5:-1] if many else bare
    word = _WORDS.get(bare, bare.upper())
    return word + "..." if many else word


def quiet_types() -> None:
    """Install the plainer type column on typer's option and argument classes (idempotent)."""
    from typer import core

    for cls in (core.TyperOption, core.TyperArgument):
        if getattr(cls, "_rassist_quiet", False):
            continue
        original = cls.display_type_rich

        def display_type_rich(self: Any, ctx: Any, _original: Any = original) -> str | None:
            try:
                if isinstance(self, core.TyperArgument):
                    return None  # the argument's name is already in the first column
                return _value_word(self)
            except Exception:  # noqa: BLE001 - help must print whatever typer does next
                return _original(self, ctx)

        cls.display_type_rich = display_type_rich  # type: ignore[method-assign]
        cls._rassist_quiet = True  # type: ignore[attr-defined]
