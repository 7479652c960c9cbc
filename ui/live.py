"""What the presenter's and the audience's pages share: the rooms, the join link and its QR code."""
from __future__ import annotations

import io
import ipaddress
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from urllib.parse import urlsplit

import qrcode
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from engine.config import LIVE_PUBLIC_URL_ENV, Environment
from engine.games.rooms import Rooms
from ui.common import store
from ui.layout import TOP_CSS


def _lower_priority() -> None:
    """Background threads yield the CPU to the server's event loop and to the scripts that answer clicks."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


_BACKGROUND = ThreadPoolExecutor(max_workers=1, thread_name_prefix="live-rounds", initializer=_lower_priority)


def in_background(fn, *args) -> Future:
    """Start ``fn`` now, off the script thread: the next round is written while the room votes."""
    return _BACKGROUND.submit(fn, *args)


def visitor() -> str:
    """Who is asking, for engine.games.rooms' limits: the browser's address; behind a proxy on this host or
    network, the client address the proxy added last to X-Forwarded-For; else this session."""
    address = st.context.ip_address if isinstance(st.context.ip_address, str) else None  # None: unknown, or AppTest
    forwarded = (st.context.headers.get("X-Forwarded-For") or "").split(",")[-1].strip()
    try:
        behind_proxy = address is not None and ipaddress.ip_address(address).is_private
    except ValueError:
        behind_proxy = False
    return (forwarded if behind_proxy and forwarded else address) or get_script_run_ctx().session_id


def rooms() -> Rooms:
    return Rooms(store())  # cheap: the store and its connection pool are the cached part


def join_link(code: str) -> str:
    """The audience's link: $PUBLIC_URL (the address behind a proxy), else the one this browser used."""
    base = Environment.read().public_url or (st.context.url or "").rsplit("/", 1)[0]
    return f"{base.rstrip('/')}/join?room={code}"


def loopback_host(link: str) -> str | None:
    """The link's host when it is this computer's own address (localhost, 127.x, ::1), which no phone reaches."""
    host = urlsplit(link).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return host
    try:
        return host if ipaddress.ip_address(host).is_loopback else None
    except ValueError:  # a name, or no host at all
        return None


def loopback_warning(link: str) -> None:
    """Tell the presenter when the join link (and its QR code) points at this computer only."""
    if host := loopback_host(link):
        st.warning(f"Phones cannot open this link: **{host}** is this computer's own address. Set "
                   f"`{LIVE_PUBLIC_URL_ENV}` to the address they reach the app at (see docs/live.md).",
                   icon=":material/wifi_off:")


@st.cache_data(show_spinner=False, max_entries=64)
def qr_png(link: str) -> bytes:
    out = io.BytesIO()
    qrcode.make(link, border=2).save(out, format="PNG")
    return out.getvalue()


def steady() -> None:
    """Keep polled screens from fading each second while they rerun, and start content higher up."""
    st.html(f'<style>[data-testid="stElementContainer"][data-stale="true"] {{ opacity: 1 !important; }}'
            f'{TOP_CSS}</style>')
