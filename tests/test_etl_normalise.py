"""Normalisation of phones, resident ids, names and addresses."""

from __future__ import annotations

import pandas as pd

from etl.normalise import normalise_ids, normalise_names, normalise_phones, split_addresses


def s(*values):
    return pd.Series(list(values), dtype="str")


def test_phones_one_form():
    out = normalise_phones(
        s("138 0013 8000", "+86 138-0013-8000", "0086 13800138000", "0717-6543210", "", None)
    )
    assert out.tolist()[:4] == ["13800138000", "13800138000", "13800138000", "07176543210"]
    assert out[4:].isna().all()


def test_ids_check_digit_birth_gender_region():
    ids = normalise_ids(s("11010519491231002x", "110105194912310021", "420502198503120018", "4205", ""))
    assert ids["id_number"].tolist()[:2] == ["11010519491231002X", "110105194912310021"]
    assert ids["id_valid"].tolist() == [True, False, True, False, False]
    assert ids.loc[0, "id_birth_year"] == 1949 and ids.loc[0, "id_gender"] == "F"
    assert ids.loc[2, "id_gender"] == "M" and ids.loc[2, "id_region"] == "420502"
    assert pd.isna(ids.loc[1, "id_birth_year"])


def test_id_with_valid_check_digit_but_impossible_date_is_invalid():
    # 2025-02-30 with a matching check digit
    body = "42050220250230001"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    check = "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]
    assert not normalise_ids(s(body + check))["id_valid"][0]


def test_names_fullwidth_spaces_traditional():
    out = normalise_names(s("張　偉", "趙 強", "ＬＩ", "阿依·古丽", "", None))
    assert out.tolist()[:4] == ["张伟", "赵强", "LI", "阿依·古丽"]
    assert out[4:].isna().all()


def test_split_addresses_and_locate_grids():
    grids = pd.DataFrame(
        {
            "grid_id": ["G1", "G2", "G3", "G4"],
            "grid_name": ["东山一网格", "东山二网格", "桃花村网格", "新村网格"],
            "community": ["东山社区", "东山社区", "桃花村", "新村"],
            "township": ["夜明珠街道", "夜明珠街道", "乐天溪镇", "甲镇"],
            "county": ["西陵区", "西陵区", "夷陵区", "夷陵区"],
        }
    )
    grids.loc[4] = ["G5", "新村网格", "新村", "乙镇", "夷陵区"]
    out = split_addresses(
        s(
            "西陵区夜明珠街道东山社区三组12号",
            "乐天溪镇桃花村5号",
            "东山社区东山二网格旁",
            "新村3号",
            "乙镇新村3号",
            "无名路",
        ),
        grids,
    )
    assert out.loc[0, "county"] == "西陵区" and pd.isna(out.loc[1, "county"])
    assert out.loc[0, "township"] == "夜明珠街道" and out.loc[0, "community"] == "东山社区"
    assert out.loc[0, "rest"] == "三组12号"
    assert out["grid_id"].tolist()[:3] == ["G1", "G3", "G2"]
    assert pd.isna(out.loc[3, "grid_id"])  # 新村 exists in two townships: ambiguous
    assert out.loc[4, "grid_id"] == "G5"
    assert pd.isna(out.loc[5, "grid_id"]) and out.loc[5, "rest"] == "无名路"


def test_fullwidth_digits_in_ids_and_phones():
    assert normalise_ids(s("４２０５０２１９８５０３１２００１８"))["id_number"][0] == "420502198503120018"
    assert normalise_phones(s("１３８ ００１３ ８０００"))[0] == "13800138000"
