"""Person resolution on tiny hand-made cases with exact expected results."""

from __future__ import annotations

import pandas as pd

from etl.blocking import pinyin_keys
from etl.match_weights import MATCH_THRESHOLD, explain_pair
from etl.normalise import normalise_ids, normalise_names, normalise_phones
from etl.resolve import attach_by_unique_name, representative_persons, resolve_persons

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def valid_id(body17: str) -> str:
    return body17 + "10X98765432"[sum(int(c) * w for c, w in zip(body17, WEIGHTS, strict=True)) % 11]


def records(rows: list[dict]) -> pd.DataFrame:
    """Person records as the pipeline prepares them, from a few fields per row."""
    frame = pd.DataFrame(
        [
            {
                "name": r.get("name"),
                "id_number": r.get("id", ""),
                "phone": r.get("phone", ""),
                "gender": r.get("gender"),
                "birth_year": r.get("year"),
                "address": r.get("address"),
                "community": r.get("community"),
            }
            for r in rows
        ]
    )
    ids = normalise_ids(frame["id_number"].astype("str"))
    return pd.DataFrame(
        {
            "name_norm": normalise_names(frame["name"].astype("str")),
            "id_number": ids["id_number"],
            "id_valid": ids["id_valid"],
            "id_birth_year": ids["id_birth_year"],
            "id_gender": ids["id_gender"],
            "phone": normalise_phones(frame["phone"].astype("str")),
            "gender": frame["gender"].astype("str"),
            "birth_year": frame["birth_year"].astype("Int64"),
            "address": frame["address"].astype("str"),
            "community": frame["community"].astype("str"),
        }
    )


def test_pinyin_keys_make_homophones_equal():
    keys = pinyin_keys(pd.Series(["张伟", "章炜", "张薇", "李娜", None], dtype="str"))
    assert keys[0] == keys[1] == keys[2] == "zhangwei"
    assert keys[3] == "lina" and pd.isna(keys[4])


def test_homophone_name_and_same_phone_is_one_person():
    recs = records(
        [
            {"name": "张伟", "phone": "138 0013 8000", "gender": "M", "year": 1985},
            {"name": "章炜", "phone": "+86-138-0013-8000"},
            {"name": "李娜", "phone": "13900139000", "gender": "F"},
        ]
    )
    ids, pairs = resolve_persons(recs)
    assert ids.tolist() == ["P000001", "P000001", "P000002"]
    accepted = pairs[pairs["accepted"]]
    assert accepted[["record_i", "record_j"]].values.tolist() == [[0, 1]]
    assert accepted["name"].tolist() == ["pinyin"] and accepted["phone"].tolist() == ["exact"]


def test_same_name_different_valid_ids_are_different_persons():
    recs = records(
        [
            {
                "name": "张伟",
                "id": valid_id("42050219850312001"),
                "gender": "M",
                "year": 1985,
                "address": "东山社区一组1号",
                "community": "东山社区",
            },
            {
                "name": "张伟",
                "id": valid_id("42050219900920003"),
                "gender": "M",
                "year": 1990,
                "address": "东山社区一组1号",
                "community": "东山社区",
            },
        ]
    )
    ids, _ = resolve_persons(recs)
    assert ids.tolist() == ["P000001", "P000002"]


def test_mistyped_id_and_traditional_name_join_the_right_person():
    good = valid_id("42050219870505002")
    typo = good[:10] + ("6" if good[10] != "6" else "7") + good[11:]
    recs = records(
        [
            {"name": "李娜", "id": good, "phone": "13900139000"},
            {"name": "李娜", "id": typo},
            {"name": "趙強", "phone": "13600136000", "year": 1965},
            {"name": "赵强", "phone": "136-0013-6000", "year": 1965},
        ]
    )
    ids, pairs = resolve_persons(recs)
    assert ids.tolist() == ["P000001", "P000001", "P000002", "P000002"]
    row = pairs[(pairs["record_i"] == 0) & (pairs["record_j"] == 1)].iloc[0]
    assert row["id"] == "close" and row["name"] == "exact"


def test_chaining_cannot_merge_two_valid_ids():
    # Record 1 (no id) looks like both 0 and 2, which hold different valid ids (two digits apart:
    # no typo).
    id_a, id_b = valid_id("42050219850312001"), valid_id("42050219850312017")
    recs = records(
        [
            {"name": "王芳", "id": id_a, "phone": "13700137000", "year": 1985},
            {"name": "王芳", "phone": "13700137000", "year": 1985},
            {"name": "王芳", "id": id_b, "phone": "13700137000", "year": 1985},
        ]
    )
    ids, pairs = resolve_persons(recs)
    assert ids[0] != ids[2]
    assert ids[1] in (ids[0], ids[2])
    assert pairs[(pairs["record_i"] == 0) & (pairs["record_j"] == 2)]["id"].tolist() == ["conflict"]


def test_same_name_and_year_alone_is_not_enough():
    recs = records(
        [
            {"name": "刘洋", "gender": "M", "year": 1980},
            {"name": "刘洋", "gender": "M", "year": 1980},
            {"name": "刘洋", "gender": "M", "year": 1980, "address": "桃花村3号", "community": "桃花村"},
            {"name": "刘洋", "gender": "M", "year": 1980, "address": "桃花村4号", "community": "桃花村"},
        ]
    )
    ids, _ = resolve_persons(recs)
    assert ids.tolist() == ["P000001", "P000002", "P000003", "P000003"]


def test_explain_pair_sums_weights():
    recs = records([{"name": "张伟", "phone": "13800138000"}, {"name": "章炜", "phone": "13800138000"}])
    table = explain_pair(recs, 0, 1)
    by = table.set_index("comparison")
    assert by.loc["name", "level"] == "pinyin" and by.loc["phone", "level"] == "exact"
    assert by.loc["id", "level"] == "missing" and by.loc["id", "weight"] == 0
    assert abs(by.loc["total", "weight"] - by.drop("total")["weight"].sum()) < 1e-9
    assert by.loc["total", "weight"] >= MATCH_THRESHOLD


def test_representatives_take_most_frequent_values():
    recs = records(
        [
            {"name": "张炜", "phone": "13800138000"},
            {"name": "张伟", "phone": "13800138000", "id": valid_id("42050219850312001")},
            {"name": "张伟", "phone": "13800138000"},
        ]
    )
    recs["address"] = pd.Series(["a", None, "a"], dtype="str")
    recs["person_id"] = resolve_persons(recs)[0]
    persons = representative_persons(recs)
    assert persons[["person_id", "name", "phone", "n_records"]].values.tolist() == [
        ["P000001", "张伟", "13800138000", 3]
    ]
    assert persons.loc[0, "id_number"] == valid_id("42050219850312001")
    assert persons.loc[0, "birth_year"] == 1985 and persons.loc[0, "gender"] == "M"
    assert persons.loc[0, "address"] == "a"


def test_em_estimates_keep_agreement_levels_informative():
    from etl.blocking import prepare_records
    from etl.match_weights import M_U, compare_pairs, estimate_m_u

    rows = []
    for k in range(30):
        phone = f"1380000{k:04d}"
        rows.append({"name": f"王{'一二三四五六七八九十'[k % 10]}{k}", "phone": phone, "year": 1960 + k})
        rows.append({"name": f"王{'一二三四五六七八九十'[k % 10]}{k}", "phone": phone, "year": 1960 + k})
    prep = prepare_records(records(rows))
    pairs = pd.DataFrame(
        {
            "i": [2 * k for k in range(30)] + [2 * k for k in range(29)],
            "j": [2 * k + 1 for k in range(30)] + [2 * k + 2 for k in range(29)],
        }
    )
    estimated = estimate_m_u(compare_pairs(prep, pairs), iterations=10)
    assert set(estimated) == set(M_U)
    m_exact, u_exact = estimated["phone"]["exact"]
    assert m_exact > 0.9 and u_exact < 0.1


def test_revalidated_id_typo_joins_but_twins_stay_apart():
    true_id = valid_id("42050219850312001")
    retyped = valid_id("42050219850312051")  # one digit off, check character re-typed to fit
    twin = valid_id("42050219850312003")  # born the same day, next sequence number
    home = {"address": "东山社区三组12号", "community": "东山社区"}
    recs = records(
        [
            {"name": "王芳", "id": true_id, "phone": "13700137000", "year": 1985, **home},
            {"name": "王芳", "id": retyped, "phone": "13700137000", "year": 1985, **home},
            {"name": "王芳", "id": true_id, "year": 1985, **home},
            {"name": "王明", "id": twin, "phone": "13700137000", "year": 1985, **home},  # one family phone
        ]
    )
    ids, pairs = resolve_persons(recs)
    assert ids.tolist() == ["P000001", "P000001", "P000001", "P000002"]
    levels = pairs.set_index(["record_i", "record_j"])["id"]
    assert levels[(0, 1)] == "near" and levels[(0, 2)] == "exact"
    # The twin's pair scores high (id near, phone, year, address) but names differ: never one person.
    twin_pair = pairs[(pairs["record_i"] == 0) & (pairs["record_j"] == 3)].iloc[0]
    assert twin_pair["id"] == "near" and twin_pair["accepted"]


def test_typo_in_the_birth_date_with_a_retyped_check_character_is_close():
    good = valid_id("42050219850312001")
    typo = valid_id("42050259850312001")  # year 5985: well-formed but not a valid id
    recs = records([{"name": "李娜", "id": good, "phone": "13900139000"}, {"name": "李娜", "id": typo}])
    ids, pairs = resolve_persons(recs)
    assert not recs["id_valid"][1]
    assert pairs["id"].tolist() == ["close"] and ids.nunique() == 1


def test_traditional_address_matches_its_simplified_form():
    from etl.normalise import normalise_address_text

    got = normalise_address_text(pd.Series(["西陵區夜明珠街道東山社區 三組12號", None], dtype="str"))
    assert got[0] == "西陵区夜明珠街道东山社区三组12号" and pd.isna(got[1])


def test_pinyin_keys_name_each_distinct_name_once_and_keep_the_index() -> None:
    names = pd.Series(["王伟", None, "汪伟", "王伟", "Li Na"], dtype="str", index=[3, 4, 5, 6, 7])
    keys = pinyin_keys(names)
    assert keys.index.equals(names.index)
    assert keys.iloc[0] == keys.iloc[2] == keys.iloc[3] == "wangwei"  # homophones share a key
    assert pd.isna(keys.iloc[1])
    assert keys.iloc[4] == "li na"
    assert len(pinyin_keys(pd.Series([], dtype="str"))) == 0


def test_unique_names_join_twins_weak_clusters_and_nearby_holders():
    twin_id = valid_id("42050219800101001")
    rows = [
        ("a", {"name": "王强", "id": twin_id, "year": 1980}, "call", "C0"),
        # The cluster labelled later is the first to carry 李华; n's mistyped id fits only a's.
        ("b", {"name": "李华", "year": 1980, "gender": "M"}, "call", "C1"),
        ("a", {"name": "李华", "year": 1980}, "call", "C2"),
        ("n", {"name": "李华", "id": twin_id[:16] + "2" + twin_id[17]}, "report", "C3"),
        ("c", {"name": "赵敏", "phone": "13800138003"}, "call", "C4"),
        ("d", {"name": "赵敏"}, "report", "C5"),
        ("e", {"name": "孙丽", "id": valid_id("42050219850312001")}, "call", "C6"),
        ("f", {"name": "孙丽", "id": "12345"}, "report", "C7"),  # no typo of e's id
        ("g", {"name": "周杰", "year": 1970}, "call", "C8"),
        ("h", {"name": "周杰", "year": 1971}, "call", "C9"),
        ("i", {"name": "周杰"}, "report", "C10"),
        ("j", {"name": "吴刚", "phone": "13800138010", "year": 1960, "community": "东山社区"}, "call", "C11"),
        ("k", {"name": "吴刚", "phone": "13800138011", "year": 1961, "community": "西山社区"}, "call", "C12"),
        ("l", {"name": "吴刚"}, "relation", "R1"),
        ("m", {"name": "吴妻", "community": "东山社区"}, "relation", "R1"),
    ]
    recs = records([fields for _, fields, _, _ in rows]).assign(
        event_kind=pd.Series([kind for *_, kind, _ in rows], dtype="str"),
        event_id=pd.Series([event for *_, event in rows], dtype="str"),
    )
    labels = pd.Series([label for label, *_ in rows], dtype="str")
    ids, joined = attach_by_unique_name(recs, labels)
    # a and b are twins of one year; n (a typo of a's id) and d join the only holder of their
    # name, the earlier twin, l the holder
    # living beside its partner; f's id is no typo of e's, g and h differ in birth year and i
    # has two holders and no surroundings.
    people = {"a": 1, "b": 1, "n": 1, "c": 2, "d": 2, "e": 3, "f": 4, "g": 5, "h": 6, "i": 7}
    people |= {"j": 8, "k": 9, "l": 8, "m": 10}
    assert ids.tolist() == [f"P{people[label]:06d}" for label in labels]
    assert joined == 4
