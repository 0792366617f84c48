"""Names people typed in Chinese, with an optional English one (categories, departments).

The seed gives both; a name added later without English shows the Chinese one in English pages too.
"""

from __future__ import annotations

from django.utils import translation


def in_english() -> bool:
    return (translation.get_language() or "").startswith("en")


def display_name(name: str, name_en: str) -> str:
    """The English name when the page speaks English and there is one, else the Chinese name."""
    return name_en if name_en and in_english() else name


class NamedInTwoLanguages:
    """A model mixin for a ``name`` with an optional ``name_en``: ``display_name`` in the active language."""

    name: str
    name_en: str

    @property
    def display_name(self) -> str:
        return display_name(self.name, self.name_en)
