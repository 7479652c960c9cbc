"""A browser tab without a browser: one session of a Streamlit app through its own websocket.

bench/crowd.py (quiz players) and bench/live_room.py (the phones in a live room) run many of these
from one process: no Chromium, so the machine's cores go to the app servers. A Session speaks the
protocol of /_stcore/stream (protobuf BackMsg out, ForwardMsg in, streamlit.proto) and keeps what a
tab keeps, the way Streamlit's frontend (1.67: App, WidgetStateManager) does:

- the page on screen: the elements of the last runs by delta path, each with the fragment it is in;
  when a run (or a fragment's run) finishes, elements it did not send again are dropped, as are
  the values of widgets no longer on the page;
- the page: the first rerun names it as the URL path would (page_name, with the URL's query
  string); later reruns send its script hash and the query string as the app last set it
  (page_info_changed: st.query_params);
- widget values: text inputs, checkboxes/toggles and select boxes report their first value when
  they appear (the server keeps other kinds' last values itself); every rerun sends all of them; a
  form's inputs are kept aside until its submit button is pressed, then go out with its trigger;
- a button press is trigger_value on the button's id, in that one rerun only, with the id of the
  fragment the button is in (the button's delta.fragment_id), so only that fragment reruns;
- auto_rerun (``@st.fragment(run_every=...)``): every ``interval`` seconds a rerun with the
  fragment's id, is_auto_rerun and the current widget values, whether or not the last one was
  answered (the browser's setInterval); a whole run's start cancels the timers (the run announces
  its fragments again), stop_auto_rerun cancels one.

Compared with what headless Chromium sends on /join (its frames decoded): the same messages, field
for field. Not done: the message cache (a browser may list messages it holds, to get references
back; Chromium listed none here), heartbeats, other widget kinds' values, anything media. Waiting
(``wait_for``) looks at the page after each finished run, never at a half-drawn one.
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


@dataclass
class Shown:
    """One element on the page: its kind ("button", "alert", "text_input", ...) and proto."""

    kind: str
    proto: object
    fragment_id: str  # "" outside fragments
    run: str  # the script run that sent it

    @property
    def id(self) -> str:
        return getattr(self.proto, "id", "")

    @property
    def key(self) -> str:
        """The widget's user key (element ids are "$$ID-<hash>-<key>"); "None" without one."""
        return self.id.split("-", 2)[2] if self.id.count("-") >= 2 else ""

    @property
    def text(self) -> str:
        return getattr(self.proto, "body", "") or getattr(self.proto, "label", "")


class Session:
    """One tab: rerun requests out, page elements in. Open with ``await Session.open(...)``."""

    def __init__(self, ws, url: str, page: str = "", query_string: str = ""):
        self.ws, self.url = ws, url
        self.page_name, self.page_hash, self.query_string = page, "", query_string
        self.elements: dict[tuple[int, ...], Shown] = {}
        self.widget_states: dict[str, WidgetState] = {}  # what every rerun sends
        self.form_states: dict[str, dict[str, WidgetState]] = {}  # typed into forms, not yet submitted
        self.run_id, self.run_fragments = "", ()
        self.finished = 0  # runs (whole or fragment) finished
        self.error: str | None = None
        self._timers: dict[str, tuple[float, asyncio.Task]] = {}  # fragment id -> (interval, task)
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task | None = None

    @classmethod
    async def open(cls, url: str, page: str = "", query_string: str = "", open_timeout: float = 60) -> Session:
        """Connect to the app at ``url`` (http://host:port); nothing runs until the first rerun."""
        ws = await websockets.connect(f"{url.replace('http', 'ws', 1)}/_stcore/stream", subprotocols=["streamlit"],
                                      max_size=None, open_timeout=open_timeout, ping_interval=None)
        session = cls(ws, url, page, query_string)
        session._reader = asyncio.create_task(session._read())
        return session

    async def close(self) -> None:
        tasks = [timer for _, timer in self._timers.values()]
        if self._reader:
            tasks.append(self._reader)
        self._timers.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.ws.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    # what is on the page -------------------------------------------------------------------------
    def find(self, kind: str, label: str | None = None, key: str | None = None) -> Shown | None:
        for shown in self.elements.values():
            if shown.kind == kind and label in (None, shown.text) and key in (None, shown.key):
                return shown
        return None

    def shows(self, text: str) -> bool:
        return any(text in shown.text for shown in self.elements.values())

    @property
    def buttons(self) -> dict[str, str]:
        """The keyed buttons on the page: key -> element id."""
        return {s.key: s.id for s in self.elements.values() if s.kind == "button" and s.key != "None"}

    @property
    def alerts(self) -> list[str]:
        return [s.proto.body for s in self.elements.values() if s.kind == "alert"]

    # acting ---------------------------------------------------------------------------------------
    async def rerun(self, trigger: str | None = None, fragment_id: str = "", auto: bool = False) -> None:
        """Ask for a rerun (of one fragment if ``fragment_id``), as the browser does; doesn't wait."""
        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = self.query_string
        if self.page_hash:
            state.page_script_hash = self.page_hash
        else:  # the first run: the page as the URL names it
            state.page_name = self.page_name
        state.fragment_id, state.is_auto_rerun = fragment_id, auto
        state.widget_states.widgets.extend(self.widget_states.values())
        if trigger:
            state.widget_states.widgets.add(id=trigger, trigger_value=True)
        state.context_info.timezone, state.context_info.timezone_offset = "UTC", 0
        state.context_info.locale, state.context_info.url = "en-US", f"{self.url}/{self.page_name}"
        state.context_info.is_embedded, state.context_info.color_scheme = False, "light"
        await self.ws.send(msg.SerializeToString())

    async def click(self, label: str | None = None, key: str | None = None) -> None:
        """Press a button (a form's submit button sends the form's values too); doesn't wait."""
        button = self._require("button", label, key)
        if button.proto.is_form_submitter:
            self.widget_states.update(self.form_states.pop(button.proto.form_id, {}))
        await self.rerun(trigger=button.id, fragment_id=button.fragment_id)

    async def fill(self, label: str | None = None, value: str = "", key: str | None = None) -> None:
        """Type into a text input: kept for the form's submit, or sent at once outside a form."""
        box = self._require("text_input", label, key)
        state = WidgetState(id=box.id, string_value=value)
        if box.proto.form_id:
            self.form_states.setdefault(box.proto.form_id, {})[box.id] = state
        else:
            self.widget_states[box.id] = state
            await self.rerun(fragment_id=box.fragment_id)

    async def run(self, trigger: str | None = None) -> None:
        """Rerun (pressing the button with key ``trigger``) and wait until a run finishes.

        For pages without timers: with auto reruns going, the run that finishes may be another one.
        """
        done = self.finished
        if trigger:
            await self.click(key=trigger)
        else:
            await self.rerun()
        await self.wait_for(lambda s: s.finished > done)

    async def wait_for(self, predicate: Callable[[Session], object], timeout: float | None = None) -> None:
        """Wait until ``predicate(self)`` holds after a finished run; RuntimeError if the session fails."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: self.error is not None or predicate(self)),
                                   timeout)
        if not predicate(self):
            raise RuntimeError(self.error)

    def _require(self, kind: str, label: str | None, key: str | None) -> Shown:
        shown = self.find(kind, label, key)
        if shown is None:
            raise LookupError(f"no {kind} {label or key!r} on the page")
        return shown

    # what the server sends ------------------------------------------------------------------------
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                msg = ForwardMsg()
                msg.ParseFromString(data)
                if self._take(msg):
                    async with self._changed:
                        self._changed.notify_all()
        except Exception as exc:  # reported to whoever waits
            self.error = f"{type(exc).__name__}: {exc}"
        self.error = self.error or "the server closed the connection"
        async with self._changed:
            self._changed.notify_all()

    def _take(self, msg: ForwardMsg) -> bool:
        """Apply one message to the page; True when a run has finished (the page is whole)."""
        kind = msg.WhichOneof("type")
        if kind == "new_session":  # every run starts with one
            run = msg.metadata.run
            self.run_id, self.run_fragments = run.script_run_id, tuple(run.fragment_ids)
            self.page_hash = msg.new_session.page_script_hash or self.page_hash
            if not self.run_fragments:
                self._stop_timers(list(self._timers))
        elif kind == "navigation":  # st.navigation: the page being run
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "page_info_changed":
            self.query_string = msg.page_info_changed.query_string
        elif kind == "delta":
            delta = msg.delta
            which = delta.WhichOneof("type")
            if which in ("new_element", "add_block"):
                proto = getattr(delta, which)
                element_kind = proto.WhichOneof("type") if which == "new_element" else "block"
                shown = Shown(element_kind, getattr(proto, element_kind) if which == "new_element" else proto,
                              delta.fragment_id, self.run_id)
                self.elements[tuple(msg.metadata.delta_path)] = shown
                self._mount(shown)
        elif kind == "auto_rerun":
            self._start_timer(msg.auto_rerun.fragment_id, msg.auto_rerun.interval)
        elif kind == "stop_auto_rerun":
            self._stop_timers(msg.stop_auto_rerun.fragment_ids)
        elif kind == "script_finished":
            if msg.script_finished in FINISHED:
                run = msg.metadata.run
                self._drop_stale(run.script_run_id or self.run_id, tuple(run.fragment_ids))
                self.finished += 1
                return True
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:  # that one: a rerun follows
                self.error = f"script run ended with status {msg.script_finished}"
                return True
        return False

    def _mount(self, shown: Shown) -> None:
        """A widget's first value, as the frontend reports it when the widget appears (or the app sets it)."""
        spec = _values(shown.kind, shown.proto)
        if spec is None:
            return
        field, current, default = spec
        value = current if shown.proto.set_value else None
        if value is None and shown.id not in self.widget_states:
            value = default
        if value is not None:
            self.widget_states[shown.id] = WidgetState(id=shown.id, **{field: value})

    def _drop_stale(self, run_id: str, fragments: tuple[str, ...]) -> None:
        """After a run: drop what it did not send again (a fragment's run: within that fragment)."""
        if not fragments and run_id != self.run_id:
            return  # an older whole run, already replaced
        self.elements = {path: s for path, s in self.elements.items()
                         if s.run == run_id or (fragments and s.fragment_id not in fragments)}
        active = {s.id for s in self.elements.values() if s.id}
        self.widget_states = {i: state for i, state in self.widget_states.items() if i in active}
        for form in self.form_states.values():
            for i in [i for i in form if i not in active]:
                del form[i]

    def _start_timer(self, fragment_id: str, interval: float) -> None:
        if not fragment_id or self._timers.get(fragment_id, (None,))[0] == interval:
            return
        self._stop_timers([fragment_id])
        self._timers[fragment_id] = (interval, asyncio.create_task(self._tick(fragment_id, interval)))

    def _stop_timers(self, fragment_ids) -> None:
        for fragment_id in fragment_ids:
            _, timer = self._timers.pop(fragment_id, (None, None))
            if timer:
                timer.cancel()

    async def _tick(self, fragment_id: str, interval: float) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + interval
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                due += interval
                await self.rerun(fragment_id=fragment_id, auto=True)


def _values(kind: str, p) -> tuple[str, object, object] | None:
    """For the widget kinds tracked: (WidgetState field, value the app set, default), as the frontend reads them."""
    if kind == "text_input":
        return "string_value", p.value if p.HasField("value") else None, p.default if p.HasField("default") else None
    if kind == "checkbox":  # toggles too
        return "bool_value", p.value, p.default
    if kind == "selectbox":
        default = p.options[p.default] if p.HasField("default") and p.default < len(p.options) else None
        return "string_value", p.raw_value if p.HasField("raw_value") else None, default
    return None
