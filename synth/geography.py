"""Yichang's geography for the synthetic city: counties, townships, communities, grids, stations."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class County:
    """A county-level division: name, region code, seat coordinates, spread (deg), grid share."""

    name: str
    code: str
    lat: float
    lon: float
    spread: float
    share: float
    urban: bool
    townships: tuple[str, ...]


COUNTIES: tuple[County, ...] = (
    County(
        "西陵区",
        "420502",
        30.705,
        111.285,
        0.03,
        0.12,
        True,
        (
            "夜明珠街道",
            "西陵街道",
            "学院街道",
            "云集街道",
            "西坝街道",
            "葛洲坝街道",
            "东苑街道",
            "南苑街道",
            "北苑街道",
            "窑湾街道",
        ),
    ),
    County(
        "伍家岗区",
        "420503",
        30.650,
        111.360,
        0.04,
        0.07,
        True,
        ("大公桥街道", "万寿桥街道", "宝塔河街道", "伍家乡", "伍家岗街道"),
    ),
    County(
        "点军区",
        "420504",
        30.680,
        111.230,
        0.06,
        0.03,
        True,
        ("点军街道", "艾家镇", "桥边镇", "联棚乡", "土城乡"),
    ),
    County("猇亭区", "420505", 30.530, 111.430, 0.04, 0.02, True, ("古老背街道", "虎牙街道", "云池街道")),
    County(
        "夷陵区",
        "420506",
        30.800,
        111.300,
        0.20,
        0.12,
        False,
        (
            "小溪塔街道",
            "龙泉镇",
            "鸦鹊岭镇",
            "黄花镇",
            "分乡镇",
            "雾渡河镇",
            "太平溪镇",
            "三斗坪镇",
            "乐天溪镇",
            "樟村坪镇",
            "下堡坪乡",
            "邓村乡",
        ),
    ),
    County(
        "远安县",
        "420525",
        31.060,
        111.640,
        0.12,
        0.045,
        False,
        ("鸣凤镇", "花林寺镇", "旧县镇", "洋坪镇", "茅坪场镇", "嫘祖镇", "河口乡"),
    ),
    County(
        "兴山县",
        "420526",
        31.350,
        110.750,
        0.15,
        0.04,
        False,
        ("古夫镇", "昭君镇", "峡口镇", "南阳镇", "黄粮镇", "水月寺镇", "高桥乡"),
    ),
    County(
        "秭归县",
        "420527",
        30.830,
        110.980,
        0.18,
        0.08,
        False,
        (
            "茅坪镇",
            "归州镇",
            "屈原镇",
            "沙镇溪镇",
            "两河口镇",
            "郭家坝镇",
            "杨林桥镇",
            "九畹溪镇",
            "水田坝乡",
            "泄滩乡",
            "梅家河乡",
            "磨坪乡",
        ),
    ),
    County(
        "长阳土家族自治县",
        "420528",
        30.470,
        111.200,
        0.20,
        0.09,
        False,
        (
            "龙舟坪镇",
            "高家堰镇",
            "磨市镇",
            "都镇湾镇",
            "资丘镇",
            "渔峡口镇",
            "榔坪镇",
            "贺家坪镇",
            "大堰乡",
            "鸭子口乡",
            "火烧坪乡",
        ),
    ),
    County(
        "五峰土家族自治县",
        "420529",
        30.200,
        110.670,
        0.18,
        0.045,
        False,
        ("五峰镇", "渔洋关镇", "仁和坪镇", "长乐坪镇", "湾潭镇", "付家堰乡", "牛庄乡", "采花乡"),
    ),
    County(
        "宜都市",
        "420581",
        30.380,
        111.450,
        0.12,
        0.085,
        False,
        (
            "陆城街道",
            "红花套镇",
            "高坝洲镇",
            "聂家河镇",
            "松木坪镇",
            "枝城镇",
            "姚家店镇",
            "五眼泉镇",
            "王家畈镇",
            "潘家湾土家族乡",
        ),
    ),
    County(
        "当阳市",
        "420582",
        30.820,
        111.790,
        0.14,
        0.11,
        False,
        (
            "玉阳街道",
            "坝陵街道",
            "玉泉街道",
            "两河镇",
            "河溶镇",
            "淯溪镇",
            "庙前镇",
            "王店镇",
            "半月镇",
            "草埠湖镇",
        ),
    ),
    County(
        "枝江市",
        "420583",
        30.430,
        111.760,
        0.14,
        0.115,
        False,
        (
            "马家店街道",
            "七星台镇",
            "白洋镇",
            "顾家店镇",
            "董市镇",
            "仙女镇",
            "问安镇",
            "安福寺镇",
            "百里洲镇",
        ),
    ),
)

COUNTY_BY_NAME = {c.name: c for c in COUNTIES}

# (counties used, target grids, townships per county at most)
SCALES: dict[str, tuple[tuple[str, ...], int, int]] = {
    "tiny": (("西陵区", "夷陵区"), 12, 2),
    "small": (tuple(c.name for c in COUNTIES), 300, 3),
    "city": (tuple(c.name for c in COUNTIES), 10_372, 99),
    # A quarter and a half of the city (same counties, fewer grids): for growth benchmarks.
    "city-quarter": (tuple(c.name for c in COUNTIES), 2_593, 99),
    "city-half": (tuple(c.name for c in COUNTIES), 5_186, 99),
}

_PLACE_FIRST = list("东西南北青白黄金桃杏梨柳松竹梅兰石龙凤鹤马双三五七九高长新古大小清平安太仙花茶桂红峡")
_PLACE_SECOND = list("山岭坪湾溪河桥岗冲畈岩口坡堰塘林园庙关洲台湖垭坝岔铺店")
_URBAN_SECOND = ["苑", "园", "路", "桥", "港", "湖", "城", "坊", "门", "街"]
_VILLAGE_SURNAMES = list("王李张刘陈杨黄周胡吴赵谭向覃田万彭邓余熊")
_ROADS = [
    "东山大道",
    "夷陵大道",
    "沿江大道",
    "发展大道",
    "珍珠路",
    "解放路",
    "胜利四路",
    "西陵二路",
    "城东大道",
    "港窑路",
    "桔城路",
    "白沙路",
    "隆康路",
    "中南路",
    "果园一路",
    "夷兴大道",
]
_GROUP_NUMERALS = ["一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


def is_urban_township(county: County, township: str) -> bool:
    """Streets (街道) and urban districts have 社区 and street addresses; towns have 村 too."""
    return township.endswith("街道") or (county.urban and not township.endswith("乡"))


def _community_name(rng: np.random.Generator, urban: bool, taken: set[str]) -> str:
    for _ in range(200):
        if urban:
            name = rng.choice(_PLACE_FIRST) + rng.choice(_PLACE_FIRST + _URBAN_SECOND) + "社区"
        elif rng.random() < 0.3:
            name = rng.choice(_VILLAGE_SURNAMES) + "家" + rng.choice(_PLACE_SECOND) + "村"
        else:
            name = rng.choice(_PLACE_FIRST) + rng.choice(_PLACE_SECOND) + "村"
        if name not in taken and name[0] != name[1]:
            taken.add(name)
            return str(name)
    raise RuntimeError("could not find a fresh community name")


def _station_name(county: County, township: str) -> str:
    stem = township.removesuffix("街道").removesuffix("镇").removesuffix("乡").removesuffix("土家族")
    if county.urban:
        return f"宜昌市公安局{county.name}分局{stem}派出所"
    return f"{county.name}公安局{stem}派出所"


def _allocate(total: int, shares: np.ndarray) -> np.ndarray:
    """Integers proportional to ``shares`` summing to ``total`` (largest remainders), each >= 1."""
    raw = shares / shares.sum() * total
    counts = np.maximum(np.floor(raw).astype(int), 1)
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    i = 0
    while counts.sum() < total:
        counts[order[i % len(order)]] += 1
        i += 1
    while counts.sum() > total:
        j = int(np.argmax(counts))
        counts[j] -= 1
    return counts


def build_geography(scale: str, rng: np.random.Generator) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grids and police stations of the city at ``scale`` (tiny, small or city).

    Returns ``(grids, stations)`` in the contract's columns, plus on ``grids`` the helper columns
    ``urban`` (bool) and ``county_code``.
    """
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}; expected one of {sorted(SCALES)}")
    county_names, total_grids, max_townships = SCALES[scale]
    counties = [COUNTY_BY_NAME[n] for n in county_names]
    per_county = _allocate(total_grids, np.array([c.share for c in counties]))
    grid_rows: list[dict[str, object]] = []
    station_rows: list[dict[str, object]] = []
    for county, n_grids in zip(counties, per_county, strict=True):
        townships = list(county.townships[:max_townships])
        # The seat township is denser: twice the grids of the others.
        shares = np.array([2.0 if i == 0 else 1.0 for i in range(len(townships))])
        shares *= rng.uniform(0.6, 1.4, len(townships))
        t_counts = _allocate(int(n_grids), shares) if n_grids >= len(townships) else None
        if t_counts is None:
            townships = townships[: int(n_grids)]
            t_counts = np.ones(len(townships), dtype=int)
        station_for: dict[str, str] = {}
        for t_idx, township in enumerate(townships):
            small_rural = not is_urban_township(county, township) and t_counts[t_idx] < 0.5 * np.mean(
                t_counts
            )
            if small_rural and t_idx > 0 and rng.random() < 0.5:
                # A small rural township shares the station of the previous one.
                station_for[township] = station_for[townships[t_idx - 1]]
            else:
                station_id = f"PS{county.code}{len(station_rows) + 1:03d}"
                station_rows.append(
                    {
                        "station_id": station_id,
                        "station_name": _station_name(county, township),
                        "county": county.name,
                    }
                )
                station_for[township] = station_id
        for t_idx, (township, n_t) in enumerate(zip(townships, t_counts, strict=True)):
            urban = is_urban_township(county, township)
            t_lat = county.lat + rng.normal(0, county.spread * 0.6)
            t_lon = county.lon + rng.normal(0, county.spread * 0.6)
            taken: set[str] = set()
            remaining = int(n_t)
            c_idx = 0
            while remaining > 0:
                # Town seats are urban-style communities, the rest of a rural township villages.
                c_urban = urban or c_idx == 0
                size = min(remaining, int(rng.integers(3, 9)) if c_urban else int(rng.integers(1, 4)))
                community = _community_name(rng, c_urban, taken)
                c_lat = t_lat + rng.normal(0, 0.012 if urban else 0.03)
                c_lon = t_lon + rng.normal(0, 0.012 if urban else 0.03)
                for g in range(size):
                    seq = int(n_t) - remaining + 1
                    grid_rows.append(
                        {
                            "grid_id": f"{county.code}{t_idx + 1:03d}{seq:04d}",
                            "grid_name": f"{community}第{g + 1}网格",
                            "community": community,
                            "township": township,
                            "county": county.name,
                            "station_id": station_for[township],
                            "lat": round(float(c_lat + rng.normal(0, 0.003)), 6),
                            "lon": round(float(c_lon + rng.normal(0, 0.003)), 6),
                            "urban": c_urban,
                            "county_code": county.code,
                        }
                    )
                    remaining -= 1
                c_idx += 1
    return pd.DataFrame(grid_rows), pd.DataFrame(station_rows)


def street_address(rng: np.random.Generator, grid: dict[str, object], house: int) -> str:
    """A plausible address inside ``grid``: a street number in 社区, a group and house in 村."""
    base = f"{grid['county']}{grid['township']}{grid['community']}"
    if grid["urban"]:
        road = _ROADS[int(rng.integers(0, len(_ROADS)))]
        return f"{base}{road}{int(rng.integers(1, 200))}号{house % 12 + 1}栋{house % 4 + 1}单元{int(rng.integers(1, 28))}0{house % 4 + 1}室"
    group = _GROUP_NUMERALS[house % len(_GROUP_NUMERALS)]
    return f"{base}{group}组{house + 1}号"
