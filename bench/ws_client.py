"""A dashboard session without a browser, for load: Streamlit's own websocket protocol.

A browser costs the machine it runs on far more than the server's work for it (ten Chromiums on
two cores left the server a fraction of a core), so the bench's crowd is made of these clients
and the person it measures is a real browser among them (:mod:`bench.dashboard`). Each client
speaks what Streamlit's frontend speaks: a ``BackMsg`` asking for a script run with the page's
widget states, then the ``ForwardMsg`` stream until the script finishes. The page is read as
AppTest reads it (``parse_tree_from_messages``) and its widgets are found there by label or key;
their states are kept here as the frontend keeps them, so a client's widget states are the ones a browser would send (a typed text, a chosen option by its
words, a click sent once). Nothing is drawn: a step's time is the
server's (and the socket's), from the request to the end of the script run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState, WidgetStates
from streamlit.testing.v1.element_tree import ElementTree, Widget, parse_tree_from_messages
from websockets.sync.client import ClientConnection, connect

STREAM_PATH = "/_stcore/stream"
_DONE = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class ScriptFailed(RuntimeError):
    """A script run that did not end as a browser would expect: a compile error, no end in time,
    or a page without what the step looks for."""


@dataclass
class Page:
    """What one script run drew: its element tree and the pages the app offers by title."""

    tree: ElementTree
    pages: dict[str, str] = field(default_factory=dict)  # title -> page_script_hash
    page_hash: str = ""

    def text(self) -> str:
        """Every markdown, heading and caption on the page, as one string."""
        kinds = ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success")
        return "\n".join(str(getattr(e, "value", "")) for kind in kinds for e in self.tree.get(kind))


class StreamlitClient:
    """One browser tab's conversation with a Streamlit server, in the browser's protocol."""

    def __init__(self, url: str, timeout_s: float = 90.0) -> None:
        parts = urlsplit(url)
        scheme = "wss" if parts.scheme == "https" else "ws"
        self.socket: ClientConnection = connect(
            f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}{STREAM_PATH}",
            subprotocols=["streamlit"],  # type: ignore[list-item]
            max_size=None,
            open_timeout=timeout_s,
        )
        self.timeout_s = timeout_s
        self.page = Page(tree=parse_tree_from_messages([]))
        self.states: dict[str, WidgetState] = {}  # what the user set, by widget id
        self._deltas: dict[tuple[int, ...], ForwardMsg] = {}  # the page as drawn, by place
        self._fragment_of: dict[str, str] = {}  # widget id -> the fragment drawing it

    # --- what a user does to the page's widgets (sent with the next run) ---------------------

    def type_text(self, widget: Widget, text: str) -> None:
        """Type ``text`` into a text input."""
        self.states[widget.id] = WidgetState(id=widget.id, string_value=text)

    def choose(self, widget: Widget, option: str) -> Page:
        """Choose ``option`` (its words as shown) in a selectbox and wait for the page it leads to."""
        self.states[widget.id] = WidgetState(id=widget.id, string_value=option)
        return self.submit(fragment_of=widget)

    def choose_many(self, widget: Widget, options: list[str]) -> None:
        """Set a multiselect to ``options`` (their words as shown)."""
        state = WidgetState(id=widget.id)
        state.string_array_value.data[:] = options
        self.states[widget.id] = state

    def click(self, widget: Widget) -> Page:
        """Click a button (or a form's submit button) and wait for the page it leads to."""
        self.states[widget.id] = WidgetState(id=widget.id, trigger_value=True)
        return self.submit(fragment_of=widget)

    def close(self) -> None:
        """Close the socket (the server ends the session as when a tab closes)."""
        self.socket.close()

    def rerun(
        self, states: WidgetStates | None = None, page_hash: str | None = None, fragment_id: str = ""
    ) -> Page:
        """Ask for a script run with ``states`` (on ``page_hash``, else the page shown; of one
        fragment when ``fragment_id`` is given, as a click inside a fragment asks) and read every
        message until the run finishes; a run the script restarts (``st.rerun``,
        ``st.switch_page``) is followed to its end. A fragment's run redraws that fragment only."""
        request = BackMsg()
        client_state = request.rerun_script
        client_state.page_script_hash = self.page.page_hash if page_hash is None else page_hash
        client_state.fragment_id = fragment_id
        if states is not None:
            client_state.widget_states.CopyFrom(states)
        self.socket.send(request.SerializeToString())
        fresh: list[ForwardMsg] = []
        pages = dict(self.page.pages)
        page_hash_now = client_state.page_script_hash
        deadline = time.monotonic() + self.timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScriptFailed(f"no end of the script run within {self.timeout_s:.0f} s")
            message = ForwardMsg()
            message.ParseFromString(self.socket.recv(timeout=remaining))
            kind = message.WhichOneof("type")
            if kind == "new_session":
                fresh = []  # a restarted run draws the page again from the start
                page_hash_now = message.new_session.page_script_hash or page_hash_now
                pages.update(_pages(message.new_session.app_pages))
            elif kind == "navigation":
                page_hash_now = message.navigation.page_script_hash or page_hash_now
                pages.update(_pages(message.navigation.app_pages))
            elif kind == "delta":
                fresh.append(message)
            elif kind == "script_finished":
                status = message.script_finished
                if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                    raise ScriptFailed("the app did not compile")
                if status not in _DONE:
                    fresh = []  # FINISHED_EARLY_FOR_RERUN: the next run draws again
                    continue
                self._keep(fresh, whole_page=status == ForwardMsg.FINISHED_SUCCESSFULLY)
                tree = parse_tree_from_messages([self._deltas[path] for path in sorted(self._deltas)])
                self.page = Page(tree=tree, pages=pages, page_hash=page_hash_now)
                return self.page

    def _keep(self, fresh: list[ForwardMsg], whole_page: bool) -> None:
        """The page's deltas after a run: all of them anew, or a fragment's replaced."""
        redrawn = {m.delta.fragment_id for m in fresh if m.delta.fragment_id}
        if whole_page:
            self._deltas = {}
        else:
            self._deltas = {k: m for k, m in self._deltas.items() if m.delta.fragment_id not in redrawn}
        for message in fresh:
            self._deltas[tuple(message.metadata.delta_path)] = message
            if message.delta.fragment_id and message.delta.WhichOneof("type") == "new_element":
                element = message.delta.new_element
                widget_id = getattr(getattr(element, element.WhichOneof("type") or "", None), "id", "")
                if widget_id:
                    self._fragment_of[widget_id] = message.delta.fragment_id

    def open_page(self, title: str) -> Page:
        """Go to the page called ``title`` in the app's navigation (as a menu click does)."""
        if title not in self.page.pages:
            raise ScriptFailed(f"no page {title!r} among {sorted(self.page.pages)}")
        return self.submit(page_hash=self.page.pages[title])

    def submit(self, page_hash: str | None = None, fragment_of: Widget | None = None) -> Page:
        """Run the script with what the user set (only the fragment drawing ``fragment_of``, if
        one does); a click counts once, and the states of widgets the new page no longer shows
        are dropped (as the frontend drops them)."""
        states = WidgetStates()
        states.widgets.extend(self.states.values())
        self.states = {k: v for k, v in self.states.items() if v.WhichOneof("value") != "trigger_value"}
        fragment_id = self._fragment_of.get(fragment_of.id, "") if fragment_of is not None else ""
        page = self.rerun(states, page_hash=page_hash, fragment_id=fragment_id)
        shown = {node.id for node in page.tree if isinstance(node, Widget)}
        self.states = {k: v for k, v in self.states.items() if k in shown}
        return page


def _pages(app_pages) -> dict[str, str]:  # noqa: ANN001 - a repeated AppPage field
    return {p.page_name: p.page_script_hash for p in app_pages}
