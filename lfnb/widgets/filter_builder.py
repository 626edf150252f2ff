"""``FilterBuilder``: rows of column / type / operator / value (+ key) as ipywidgets.

Thin view over :mod:`lfnb.widgets.filter_state`: every control change becomes
a new frozen :class:`FilterState`; the rows are redrawn from the state, and the
problems of each row are shown beside it.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Sequence

import ipywidgets as w

from lfnb.widgets import filter_state as fs
from lfnb.widgets.choices import ChoiceCache
from lfnb.widgets.common import StaticView

__all__ = ["FilterBuilder"]

_ROW_LAYOUT = w.Layout(align_items="center")


class _RowView(w.HBox):
    """The controls of one row; reports changes to its builder."""

    def __init__(self, builder: FilterBuilder, index: int, row: fs.FilterRow):
        self.builder, self.index = builder, index
        target = builder.state.target
        cols = fs.columns_for(target)
        ids = [c["id"] for c in cols]
        col_options = [(c["label"], c["id"]) for c in cols] + ([] if row.column in ids or not row.column
                                                               else [(f"{row.column} (unknown)", row.column)])
        self.column = w.Dropdown(options=col_options, value=row.column or None, layout=w.Layout(width="230px"))
        types = fs.filter_types_for(target, row.column) or ([row.type] if row.type else [])
        if row.type and row.type not in types:
            types = types + [row.type]
        self.type = w.Dropdown(options=types, value=row.type or None, layout=w.Layout(width="135px"))
        ops = list(fs.operators_for(target, row.type))
        if row.operator and row.operator not in ops:
            ops.append(row.operator)
        self.operator = w.Dropdown(options=ops, value=row.operator or None, layout=w.Layout(width="130px"))
        keyed = row.type in fs.lf_filters.KEYED_TYPES
        self.key = w.Text(value=row.key, placeholder="key", layout=w.Layout(width="110px",
                                                                          display="" if keyed else "none"))
        hidden = row.type == "null"
        self.value = w.Combobox(value=row.value, options=builder.suggestions(row.column),
                                placeholder=_placeholder(row.type), ensure_option=False,
                                layout=w.Layout(width="220px", display="none" if hidden else ""))
        self.remove = w.Button(description="✕", tooltip="remove this filter", layout=w.Layout(width="34px"))
        self.problem = w.HTML()
        for ctl, name in ((self.column, "column"), (self.type, "type"), (self.operator, "operator"),
                          (self.key, "key"), (self.value, "value")):
            ctl.observe(self._changed(name), names="value")
        self.remove.on_click(lambda _: builder._remove(self.index))
        super().__init__([self.column, self.type, self.operator, self.key, self.value, self.remove, self.problem],
                         layout=_ROW_LAYOUT)

    def _changed(self, name: str) -> Callable[[dict], None]:
        def handler(change: dict) -> None:
            self.builder._edit(self.index, name, change["new"] if change["new"] is not None else "")
        return handler


def _placeholder(ftype: str) -> str:
    return {"stringOptions": "a, b, c", "arrayOptions": "a, b, c", "categoryOptions": "a, b",
            "number": "number", "numberObject": "number", "boolean": "true / false",
            "booleanObject": "true / false", "datetime": "2026-11-01T00:00:00Z"}.get(ftype, "value")


class FilterBuilder(StaticView, w.VBox):
    """Build a filter list for one target, with each row checked as you type.

    Parameters
    ----------
    target : str
        ``observations_v2``, ``observations_v1``, ``traces``, ``scores``, or a
        Metrics API view as ``metrics:<view>`` (``metrics_v1:<view>`` for v1);
        see :func:`lfnb.widgets.filter_state.targets`.
    filters : list of dict, optional
        Conditions to start with.
    choices : ChoiceCache, optional
        Value suggestions per column (fetched once, when a column is picked).
    on_change : callable, optional
        Called with the builder after every change.

    Attributes
    ----------
    state : FilterState
        The frozen state (assign a new one to redraw).
    filters : list of dict
        The filter JSON list (rows without a column are skipped).
    code : str
        Python rebuilding the list with ``lfnb.Filter``.

    Examples
    --------
    >>> fb = FilterBuilder("observations_v2")
    >>> fb.add("level"); fb.set_row(0, value="ERROR")
    >>> fb.filters
    [{'type': 'stringOptions', 'column': 'level', 'operator': 'any of', 'value': ['ERROR']}]
    >>> obs = lf.read_observations("2026-10-25", "2026-11-01", filter=fb.filters)
    """

    def __init__(self, target: str = "observations_v2", filters: Sequence[dict] = (), *,
                 choices: ChoiceCache | None = None, on_change: Callable[[FilterBuilder], None] | None = None):
        self._choices = choices or ChoiceCache()
        self._on_change = on_change
        self._state = fs.state_from_filters(target, list(filters))
        self.add_button = w.Button(description="+ filter", tooltip="add a filter condition",
                                   layout=w.Layout(width="90px"))
        self.add_button.on_click(lambda _: self.add())
        self.general = w.HTML()
        self.rows_box = w.VBox()
        super().__init__([self.rows_box, w.HBox([self.add_button, self.general])])
        self._redraw()

    # -- state ---------------------------------------------------------------------------
    @property
    def state(self) -> fs.FilterState:
        return self._state

    @state.setter
    def state(self, state: fs.FilterState) -> None:
        self._state = state
        self._redraw()
        if self._on_change is not None:
            self._on_change(self)

    @property
    def target(self) -> str:
        return self._state.target

    @property
    def filters(self) -> list[dict]:
        return fs.conditions(self._state)

    @property
    def json(self) -> str:
        """The filter list as JSON text (the value of a ``filter=`` query parameter)."""
        return json.dumps(self.filters)

    @property
    def code(self) -> str:
        return fs.filters_code(self._state)

    @property
    def issues(self) -> list[list[str]]:
        """Problems per row (empty lists when the row is valid)."""
        return fs.row_issues(self._state)

    @property
    def is_valid(self) -> bool:
        return not any(self.issues) and not fs.general_issues(self._state)

    def suggestions(self, column: str) -> list[str]:
        """Values already known for a column (never fetches: drawing must not cause requests)."""
        return list(self._choices.cached(column)) if column else []

    # -- static view (reports, code hosts) -------------------------------------------------
    def summary(self) -> str:
        problems = sum(1 for i in self.issues if i)
        return f"<FilterBuilder {self.target}: {len(self._state.rows)} rows, {problems} flagged>"

    def static_html(self) -> str:
        rows = []
        for row, issues in zip(self._state.rows, self.issues):
            cells = "".join(f"<td>{html.escape(str(v))}</td>" for v in (row.column, row.type, row.operator, row.key, row.value))
            rows.append(f"<tr>{cells}<td>{_problem_html(issues)}</td></tr>")
        return ("<div style='color:#666;font-size:12px'>FilterBuilder: a static view of its state; run the notebook "
                "to use the controls.</div><table style='font-size:12px'><thead><tr><th>column</th><th>type</th>"
                f"<th>operator</th><th>key</th><th>value</th><th></th></tr></thead><tbody>{''.join(rows)}</tbody></table>")

    # -- actions -------------------------------------------------------------------------
    def add(self, column: str | None = None) -> None:
        self.state = fs.add_row(self._state, column)

    def set_row(self, index: int, **changes: str) -> None:
        """Change one row as the controls would (``column=``, ``type=``, ``operator=``, ``value=``, ``key=``)."""
        self.state = fs.set_row(self._state, index, **changes)

    def _edit(self, index: int, name: str, value: str) -> None:
        if self._redrawing or index >= len(self._state.rows):
            return
        if getattr(self._state.rows[index], name) == value:
            return
        if name == "column":
            self._choices.get(value)  # the user picked a column: now (once) fetch its values
        if name in ("value", "key"):
            # typing: update in place; redrawing would take the focus from the text box
            self._state = fs.set_row(self._state, index, **{name: value})
            self._refresh_problems()
            if self._on_change is not None:
                self._on_change(self)
            return
        self.set_row(index, **{name: value})

    def _refresh_problems(self) -> None:
        for view, issues in zip(self.rows_box.children, fs.row_issues(self._state)):
            view.problem.value = _problem_html(issues)
        self.general.value = _problem_html(fs.general_issues(self._state))

    def _remove(self, index: int) -> None:
        self.state = fs.remove_row(self._state, index)

    def retarget(self, target: str) -> None:
        """Switch target; rows whose column does not exist there are dropped."""
        ids = {c["id"] for c in fs.columns_for(target)}
        rows = tuple(r for r in self._state.rows if r.column in ids)
        self.state = fs.FilterState(target, rows)

    # -- view ----------------------------------------------------------------------------
    _redrawing = False

    def _redraw(self) -> None:
        self._redrawing = True
        try:
            self.rows_box.children = [_RowView(self, i, row) for i, row in enumerate(self._state.rows)]
            self._refresh_problems()
        finally:
            self._redrawing = False

    def row_views(self) -> list[_RowView]:
        return list(self.rows_box.children)


def _problem_html(issues: Sequence[str]) -> str:
    if not issues:
        return ""
    text = "; ".join(html.escape(i) for i in issues)
    return f"<span style='color:#b00020' title='{text}'>⚠ {text}</span>"
