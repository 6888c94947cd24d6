"""Pages under Streamlit's AppTest, as the page tests run them."""

import time

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from tests.shipped import ROOT

TIMEOUT = 120


@pytest.fixture(autouse=True)
def fresh_caches():
    """Each test starts with empty Streamlit caches (a module that imports this gets it for all its tests)."""
    st.cache_resource.clear()
    st.cache_data.clear()
    yield


def run(page: str, **state) -> AppTest:
    """`page` (a path from the repository root) run once with `state` in its session, no exception allowed."""
    at = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT)
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def run_until(at: AppTest, condition, timeout: float = 120) -> AppTest:
    """Rerun `at` every half second, as a page's polling fragment would, until `condition(at)` holds."""
    deadline = time.monotonic() + timeout
    while not condition(at):
        assert time.monotonic() < deadline, "the page never got there"
        time.sleep(0.5)
        at.run()
        assert not at.exception, [e.value for e in at.exception]
    return at
