"""The grid risk map: outlines of counties and townships drawn from their grids' points, the grids
as dots coloured by their worst tier (the worst drawn on top), and a first view that fits the
user's scope. Pure geometry and pydeck layer specs; needs no map token or internet.

>>> view = fitted_view(pd.Series([30.6, 30.8]), pd.Series([111.2, 111.5]))
>>> 9 < view["zoom"] < 11
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from models.indicators import TIER_ORDER, tier_colour
from ui.i18n import label

MAP_WIDTH_PX, MAP_HEIGHT_PX = 700, 460
# How far an outline reaches beyond its outermost grid centres (degrees, about 400 m).
OUTLINE_MARGIN = 0.004


def _hull(points: np.ndarray) -> list[list[float]]:
    """The convex hull of ``(lon, lat)`` points (monotone chain), pushed out by
    :data:`OUTLINE_MARGIN`; fewer than three distinct points give a small square."""
    unique = np.unique(points, axis=0)
    if len(unique) < 3:
        lon, lat = unique.mean(axis=0)
        m = OUTLINE_MARGIN * 2
        return [[lon - m, lat - m], [lon + m, lat - m], [lon + m, lat + m], [lon - m, lat + m]]
    ordered = sorted(map(tuple, unique))

    def cross(o: tuple, a: tuple, b: tuple) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple] = []
    for point in ordered:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], point) <= 0:
            lower.pop()
        lower.append(point)
    upper: list[tuple] = []
    for point in reversed(ordered):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], point) <= 0:
            upper.pop()
        upper.append(point)
    hull = np.array(lower[:-1] + upper[:-1])
    centre = hull.mean(axis=0)
    away = hull - centre
    length = np.hypot(away[:, 0], away[:, 1])
    length[length == 0] = 1.0
    return (hull + away / length[:, None] * OUTLINE_MARGIN).round(6).tolist()


def area_outlines(grids: pd.DataFrame, level: str) -> pd.DataFrame:
    """One outline per ``level`` (``county`` or ``township``) from its grids' centres: name,
    county, polygon (``[[lon, lat], …]``)."""
    located = grids.assign(
        lat=pd.to_numeric(grids["lat"], errors="coerce"), lon=pd.to_numeric(grids["lon"], errors="coerce")
    )
    located = located.dropna(subset=["lat", "lon"])
    keys = ["county"] if level == "county" else ["county", level]
    rows = []
    for key, group in located.groupby(keys):
        parts = key if isinstance(key, tuple) else (key,)
        rows.append(
            {
                "name": str(parts[-1]),
                "county": str(parts[0]),
                "polygon": _hull(group[["lon", "lat"]].to_numpy()),
            }
        )
    return pd.DataFrame(rows, columns=["name", "county", "polygon"])


def grid_points(risk: pd.DataFrame) -> pd.DataFrame:
    """The grids to draw, worst tier last (so drawn on top), with colour, radius and tooltip text."""
    points = risk.dropna(subset=["lat", "lon"]).copy()
    order = {tier: i for i, tier in enumerate(TIER_ORDER)}
    points["_o"] = points["top_tier"].map(order).fillna(len(order))
    points = points.sort_values(["_o", "max_probability"], ascending=[False, True], kind="stable")
    points["colour"] = points["top_tier"].map(lambda tier: [*tier_colour(str(tier)), 220])
    points["radius"] = 60 + 40 * points["n_open"].clip(upper=25) ** 0.5
    points["tier_name"] = points["top_tier"].map(lambda tier: label("tier", tier))
    points["probability_text"] = points["max_probability"].map(lambda p: f"{p:.1%}")
    return points.drop(columns=["_o"]).reset_index(drop=True)


def fitted_view(
    lat: pd.Series, lon: pd.Series, width_px: int = MAP_WIDTH_PX, height_px: int = MAP_HEIGHT_PX
) -> dict[str, float]:
    """Centre and zoom that show every point with a margin (web mercator: a degree of latitude is
    stretched by 1/cos(latitude)); a default view of Yichang without points."""
    if lat.empty:
        return {"latitude": 30.7, "longitude": 111.3, "zoom": 8.0}
    lat_span = max(float(lat.max() - lat.min()), 0.005)
    lon_span = max(float(lon.max() - lon.min()), 0.005)
    centre = float((lat.max() + lat.min()) / 2)
    per_degree = 256 / 360  # pixels per degree of longitude at zoom 0
    zoom_lon = math.log2(width_px * 0.8 / (lon_span * per_degree))
    zoom_lat = math.log2(height_px * 0.8 * math.cos(math.radians(centre)) / (lat_span * per_degree))
    return {"latitude": centre, "longitude": float((lon.max() + lon.min()) / 2),
            "zoom": float(min(14.0, max(4.0, min(zoom_lon, zoom_lat))))}  # fmt: skip


def map_layers(risk: pd.DataFrame, grids: pd.DataFrame) -> tuple[list, dict]:
    """pydeck layers (county and township outlines, then the grid dots) and the first view."""
    import pydeck as pdk

    points = grid_points(risk)
    counties, townships = area_outlines(grids, "county"), area_outlines(grids, "township")
    layers = [
        pdk.Layer("PolygonLayer", data=townships, get_polygon="polygon", stroked=True, filled=True,
                  get_fill_color=[120, 120, 160, 18], get_line_color=[90, 90, 140, 160], line_width_min_pixels=1,
                  pickable=False),
        pdk.Layer("PolygonLayer", data=counties, get_polygon="polygon", stroked=True, filled=False,
                  get_line_color=[40, 40, 40, 220], line_width_min_pixels=3, pickable=False),
        pdk.Layer("ScatterplotLayer",
                  data=points[["grid_id", "grid_name", "township", "county", "lat", "lon", "n_open", "n_red", "n_orange",
                               "tier_name", "probability_text", "colour", "radius"]],
                  get_position="[lon, lat]", get_fill_color="colour", get_radius="radius", radius_min_pixels=5,
                  radius_max_pixels=26, pickable=True, stroked=True, get_line_color=[40, 40, 40],
                  line_width_min_pixels=1),
    ]  # fmt: skip
    scope = grids.assign(
        lat=pd.to_numeric(grids["lat"], errors="coerce"), lon=pd.to_numeric(grids["lon"], errors="coerce")
    )
    scope = scope.dropna(subset=["lat", "lon"])
    return layers, fitted_view(scope["lat"], scope["lon"])
