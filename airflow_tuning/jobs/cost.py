"""What a tuning job will cost before it starts, what it did cost after, and whether that fits a budget.

Vertex AI bills Gemini tuning per training token: the tokens of the training dataset times the epochs,
at a list price per million tokens that depends on the base model. This module holds that price table,
the estimate (dataset tokens x epochs), the budget rule and the actual figures read back from the job's
``tuningDataStats``. Pure Python: no Airflow, no Google import, so the rules are testable on their own and
defined once.

Token estimates follow the dataset package's rule (:mod:`airflow_tuning.dataset.tokens`: about 4 bytes
of JSONL per token, plus a fixed cost per attached file): cheap, and on the high side, which is the safe
side for a budget. The job's own ``totalBillableTokenCount`` is what the summary reports next to it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: Google's list prices, USD per 1M training tokens, for the tunable Gemini models (Vertex AI generative AI
#: pricing page, "Tuning" section; see the README for the page and the date read).
DEFAULT_TUNING_PRICES: dict[str, float] = {
    "gemini-2.5-pro": 25.0,
    "gemini-2.5-flash": 5.0,
    "gemini-2.5-flash-lite": 1.5,
    "gemini-2.0-flash": 3.0,
    "gemini-2.0-flash-lite": 1.0,
}
PRICES_SOURCE = "https://cloud.google.com/vertex-ai/generative-ai/pricing"
#: Epochs assumed when ``epoch_count`` is not set: Vertex AI then picks its own recommended value, which
#: it does not publish per model; the estimate says when it relied on this.
ASSUMED_EPOCHS = 3
#: XCom key of the estimate pushed before submission.
COST_ESTIMATE_XCOM_KEY = "cost_estimate"

_VERSION_SUFFIX = re.compile(r"-\d{3}$")
# tuningDataStats variants: the key of each tuning method's stats and where its billable tokens sit.
_STATS_VARIANTS = {
    "supervisedTuningDataStats": ("supervised", ()),
    "preferenceOptimizationDataStats": ("preference", ()),
    "distillationDataStats": ("distillation", ("trainingDatasetStats",)),
    "reinforcementTuningDataStats": ("reinforcement", ()),
}
_SCALAR_STATS = (
    "totalBillableTokenCount",
    "tuningDatasetExampleCount",
    "totalTuningCharacterCount",
    "totalBillableCharacterCount",
    "tuningStepCount",
    "totalTruncatedExampleCount",
)


class BudgetExceeded(ValueError):
    """The estimate is over ``max_billable_tokens`` or ``max_cost_usd``; the message says how it was computed."""


class UnknownPrice(ValueError):
    """A cost was asked for a model the price table does not know."""


def model_key(model: str | None) -> str:
    """``publishers/google/models/gemini-2.0-flash-001`` or Vertex's label form ``gemini-2_0-flash`` ->
    the price-table spelling (``gemini-2.0-flash-001``)."""
    text = str(model or "").strip().rsplit("/", 1)[-1].lower()
    return text.replace("_", ".")


def normalize_prices(prices: Mapping[str, Any] | str | None, *, source: str) -> dict[str, float]:
    """A price override (mapping or its JSON text) as ``{model key: USD per 1M tokens}``; errors name ``source``."""
    if prices is None or prices == "" or prices == {}:
        return {}
    if isinstance(prices, str):
        try:
            prices = json.loads(prices)
        except ValueError as err:
            raise ValueError(
                f"{source} is not valid JSON ({err}); expected e.g. {{\"gemini-2.5-flash\": 5.0}}"
            ) from None
    if not isinstance(prices, Mapping):
        raise ValueError(f"{source} must map model ids to USD per 1M training tokens, got {type(prices).__name__}")
    out: dict[str, float] = {}
    for model, price in prices.items():
        try:
            value = float(price)
        except (TypeError, ValueError):
            value = math.nan
        if isinstance(price, bool) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{source}[{model!r}] must be a non-negative number of USD per 1M tokens, got {price!r}")
        out[model_key(model)] = value
    return out


@dataclass(frozen=True)
class PriceTable:
    """Prices with their origin: the shipped list, then the connection's ``tuning_prices``, then the operator's."""

    prices: Mapping[str, float]
    origins: Mapping[str, str]

    @classmethod
    def build(cls, *overrides: tuple[str, Mapping[str, float]]) -> PriceTable:
        prices = dict(DEFAULT_TUNING_PRICES)
        origins = dict.fromkeys(prices, "Google list price")
        for origin, table in overrides:
            for model, price in table.items():
                prices[model], origins[model] = price, origin
        return cls(prices, origins)

    def lookup(self, model: str | None) -> tuple[str, float, str] | None:
        """(model key, USD per 1M tokens, origin) or None; ``-001``-style version suffixes fall back to the family."""
        key = model_key(model)
        for candidate in (key, _VERSION_SUFFIX.sub("", key)):
            if candidate in self.prices:
                return candidate, self.prices[candidate], self.origins[candidate]
        return None


@dataclass(frozen=True)
class Estimate:
    """The estimate pushed to XCom (``cost_estimate``) and logged before any submission."""

    base_model: str | None
    dataset_tokens: int
    epochs: int
    epochs_assumed: bool
    billable_tokens: int
    token_source: str
    price_per_million_usd: float | None
    price_origin: str | None
    cost_usd: float | None
    max_billable_tokens: int | None
    max_cost_usd: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def explain(self) -> str:
        """How the figures were computed, in one sentence a reviewer can check."""
        epochs = f"{self.epochs} epoch(s)" + (" (epoch_count not set: assumed)" if self.epochs_assumed else "")
        text = (f"{self.dataset_tokens:,} dataset tokens ({self.token_source}) x {epochs} = "
                f"{self.billable_tokens:,} billable training tokens")
        if self.cost_usd is not None:
            text += (f"; at ${self.price_per_million_usd:g} per 1M tokens for {self.base_model} "
                     f"({self.price_origin}) = ${self.cost_usd:,.2f}")
        return text


def estimate(*, base_model: str | None, dataset_tokens: int, epochs: int | None, token_source: str,
             prices: PriceTable, max_billable_tokens: Any = None, max_cost_usd: Any = None) -> Estimate:
    """Dataset tokens x epochs and its cost; raises UnknownPrice when ``max_cost_usd`` needs a price it lacks."""
    max_tokens = _budget_int(max_billable_tokens, "max_billable_tokens")
    max_cost = _budget_float(max_cost_usd, "max_cost_usd")
    assumed = epochs is None
    epochs = ASSUMED_EPOCHS if epochs is None else int(epochs)
    billable = int(dataset_tokens) * epochs
    found = prices.lookup(base_model)
    if found is None and max_cost is not None:
        known = ", ".join(sorted(prices.prices))
        raise UnknownPrice(
            f"max_cost_usd is set but base model {base_model!r} has no tuning price (known: {known}); add it with "
            "tuning_prices={'<model>': <USD per 1M training tokens>} on the operator or in the connection extra"
        )
    price = found[1] if found else None
    return Estimate(
        base_model=base_model, dataset_tokens=int(dataset_tokens), epochs=epochs, epochs_assumed=assumed,
        billable_tokens=billable, token_source=token_source, price_per_million_usd=price,
        price_origin=found[2] if found else None,
        cost_usd=round(billable / 1e6 * price, 6) if price is not None else None,
        max_billable_tokens=max_tokens, max_cost_usd=max_cost,
    )


def check_budget(est: Estimate) -> None:
    """Raise BudgetExceeded naming estimate, budget and how it was computed when a limit is exceeded."""
    over = []
    if est.max_billable_tokens is not None and est.billable_tokens > est.max_billable_tokens:
        over.append(f"estimated {est.billable_tokens:,} billable training tokens exceed "
                    f"max_billable_tokens={est.max_billable_tokens:,}")
    if est.max_cost_usd is not None and est.cost_usd is not None and est.cost_usd > est.max_cost_usd:
        over.append(f"estimated cost ${est.cost_usd:,.2f} exceeds max_cost_usd=${est.max_cost_usd:,.2f}")
    if over:
        raise BudgetExceeded(
            "Tuning budget exceeded, no job was created: " + "; ".join(over) + f". Computed as: {est.explain()}."
            " Raise the budget, reduce epoch_count or the dataset, or choose a cheaper base model."
        )


def _budget_int(value: Any, name: str) -> int | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    try:
        number = int(str(value).strip()) if not isinstance(value, int) else value
    except ValueError:
        raise ValueError(f"{name} must be a positive whole number of tokens, got {value!r}") from None
    if isinstance(value, bool) or number < 1:
        raise ValueError(f"{name} must be a positive whole number of tokens, got {value!r}")
    return number


def _budget_float(value: Any, name: str) -> float | None:
    if value is None or (isinstance(value, str) and value.strip() in ("", "None", "null")):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a non-negative amount of USD, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(number) or number < 0:
        raise ValueError(f"{name} must be a non-negative amount of USD, got {value!r}")
    return number


# -- after the job ------------------------------------------------------------------------------------
def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def compact_data_stats(stats: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A job's ``tuningDataStats`` (camelCase JSON) without distributions and sample examples.

    ``{"method": "supervised", "supervisedTuningDataStats": {"totalBillableTokenCount": 1234, ...}}``;
    None when the job reports none (yet).
    """
    if not stats:
        return None
    for key, (method, path) in _STATS_VARIANTS.items():
        block = stats.get(key)
        if not isinstance(block, Mapping):
            continue
        inner: Any = block
        for step in path:
            inner = inner.get(step) if isinstance(inner, Mapping) else None
        inner = inner if isinstance(inner, Mapping) else {}
        scalars = {name: _int(inner.get(name)) for name in _SCALAR_STATS if inner.get(name) is not None}
        return {"method": method, key: scalars}
    return None


def billable_tokens(compact: Mapping[str, Any] | None) -> int | None:
    """The job's own billable token count from :func:`compact_data_stats`' output."""
    if not compact:
        return None
    for key in _STATS_VARIANTS:
        block = compact.get(key)
        if isinstance(block, Mapping):
            return _int(block.get("totalBillableTokenCount"))
    return None


def actual_cost(compact: Mapping[str, Any] | None, base_model: str | None, prices: PriceTable) -> dict[str, Any] | None:
    """``{"billable_tokens", "cost_usd", "price_per_million_usd", "base_model", "price_origin"}`` from job stats."""
    tokens = billable_tokens(compact)
    if tokens is None:
        return None
    found = prices.lookup(base_model)
    return {
        "billable_tokens": tokens,
        "base_model": base_model,
        "price_per_million_usd": found[1] if found else None,
        "price_origin": found[2] if found else None,
        "cost_usd": round(tokens / 1e6 * found[1], 6) if found else None,
    }
