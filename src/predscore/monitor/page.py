"""The health page of ``predscore monitor``: one self-contained HTML file.

Stage: monitor (output). Input: the ``monitor.json`` document of a check; output: HTML
text with its plots inline (PNG as base64 ``data:`` URIs, drawn with matplotlib's
object API, no pyplot state) and a Content-Security-Policy that forbids every fetch.
Every string that comes from the data (feature names, levels, paths, model URIs) goes
through Jinja's autoescaping.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from jinja2 import Environment
from matplotlib.figure import Figure

__all__ = ["render_page"]

_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy"
 content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>predscore model health {{ doc.as_of[:10] }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#222}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{padding:.2rem .6rem;
border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}
.alert{background:#fde8e8;border-left:4px solid #c0392b;padding:.6rem 1rem}
.ok{background:#e8f6ea;border-left:4px solid #2e7d32;padding:.6rem 1rem}
.hit{color:#c0392b;font-weight:600}img{max-width:100%}small{color:#666}
</style></head><body>
<h1>Model health</h1>
<p>Model <code>{{ doc.model }}</code>; scoring run <code>{{ doc.scores }}</code>
as of {{ doc.as_of }}; outcomes known at {{ doc.checked_at }}.<br>
<small>Training reference: {{ doc.training.rows }} rows of {{ doc.training.leads }}
leads{% if doc.training.close_rate is not none %}, {{ pct(doc.training.close_rate) }}
of the rows won{% endif %}.</small></p>
{% if doc.alerts %}<div class="alert"><strong>{{ doc.alerts|length }} alert(s)</strong>
<ul>{% for a in doc.alerts %}<li>{{ a }}</li>{% endfor %}</ul></div>
{% else %}<div class="ok">No threshold crossed.</div>{% endif %}

<h2>Feature drift</h2>
<p>{{ doc.drift.rows }} open leads against {{ doc.drift.against }}; thresholds PSI
{{ doc.thresholds.drift.psi_alert }}, JS distance {{ doc.thresholds.drift.js_alert }}
{% if doc.drift.rows < doc.thresholds.drift.min_rows %}(fewer than
{{ doc.thresholds.drift.min_rows }} leads: not alerted){% endif %}.</p>
{% if plots.drift %}<img alt="PSI of the most drifted features" src="{{ plots.drift }}">{% endif %}
<table><tr><th>feature</th><th>PSI</th><th>JS</th><th>bin that moved most</th>
<th>training</th><th>today</th></tr>
{% for f in features %}<tr{% if f.feature in drifted %} class="hit"{% endif %}>
<td>{{ f.feature }}</td><td>{{ num(f.psi) }}</td><td>{{ num(f.js) }}</td>
<td>{{ f.moved_bin }}</td><td>{{ pct(f.reference_share) }}</td>
<td>{{ pct(f.current_share) }}</td></tr>{% endfor %}</table>
{% for name, src in plots.bins %}<img alt="bins of {{ name }}" src="{{ src }}">{% endfor %}

<h2>Scores and routes</h2>
{% set s = doc.scores_shift %}
<table><tr><th></th><th>leads</th><th>mean probability</th>
{% for r in routes %}<th>{{ r }}</th>{% endfor %}<th>PSI score</th><th>PSI route</th></tr>
<tr><td>training</td><td>{{ doc.training.rows }}</td><td>{{ pct(s.training.mean_probability) }}</td>
{% for r in routes %}<td>{{ pct(s.training.routes[r]) }}</td>{% endfor %}<td></td><td></td></tr>
{% if s.previous %}<tr><td>previous run {{ s.previous.as_of[:10] }}</td>
<td>{{ s.previous.leads }}</td><td>{{ pct(s.previous.mean_probability) }}</td>
{% for r in routes %}<td>{{ pct(s.previous.routes[r]) }}</td>{% endfor %}<td></td><td></td></tr>{% endif %}
<tr><td>this run {{ s.current.as_of[:10] }}</td><td>{{ s.current.leads }}</td>
<td>{{ pct(s.current.mean_probability) }}</td>
{% for r in routes %}<td>{{ pct(s.current.routes[r]) }}</td>{% endfor %}
<td>{{ num(s.vs_training.probability.psi) }}{% if s.vs_previous %} /
{{ num(s.vs_previous.probability.psi) }}{% endif %}</td>
<td>{{ num(s.vs_training.route.psi) }}{% if s.vs_previous %} /
{{ num(s.vs_previous.route.psi) }}{% endif %}</td></tr></table>
<small>PSI against training{% if s.vs_previous %} / against the previous run{% endif %}.</small><br>
{% if plots.scores %}<img alt="probability distributions" src="{{ plots.scores }}">{% endif %}

<h2>Realised performance of earlier runs</h2>
{% set r = doc.realised %}
{% if r.months %}
<table><tr><th>month scored</th><th>runs</th><th>leads</th><th>judged</th>
<th>predicted (all)</th><th>predicted (judged)</th><th>actual</th><th>ROC AUC</th>
<th>Brier</th><th>ECE</th></tr>
{% for m in r.months %}<tr><td>{{ m.month }}</td><td>{{ m.runs }}</td><td>{{ m.scored }}</td>
<td>{{ m.judged }} ({{ pct(m.judged_share) }})</td><td>{{ pct(m.predicted_all) }}</td>
<td>{{ pct(m.predicted_rate) }}</td><td>{{ pct(m.actual_rate) }}</td>
<td>{{ num(m.roc_auc) }}</td><td>{{ num(m.brier) }}</td><td>{{ num(m.ece) }}</td></tr>
{% endfor %}
{% if r.overall %}<tr><th>all</th><td></td><td>{{ r.overall.scored }}</td>
<td>{{ r.overall.judged }}</td><td></td><td>{{ pct(r.overall.predicted_rate) }}</td>
<td>{{ pct(r.overall.actual_rate) }}</td><td>{{ num(r.overall.roc_auc) }}</td>
<td>{{ num(r.overall.brier) }}</td><td>{{ num(r.overall.ece) }}</td></tr>{% endif %}
</table>
<small>A lead is judged once its outcome is known; early months hold more of the
slow closers still open.</small><br>
{% if r.segments %}
<h3>By segment model</h3>
<table><tr><th>model</th><th>leads</th><th>judged</th><th>predicted</th><th>actual</th>
<th>ROC AUC</th><th>Brier</th><th>ECE</th></tr>
{% for m in r.segments %}<tr><td>{{ m.segment if m.segment is not none else "global" }}</td>
<td>{{ m.scored }}</td><td>{{ m.judged }}</td><td>{{ pct(m.predicted_rate) }}</td>
<td>{{ pct(m.actual_rate) }}</td><td>{{ num(m.roc_auc) }}</td><td>{{ num(m.brier) }}</td>
<td>{{ num(m.ece) }}</td></tr>
{% endfor %}</table>
{% endif %}
{% if plots.realised %}<img alt="realised performance by month" src="{{ plots.realised }}">{% endif %}
{% else %}<p>No earlier scoring run scored by a model (score month by month into
folders beside this one, or pass --history).</p>{% endif %}
{% for line in r.skipped %}<p><small>{{ line }}</small></p>{% endfor %}
</body></html>
"""


def _png(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _drift_plot(features: Sequence[Mapping[str, Any]], threshold: float | None) -> str:
    top = list(features)[:15][::-1]
    figure = Figure(figsize=(7, 0.3 * len(top) + 1.2))
    ax = figure.subplots()
    ax.barh([str(f["feature"]) for f in top], [f["psi"] for f in top], color="#4c72b0")
    if threshold is not None:
        ax.axvline(threshold, color="#c0392b", linestyle="--", label="alert")
        ax.legend(loc="lower right")
    ax.set_xlabel("PSI (open at training → today's open leads)")
    return _png(figure)


def _bins_plot(name: str, bins: Mapping[str, Sequence[Any]]) -> str:
    labels = [str(x) for x in bins["labels"]]
    x = np.arange(len(labels))
    figure = Figure(figsize=(7, 2.8))
    ax = figure.subplots()
    ax.bar(x - 0.2, bins["reference"], 0.4, label="training", color="#999999")
    ax.bar(x + 0.2, bins["current"], 0.4, label="today", color="#dd8452")
    ax.set_xticks(x, labels, rotation=40, ha="right", fontsize=7)
    ax.set_ylabel("share")
    ax.set_title(name, fontsize=9)
    ax.legend()
    return _png(figure)


def _scores_plot(shift: Mapping[str, Any]) -> str:
    training = shift["training"]["probability_bins"]
    edges = training["edges"]
    labels = [f"≤{edges[0]:.2f}"] if edges else ["all"]
    labels += [f"≤{b:.2f}" for b in edges[1:]] + (
        [f">{edges[-1]:.2f}"] if edges else []
    )
    x = np.arange(len(labels))
    figure = Figure(figsize=(7, 2.8))
    ax = figure.subplots()
    ax.bar(
        x - 0.2,
        training["shares"][: len(labels)],
        0.4,
        label="training",
        color="#999999",
    )
    ax.bar(
        x + 0.2,
        shift["current_bins"][: len(labels)],
        0.4,
        label="this run",
        color="#dd8452",
    )
    ax.set_xticks(x, labels, rotation=40, ha="right", fontsize=7)
    ax.set_xlabel("probability (training deciles)")
    ax.set_ylabel("share")
    ax.legend()
    return _png(figure)


def _realised_plot(months: Sequence[Mapping[str, Any]]) -> str:
    names = [m["month"] for m in months]
    figure = Figure(figsize=(7, 3))
    ax = figure.subplots()
    nan = float("nan")
    ax.plot(
        names, [m["predicted_rate"] or nan for m in months], "o-", label="predicted"
    )
    ax.plot(names, [m["actual_rate"] or nan for m in months], "s-", label="actual")
    ax.plot(
        names,
        [nan if m["roc_auc"] is None else m["roc_auc"] for m in months],
        "^--",
        label="ROC AUC",
    )
    ax.set_ylim(0, 1)
    ax.set_xlabel("month of scoring (judged leads)")
    ax.tick_params(axis="x", rotation=40, labelsize=7)
    ax.legend()
    return _png(figure)


def _pct(value: Any) -> str:
    return "–" if value is None or value != value else f"{100 * float(value):.1f} %"


def _num(value: Any) -> str:
    return "–" if value is None or value != value else f"{float(value):.3f}"


def render_page(document: Mapping[str, Any]) -> str:
    """HTML of the health page of a ``monitor.json`` document.

    Returns
    -------
    str
        A complete HTML document that loads nothing from elsewhere.
    """
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    drift = document["drift"]
    shown = drift["features"][: document["thresholds"]["drift"]["shown"]]
    shift = document["scores_shift"]
    plots: dict[str, Any] = {
        "drift": _drift_plot(shown, document["thresholds"]["drift"]["psi_alert"])
        if shown
        else None,
        "bins": [
            (name, _bins_plot(name, drift["bins"][name]))
            for name in drift["drifted"][:3]
            if name in drift["bins"]
        ],
        "scores": _scores_plot(shift) if "current_bins" in shift else None,
        "realised": _realised_plot(document["realised"]["months"])
        if document["realised"]["months"]
        else None,
    }
    return env.from_string(_TEMPLATE).render(
        doc=document,
        features=shown,
        drifted=set(drift["drifted"]),
        plots=plots,
        routes=["meeting", "nurture", "disqualify"],
        pct=_pct,
        num=_num,
    )
