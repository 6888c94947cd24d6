"""What every page runs inside: links applied before it, the sidebar, the presenter's bar,
and the page's state mirrored into the link after it."""

from __future__ import annotations

from collections.abc import Callable

from ui import presenter
from ui.models import sidebar, sidebar_device_line
from ui.teacher import sidebar_unlock


def frame(url_path: str, run_page: Callable[[], object]) -> None:
    presenter.open_link(url_path)   # before any widget: a link sets the widgets' values
    sidebar()
    sidebar_unlock()
    link_slot = presenter.scene_panel(url_path)
    presenter.presenter_bar(url_path)
    presenter.show_link_problems()
    run_page()
    presenter.mirror_in_link(url_path, link_slot)
    sidebar_device_line()   # last: it imports torch, which the first page a student sees may not need
