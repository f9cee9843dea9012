"""Calibrated scores: a model's stored null distribution, empirical p-values and BH q-values.

A classifier's primary score is P(labels[1]), its first non-null class (the at-centre sweep of
a sweep model). Probabilities near 1 saturate in float32, so what is compared with the null is
the log-odds of that class against all the others, in float64 (:func:`log_odds`).
``popgen-hub calibrate`` scores neutral replicates of the training history and stores the
sorted scores in the contract (``references["null_score"]``, :func:`null_reference`); a scan
of a model that has one gives each scored window an empirical p-value against it and a
Benjamini-Hochberg q-value across all the scan's scored windows (:func:`scan_significance`).
A null's n values cannot give a p-value under 1 / (n + 1), too coarse for a q-value across a
genome's hundreds of thousands of windows: scores beyond its top ten take the p-value of a
generalised Pareto tail fitted to its top 250 (:class:`ParetoTail`, conservative, reaching
100 times below 1 / (n + 1)), for nulls of at least 5,000 loci.

The score of a model of individuals (:mod:`popgen_hub.encoders.genotype_matrix`) under
neutrality moves with the number of individuals read and their read depth, so calibrate
stores for them nulls by condition (``references["null_by_condition"]``): a grid of sample
sizes, and for likelihood models of mean depths plus one "depth unknown" (drawn as in
training), each with the training statistics of the same draws. A scan uses the condition
nearest the individuals it read and their measured mean depth (:func:`nearest_condition`).
Whether to call a window is a decision threshold (:mod:`popgen_hub.decision`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .decision import nearest_size
from .schema import record_problems

NULL_SCORE = "null_score"  # the key in ModelContract.references
#: What a stored null holds, and the type of each.
NULL_KEYS = {"score": str, "label": str, "values": list[float], "n": int, "source": str}
#: Nulls by condition: each a null record plus the number of individuals read, their mean
#: read depth (null: unknown, drawn as in training; and for genotype models) and the
#: ``training_stats`` (:mod:`popgen_hub.ood`'s format) of the same draws.
CONDITIONS = "null_by_condition"
CONDITION_KEYS = {**NULL_KEYS, "individuals": int, "depth": float | None,
                  "training_stats": dict}
SIGNIFICANT_DIGITS = 5  # of the stored null (a small contract), and of the scores compared
#: Keeps the p-values' tie-breaking draws apart from the scan's other uses of its seed.
TIE_STREAM = 0x9E11
Q_THRESHOLD = 0.05  # the q-value the scan summary counts windows under
RECALIBRATE = "store it again with `popgen-hub calibrate MODEL_DIR --data DATASET`"


@dataclass(frozen=True)
class ConditionGrid:
    """The conditions ``popgen-hub calibrate`` draws the nulls of a model of individuals at
    (:mod:`popgen_hub.calibrate`); sizes and depths outside the model's contract or the
    dataset are left out."""

    sample_sizes: tuple[int, ...] = (5, 10, 20, 50, 100)
    depths: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0, 10.0)  # likelihood models only
    loci: int = 2000  # neutral replicates per condition, each drawn once
    workers: int = 1  # processes drawing and scoring them


def log_odds(probabilities: np.ndarray, column: int = 1) -> np.ndarray:
    """log P(column) - log(sum of the other classes' P), in float64 from (n, classes)
    probabilities, each clipped to 1e-300 so that a saturated P(column) ~ 1 still ranks by
    how small the others are. NaN rows (unscored windows) stay NaN. Column 1 (labels[1], the
    at-window sweep class) is a sweep model's score."""
    p = np.maximum(np.asarray(probabilities, dtype=np.float64), 1e-300)
    others = np.maximum(p.sum(axis=1) - p[:, column], 1e-300)
    return np.log(p[:, column]) - np.log(others)


def round_significant(values: np.ndarray) -> np.ndarray:
    """``values`` to :data:`SIGNIFICANT_DIGITS` significant digits; the stored null and the
    scores compared with it are rounded alike, so equal scores tie exactly."""
    text = np.char.mod(f"%.{SIGNIFICANT_DIGITS}g", np.asarray(values, dtype=np.float64))
    return text.astype(np.float64)


def null_reference(scores: np.ndarray, label: str, source: str) -> dict[str, Any]:
    """The ``references["null_score"]`` entry of scores of independent null loci."""
    values = np.sort(round_significant(scores))
    return {"score": f"log-odds of P({label}) vs the other classes", "label": label,
            "values": values.tolist(), "n": len(values), "source": source}


def null_problems(null: Any, labels: list[str], where: str = f"references.{NULL_SCORE}",
                  keys: dict[str, Any] = NULL_KEYS) -> list[str]:
    """What is wrong with a stored null (a record of ``keys``) at ``where`` in the contract of
    a model of ``labels`` (empty: nothing)."""
    problems = [f"{where}: {p}" for p in record_problems(null, keys)]
    problems += [f"{where}: unknown field {key!r}" for key in
                 (null if isinstance(null, dict) else ()) if key not in keys]
    if problems:
        return problems
    values = np.asarray(null["values"], dtype=np.float64)
    if null["n"] != len(values) or not len(values):
        problems.append(f"{where}: n is {null['n']} but it holds {len(values)} values")
    elif (np.diff(values) < 0).any():
        problems.append(f"{where}: values are not sorted")
    if len(labels) < 2 or null["label"] != labels[1]:
        problems.append(f"{where}: label {null['label']!r} is not the model's primary class "
                        f"{labels[1:2]}")
    return problems


def condition_problems(records: Any, labels: list[str]) -> list[str]:
    """What is wrong with stored nulls by condition (empty: nothing); the contract checks their
    training statistics (:func:`popgen_hub.ood.reference_problems`)."""
    if not isinstance(records, list) or not records:
        return [f"references.{CONDITIONS} must be a non-empty list of null records"]
    seen = set()
    for i, record in enumerate(records):
        where = f"references.{CONDITIONS}[{i}]"
        problems = null_problems(record, labels, where, CONDITION_KEYS)
        if problems:
            return problems
        condition = record["individuals"], record["depth"]
        if condition[0] < 1 or (condition[1] is not None and condition[1] <= 0):
            return [f"{where}: individuals {condition[0]} and depth {condition[1]} must be "
                    f"positive (depth null: unknown)"]
        if condition in seen:
            return [f"{where}: a second null of {condition[0]} individuals at depth "
                    f"{condition[1]}"]
        seen.add(condition)
    return []


def nearest_condition(references: dict[str, Any], individuals: int | None,
                      depth: float | None) -> dict[str, Any] | None:
    """The stored condition a scan of ``individuals`` individuals at mean read ``depth`` (None:
    unknown, e.g. calls from a VCF) is compared with: the nearest number of individuals on a
    log scale (the smaller on a tie), then among those the nearest depth on a log scale, the
    depth-unknown condition when the depth is unknown (module doc); None when the model
    stores none or ``individuals`` is unknown."""
    records = references.get(CONDITIONS)
    if not records or not individuals:
        return None

    def depth_distance(record: dict[str, Any]) -> tuple[bool, float, float]:
        stored = record["depth"]
        if stored is None or depth is None:
            return (stored is None) != (depth is None), 0.0, stored or 0.0
        # a scan that counted no read base (depth 0) is nearest the lowest stored depth
        return False, abs(math.log(stored / max(depth, 1e-9))), stored

    closest = nearest_size([record["individuals"] for record in records], individuals)
    return min((record for record in records if record["individuals"] == closest),
               key=depth_distance)


def scan_null(references: dict[str, Any], individuals: int | None = None,
              depth: float | None = None) -> dict[str, Any] | None:
    """The null record a scan compares its scores with: the nearest stored condition
    (:func:`nearest_condition`), else the pooled null (None: the model has none)."""
    return nearest_condition(references, individuals, depth) or references.get(NULL_SCORE)


def condition_text(null: dict[str, Any], individuals: int, depth: float | None) -> str:
    """How a conditioned null was chosen, e.g. " of 20 individuals at 2x mean depth (nearest
    to the 18 individuals read at 1.7x)"; empty for the pooled null."""
    if "individuals" not in null:
        return ""
    stored = f" at {null['depth']:g}x mean depth" if null["depth"] is not None else ""
    read = f" at {depth:.1f}x" if depth is not None else ""
    return (f" of {null['individuals']} individuals{stored} (nearest to the {individuals} "
            f"individuals read{read})")


#: Scores with fewer null scores above them than this get the fitted tail's p-value.
TAIL_ABOVE = 10
#: Exceedances the tail is fitted to: the null's top 250.
TAIL_EXCEEDANCES = 250
#: The smallest null a tail is fitted to: its top 250 are at most its top 5 %, and the
#: extrapolation starts from p = 10 / (n + 1) <= 0.002.
TAIL_MIN_NULL = 5000
#: Standard errors the tail's shape is taken heavier than its estimate: measured conservative
#: on normal and logistic nulls and halves of the bundled ones (tests/test_calibration.py).
TAIL_SHAPE_SE = 2.0
#: How far below the null's own resolution 1 / (n + 1) the tail may reach.
TAIL_REACH = 100


@dataclass(frozen=True)
class ParetoTail:
    """A generalised Pareto distribution fitted to the top of a null (Knijnenburg et al.
    2009, "Fewer permutations, more accurate P-values"): p-values of scores beyond the reach of
    the null's n values (the smallest empirical one is 1 / (n + 1), too large for a q-value
    across a genome's windows) from P(S > u) P(S - u > y | S > u). Taken conservatively: the
    shape :data:`TAIL_SHAPE_SE` standard errors heavier than estimated (250 values leave it
    uncertain by ~0.07, and a light tail fitted as bounded would end where more loci go on),
    never above the empirical p where the tail takes over, never below 1 / (100 (n + 1))."""

    threshold: float  # u: the largest null score below the exceedances
    shape: float  # xi, heavier than its estimate (< 0: bounded)
    scale: float  # sigma
    n: int  # the null's size

    @classmethod
    def fit(cls, null: np.ndarray) -> ParetoTail | None:
        """The tail of the sorted ``null`` by Zhang & Stephens' (2009) estimator (numpy
        only); None for a null under :data:`TAIL_MIN_NULL` values or with tied exceedances."""
        if len(null) < TAIL_MIN_NULL:
            return None
        k = TAIL_EXCEEDANCES
        threshold = float(null[-k - 1])
        y = null[-k:] - threshold
        if y[0] <= 0:
            return None
        m = 30 + int(np.sqrt(k))
        theta = 1 / y[-1] + (1 - np.sqrt(m / (np.arange(1, m + 1) - 0.5))) / (3 * y[k // 4])
        profile = np.log1p(-theta[:, None] * y).mean(axis=1)  # xi at each theta
        log_likelihood = k * (np.log(-theta / profile) - profile - 1)
        weights = 1 / np.exp(log_likelihood - log_likelihood[:, None]).sum(axis=1)
        theta_hat = float(np.sum(theta * weights / weights.sum()))
        estimate = float(np.log1p(-theta_hat * y).mean())
        scale = -estimate / theta_hat if abs(theta_hat) > 1e-12 else float(y.mean())
        shape = estimate + TAIL_SHAPE_SE * (1 + estimate) / np.sqrt(k)
        return cls(threshold, shape, scale, len(null))

    def p_values(self, scores: np.ndarray) -> np.ndarray:
        """P(S >= s) of each score beyond the null's top :data:`TAIL_ABOVE`."""
        y = np.maximum(np.asarray(scores, dtype=np.float64) - self.threshold, 0.0)
        if abs(self.shape) < 1e-9:
            survival = np.exp(-y / self.scale)
        else:
            base = np.maximum(1 + self.shape * y / self.scale, 0.0)
            with np.errstate(divide="ignore"):
                survival = base ** (-1 / self.shape)
        resolution = 1 / (self.n + 1)
        share = TAIL_EXCEEDANCES / self.n  # P(S > u)
        return np.clip(share * survival, resolution / TAIL_REACH, TAIL_ABOVE * resolution)


def empirical_p_values(scores: np.ndarray, null: np.ndarray, rng: np.random.Generator
                       ) -> np.ndarray:
    """p = (#null > s + U (#null == s + 1)) / (n + 1) of each score ``s`` against the sorted
    ``null``, U uniform on (0, 1]: ties broken at random, so p is uniform on (0, 1] for a
    score drawn from the null, and never 0. Scores with fewer than :data:`TAIL_ABOVE` null
    scores above them take the p-value of the null's fitted tail (:class:`ParetoTail`)
    instead, when the null is large enough to fit one. NaN scores give NaN (and draw no U)."""
    p = np.full(len(scores), np.nan)
    scored = ~np.isnan(scores)
    s = scores[scored]
    above = len(null) - np.searchsorted(null, s, side="right")
    ties = np.searchsorted(null, s, side="right") - np.searchsorted(null, s, side="left")
    u = 1.0 - rng.random(len(s))  # (0, 1]: p > 0 even above the whole null
    p[scored] = (above + u * (ties + 1)) / (len(null) + 1)
    tail = ParetoTail.fit(null)
    if tail is not None:
        far = np.flatnonzero(scored)[above < TAIL_ABOVE]
        p[far] = tail.p_values(scores[far])
    return p


def bh_q_values(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q-values of the non-NaN ``p`` (all of them one family); NaN stays."""
    q = np.full(len(p), np.nan)
    tested = np.flatnonzero(~np.isnan(p))
    order = tested[np.argsort(p[tested], kind="stable")]
    m = len(order)
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return q


def scan_significance(references: dict[str, Any], probabilities: np.ndarray, seed: int,
                      individuals: int | None = None, depth: float | None = None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """p- and q-values of a whole scan's windows ((n, classes) probabilities, NaN rows
    unscored) against :func:`scan_null` of the ``individuals`` read at mean ``depth``, ties
    broken by draws seeded by the scan's ``seed``; None without a null."""
    null = scan_null(references, individuals, depth)
    if null is None:
        return None
    scores = round_significant(log_odds(probabilities))
    p = empirical_p_values(scores, np.asarray(null["values"], dtype=np.float64),
                           np.random.default_rng([seed, TIE_STREAM]))
    return p, bh_q_values(p)


def null_summary(null: dict[str, Any], conditions: list[dict[str, Any]] | None = None
                 ) -> str:
    """A stored null in a few lines: its size, quantiles and share with P(label) > 0.5; then
    the nulls by condition, if any, as a table (:func:`conditions_table`)."""
    values = np.asarray(null["values"], dtype=np.float64)
    levels = (0.01, 0.05, 0.5, 0.95, 0.99)
    quantiles = "  ".join(f"{q:.0%}: {v:.3g}" for q, v in
                          zip(levels, np.quantile(values, levels), strict=True))
    # P(label) > 0.5 exactly when it outweighs the other classes together: log-odds > 0
    return (f"null of {null['score']}: n = {null['n']} ({null['source']})\n"
            f"  quantiles  {quantiles}  max: {values.max():.3g}\n"
            f"  share with P({null['label']}) > 0.5: {(values > 0).mean():.4f}; "
            f"{_tail_summary(values, null['n'])}"
            + (f"\n{conditions_table(conditions)}" if conditions else ""))


def conditions_table(records: list[dict[str, Any]]) -> str:
    """Nulls by condition, one line each: individuals, mean depth (when any has one), size,
    and share with P(label) > 0.5, the shift the condition makes."""
    depths = any(record["depth"] is not None for record in records)
    label = f"P({records[0]['label']}) > 0.5"
    depth_column = f"{'depth':>9}" if depths else ""
    lines = [f"nulls by condition (a scan uses the nearest to the individuals it reads"
             f"{' and their mean depth' if depths else ''}):",
             f"  {'individuals':>11}{depth_column}{'n':>7}  {label}"]
    for record in sorted(records, key=lambda r: (r["individuals"], r["depth"] is None,
                                                 r["depth"] or 0.0)):
        depth = ("unknown" if record["depth"] is None else f"{record['depth']:g}x")
        share = (np.asarray(record["values"]) > 0).mean()
        lines.append(f"  {record['individuals']:>11}{f'  {depth:>7}' if depths else ''}"
                     f"{record['n']:>7}  {share:.4f}")
    return "\n".join(lines)


def _tail_summary(values: np.ndarray, n: int) -> str:
    tail = ParetoTail.fit(values)
    if tail is None:
        return f"the smallest p-value it can give is {1 / (n + 1):.2g}"
    return (f"beyond its top {TAIL_ABOVE} scores, p-values come from a generalised Pareto tail "
            f"(shape {tail.shape:.3g}, scale {tail.scale:.3g}, over {tail.threshold:.3g})")
