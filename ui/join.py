"""The address a class opens: the server's own network address (never `localhost`, which on
a student's laptop means the student's laptop), shown in the sidebar with a copy button and as
a QR code big enough to scan from the back of a room; share links are built on it too.
CNN_LAB_JOIN_URL (or `join_url` in .streamlit/secrets.toml) overrides it, e.g. behind a proxy."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Mapping, Sequence
from functools import lru_cache
from urllib.parse import urlsplit

import streamlit as st

# Interfaces that never carry a classroom: containers' and VMs' bridges, VPN tunnels.
_VIRTUAL = ("docker", "br-", "veth", "virbr", "vmnet", "vboxnet", "tun", "tap", "wg", "zt", "utun", "ifb")


def choose_address(interfaces: Mapping[str, Sequence[str]]) -> str | None:
    """The IPv4 address a student's browser is most likely to reach, from {interface: addresses}:
    a private LAN address (192.168/16, 10/8, 172.16/12) on a physical interface first, then any
    other non-loopback, non-link-local address; None when there is none."""
    candidates = []
    for name, addresses in interfaces.items():
        virtual = name.lower().startswith(_VIRTUAL)
        for text in addresses:
            try:
                address = ipaddress.ip_address(text)
            except ValueError:
                continue
            if address.version != 4 or address.is_loopback or address.is_link_local or address.is_unspecified:
                continue
            rank = (virtual, not address.is_private, not text.startswith("192.168."))
            candidates.append((rank, text))
    return min(candidates)[1] if candidates else None


def join_url(setting: str | None, address: str | None, port: int, base_path: str = "") -> str:
    """The URL a class opens: the setting when there is one, else http://address:port/base."""
    if setting:
        return setting.rstrip("/")
    host = address or socket.gethostname()
    path = f"/{base_path.strip('/')}" if base_path.strip("/") else ""
    return f"http://{host}:{port}{path}"


def _interfaces() -> dict[str, list[str]]:
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        return {name: [a.address for a in addresses if a.family == socket.AF_INET]
                for name, addresses in psutil.net_if_addrs().items()}
    try:   # without psutil: the addresses this host's name resolves to
        return {"host": socket.gethostbyname_ex(socket.gethostname())[2]}
    except OSError:
        return {}


def _setting() -> str | None:
    value = os.environ.get("CNN_LAB_JOIN_URL")
    if value:
        return value
    try:
        return str(st.secrets["join_url"]) or None
    except Exception:   # no secrets file, or no such entry
        return None


@lru_cache(maxsize=1)
def _detected() -> str | None:
    return choose_address(_interfaces())


def class_url() -> str:
    """The join address of this server (the setting, or the detected network address)."""
    from streamlit import config

    return join_url(_setting(), _detected(), int(config.get_option("server.port")),
                    config.get_option("server.baseUrlPath") or "")


def page_url(url_path: str) -> str:
    """A page of this app on the join address (what share links start with)."""
    return f"{class_url()}/{url_path}" if url_path else class_url()


@lru_cache(maxsize=8)
def qr_png(url: str) -> bytes:
    """The QR code of `url` as a PNG (segno, a maintained QR library), black on white with the
    quiet zone a phone needs."""
    import io

    import segno

    buffer = io.BytesIO()
    segno.make(url, error="m").save(buffer, kind="png", scale=10, border=4)
    return buffer.getvalue()


def show_qr(url: str, pixels: int, key: str) -> None:
    with st.container(key=key):
        st.image(qr_png(url), width=pixels, caption=None)


def sidebar_join() -> None:
    """The sidebar's "Join this class" panel."""
    url = class_url()
    with st.sidebar.expander("Join this class", icon=":material/qr_code_2:"):
        st.caption("Students open this address (or scan the code) on the same network:")
        st.code(url, language=None)
        show_qr(url, 220, "join_qr_sidebar")
        if urlsplit(url).hostname in (None, "localhost", "127.0.0.1"):
            st.caption("No network address was found: students can only join from this machine. Set "
                       "CNN_LAB_JOIN_URL to the address they should open.")
