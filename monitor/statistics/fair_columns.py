"""The scorecard's fair-comparison columns: provider size and re-appearance.

Added keys only (INTERFACE keys never change), flat so the CSV needs no new rule
(a `[low, high]` becomes `_lower` / `_upper` as for every interval):

- `announced_addresses`, `size_basis` (prefix-table data version or `analyst`),
  `notices_per_100k_addresses`: null where the size is unknown (countries, `unknown` rows,
  no prefix table, no matching AS);
- `removed_items`, `reappeared`, `reappeared_30d`, `reappeared_90d`,
  `reappeared_30d_share` (+ `_ci`), `reappeared_90d_share` (+ `_ci`),
  `reappeared_same_provider`, `reappeared_other_inside`, `reappeared_outside`,
  `reappeared_unknown`: for provider rows and the totals (as known at `--known-at` when
  given); null for network and country rows (content is removed by a provider).

Top level: `size_data_version` and `size_data_date` of the prefix table used.
Definitions: docs/fair-comparisons.md.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.engine import Engine

from monitor.statistics.periods import Period
from monitor.statistics.reappearance import WHERE, reappearance_from_frame
from monitor.statistics.ticket_frame import TicketFrame

SIZE_KEYS = ("announced_addresses", "size_basis", "notices_per_100k_addresses")
# `monitor.statistics.reappearance` figure -> scorecard column (and back, for stored rows)
_REAPPEARANCE_COLUMN = (
    ("removed", "removed_items"),
    ("reappeared", "reappeared"),
    ("reappeared_30d", "reappeared_30d"),
    ("reappeared_90d", "reappeared_90d"),
    ("reappeared_30d_share", "reappeared_30d_share"),
    ("reappeared_30d_share_ci", "reappeared_30d_share_ci"),
    ("reappeared_90d_share", "reappeared_90d_share"),
    ("reappeared_90d_share_ci", "reappeared_90d_share_ci"),
)
REAPPEARANCE_KEYS = (
    *(column for _figure, column in _REAPPEARANCE_COLUMN),
    *(f"reappeared_{where}" for where in WHERE),
)


def _asn_key(row: dict) -> int | None:
    """The AS number of a network row keyed by one (`AS60781`), else None."""
    key = str(row.get("key") or "")
    return int(key[2:]) if key.startswith("AS") and key[2:].isdigit() else None


def _size_of(row: dict, by: str, sizes: dict) -> dict | None:
    if by == "provider":
        return sizes["providers"].get(str(row["name"]))
    if by == "network":
        asn, space = _asn_key(row), sizes.get("space")
        if asn is not None and space is not None:
            addresses = space.size_of_asn(asn)
            return {"addresses": addresses, "basis": space.version} if addresses else None
        return sizes["networks"].get(str(row["name"]))
    return None


def size_columns(row: dict, by: str, sizes: dict) -> dict:
    """The size keys of one scorecard row."""
    size = _size_of(row, by, sizes)
    if not size or not size.get("addresses"):
        return dict.fromkeys(SIZE_KEYS)
    return {
        "announced_addresses": int(size["addresses"]),
        "size_basis": size["basis"],
        "notices_per_100k_addresses": row["notices"] / size["addresses"] * 100_000,
    }


def reappearance_columns(figures: dict | None) -> dict:
    """The re-appearance keys of one row from `monitor.statistics.reappearance` figures
    (None: nulls)."""
    if figures is None:
        return dict.fromkeys(REAPPEARANCE_KEYS)
    columns = {column: figures[figure] for figure, column in _REAPPEARANCE_COLUMN}
    for where in WHERE:
        columns[f"reappeared_{where}"] = figures["reappeared_where"][where]
    return columns


def _distinct_pairs(first: np.ndarray, second: np.ndarray, n_second: int) -> np.ndarray:
    """The distinct (first, second) code pairs (codes >= 0) as an (n, 2) array."""
    if not len(first):
        return np.zeros((0, 2), np.int64)
    width = np.int64(n_second)
    key = first.astype(np.int64) * width + second.astype(np.int64)
    span = (int(first.max()) + 1) * int(width)
    if span <= 1 << 26:  # a count per possible pair beats sorting ten million keys
        present = np.flatnonzero(np.bincount(key, minlength=span))
    else:
        present = np.unique(key)
    return np.stack((present // width, present % width), axis=1)


def hosting_seen(frame: TicketFrame) -> list[tuple]:
    """(provider, network, asn) combinations of the frame's tickets as
    `providers.address_space.provider_asns` takes them: each provider alone, each
    (provider, network) pair with asn None and each (provider, asn) pair with network None
    (it uses the two apart)."""
    providers = frame.provider.labels
    present = np.flatnonzero(np.bincount(frame.provider.codes, minlength=len(providers)))
    seen: list[tuple] = [(providers[p], None, None) for p in present.tolist()]
    if len(frame.asn_codes) == len(frame):
        known = frame.asn_codes >= 0
        pairs = _distinct_pairs(
            frame.provider.codes[known], frame.asn_codes[known], len(frame.asn_values)
        )
        seen += [(providers[p], None, int(frame.asn_values[a])) for p, a in pairs.tolist()]
    if len(frame.network.codes) == len(frame):
        networks = frame.network.labels
        pairs = _distinct_pairs(frame.provider.codes, frame.network.codes, len(networks))
        seen += [(providers[p], networks[n], None) for p, n in pairs.tolist() if networks[n]]
    return seen


def reappearance_of_row(row: dict) -> dict | None:
    """The re-appearance figures of a scorecard row in `monitor.statistics.reappearance`'s
    shape (the inverse of `reappearance_columns`); None when the row has none (a row of
    another grouping, or a snapshot stored before the columns existed)."""
    if row.get("removed_items") is None:
        return None
    figures = {figure: row[column] for figure, column in _REAPPEARANCE_COLUMN}
    figures["reappeared_where"] = {where: row[f"reappeared_{where}"] for where in WHERE}
    return figures


@dataclass(frozen=True)
class FairFigures:
    """What the columns are made of: provider sizes (`provider_sizes`, without network
    sizes) and re-appearance figures per provider and `all`."""

    sizes: dict
    reappearance: dict


def fair_figures(engine: Engine, frame: TicketFrame, *, period: Period) -> FairFigures:
    """The sizes and re-appearances a scorecard's columns show, from its ticket frame read
    with `url_hash` and `network` (the re-appearance matching shares that read). Needs no
    scorecard, so it can run beside the groupings (`scorecards_with_fair_columns` does)."""
    from providers.address_space import provider_sizes

    # A provider's ASes come from the hosting seen on the tickets the scorecard counts
    # (as of its as_of), so a published size can be re-derived like every other figure.
    sizes = provider_sizes(engine, networks=False, seen=hosting_seen(frame))
    return FairFigures(sizes, reappearance_from_frame(frame, engine, period=period))


def add_fair_columns(scorecards: dict[str, dict], figures: FairFigures) -> dict[str, dict]:
    """Add the size and re-appearance keys to every row and the totals of `scorecards`
    (grouping -> scorecard JSON, as `monitor.statistics.scorecard.scorecards_from_frame`
    returns), from `figures` (`fair_figures`)."""
    sizes, reappearance = figures.sizes, figures.reappearance
    named_networks = [
        str(row["name"])
        for row in scorecards.get("network", {}).get("rows", [])
        if not _asn_key(row)
    ]
    space = sizes.get("space")
    if named_networks and space is not None and space.version:
        sizes = {**sizes, "networks": space.network_sizes(named_networks)}
    empty = reappearance_columns(
        {
            "removed": 0,
            "reappeared": 0,
            "reappeared_30d": 0,
            "reappeared_90d": 0,
            "reappeared_30d_share": None,
            "reappeared_30d_share_ci": [None, None],
            "reappeared_90d_share": None,
            "reappeared_90d_share_ci": [None, None],
            "reappeared_where": dict.fromkeys(WHERE, 0),
        }
    )
    for by, card in scorecards.items():
        card["size_data_version"] = sizes["data_version"]
        card["size_data_date"] = sizes["data_date"]
        for row in card["rows"]:
            row.update(size_columns(row, by, sizes))
            if by != "provider":
                row.update(reappearance_columns(None))
            else:
                row.update(
                    reappearance_columns(reappearance.get(str(row["name"])))
                    if str(row["name"]) in reappearance
                    else empty
                )
        card["totals"].update(dict.fromkeys(SIZE_KEYS))
        card["totals"].update(reappearance_columns(reappearance["all"]))
    return scorecards
