"""Text that comes from outside (a student's model name, a lesson's note, a link) shown as
text: Streamlit renders markdown (links, images, :material/icons:) in st.markdown, st.success
and friends, so such text is escaped before it is put into a message."""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~:$=&^])")


def plain(text: object, limit: int = 200) -> str:
    """`text` as literal characters inside markdown, cut to `limit` characters, on one line."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    return _MARKDOWN.sub(r"\\\1", value)


_NOT_LABEL = re.compile(r"[^\w\s.,()'\-]")


def label(text: object, limit: int = 80) -> str:
    """A short description that is safe in any place (markdown or not): letters, digits, spaces
    and . , ( ) ' - only; anything else becomes “?”. For names that travel to other sessions."""
    value = " ".join(str(text).split())[:limit]
    return _NOT_LABEL.sub("?", value)
