"""Personal data at the door: what of a phone, a name and free text may be stored.

Built on ``needsmap.privacy`` (the rules themselves) and made fast for millions of rows:

* Phones and names are hashed/masked once per *distinct* value, then spread back.
* Free text goes through ``privacy.mask_free_text`` only where it could hold a number the rules
  mask. Every rule there needs three digits followed by four more, with at most one ``-`` or
  space between (mobiles 3-4-4, landlines, ID numbers); text without such a run is left as is.
  Full-width digits (１３８…) count as digits there and are folded to ASCII before masking.
* A requester's own name, when it appears in that row's free text (or its sub-category or
  category text), is replaced by its masked form (王伟 → 王*). Other people's names in free
  text cannot be recognised and stay.
* Text is then cut to a length limit, *after* masking, so a cut never leaves half a number.
"""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from needsmap import privacy, scratch
from needsmap.ingest import parsing

FREE_TEXT_MAX_CHARS = 5_000  # description, address, and every cell of a rejected row's raw_row
SHORT_TEXT_MAX_CHARS = 200  # sub-category, source category

_MAY_HOLD_NUMBER = r"[0-9０-９]{3}[- ]?[0-9０-９]{4}"
_FULLWIDTH_DIGIT = "[０-９]"
_FOLD_DIGITS = str.maketrans("０１２３４５６７８９＋－", "0123456789+-")
_MIN_NAME_CHARS = 2  # a one-character "name" would blot out that character everywhere


def fold_fullwidth_digits(text: pd.Series) -> pd.Series:
    """Full-width digits, plus and minus as ASCII; other characters untouched."""
    has_fullwidth = text.str.contains(_FULLWIDTH_DIGIT, regex=True).fillna(False).to_numpy(dtype=bool)
    if not has_fullwidth.any():
        return text
    text = text.copy()
    text[has_fullwidth] = text[has_fullwidth].str.translate(_FOLD_DIGITS)
    return text


def mask_numbers(text: pd.Series) -> pd.Series:
    """``privacy.mask_free_text`` on the rows that could hold a phone or ID number.

    Full-width digits in those rows are folded to ASCII first, so ``１３８…`` is masked too.
    """
    may_hold = text.str.contains(_MAY_HOLD_NUMBER, regex=True).fillna(False).to_numpy(dtype=bool)
    if not may_hold.any():
        return text
    text = text.copy()
    text[may_hold] = privacy.mask_free_text(fold_fullwidth_digits(text[may_hold])).astype("str")
    return text


def mask_names_in_text(text: pd.Series, names: pd.Series, masked_names: pd.Series) -> pd.Series:
    """Each row's own name (two characters or more) replaced by its masked form in that row's text."""
    rows = pa.table({
        "text": pa.array(text, type=pa.large_string(), from_pandas=True),
        "name": pa.array(names.str.strip(), type=pa.large_string(), from_pandas=True),
        "masked": pa.array(masked_names, type=pa.large_string(), from_pandas=True),
    })
    # The needle differs per row, which pandas and Arrow string functions cannot express;
    # DuckDB's contains/replace take it per row, vectorised and multi-threaded.
    with scratch.cursor() as con:
        con.register("rows", rows)
        masked = con.sql(
            """
            SELECT CASE WHEN length(name) >= $min_chars AND contains(text, name)
                        THEN replace(text, name, masked) ELSE text END AS text
            FROM rows
            """,
            params={"min_chars": _MIN_NAME_CHARS},
        ).to_arrow_table()
    return parsing.text_series(masked.column("text"), text.index)


def clean_free_text(text: pd.Series, max_chars: int = FREE_TEXT_MAX_CHARS,
                    names: pd.Series | None = None, masked_names: pd.Series | None = None) -> pd.Series:
    """Free text fit to store: stripped, the row's own name masked, numbers masked, then cut."""
    text = text.astype("str").str.strip()
    if names is not None and masked_names is not None:
        text = mask_names_in_text(text, names, masked_names)
    return mask_numbers(text).str.slice(0, max_chars).where(lambda t: t != "")


def clean_short_text(text: pd.Series, max_chars: int = SHORT_TEXT_MAX_CHARS,
                     names: pd.Series | None = None, masked_names: pd.Series | None = None) -> pd.Series:
    """Like ``clean_free_text`` but once per distinct value: for low-variety columns (categories).

    With ``names``, a row's own name in its text is masked first (row by row, as in free text).
    """
    if names is not None and masked_names is not None:
        text = mask_names_in_text(text.astype("str").str.strip(), names, masked_names)
    codes, uniques = pd.factorize(text)
    return parsing.spread(clean_free_text(pd.Series(uniques, dtype="str"), max_chars), codes, text.index)


def phone_fields(phones: pd.Series, key: bytes | None) -> tuple[pd.Series | None, pd.Series]:
    """(keyed hash, masked phone) per row, NaN where blank; no hash when ``key`` is None.

    The hash is ``privacy.hash_phone`` of ``privacy.normalize_phone``, computed once per distinct
    number: the HMAC is the one per-value Python loop left in an import.
    """
    codes, uniques = pd.factorize(phones.astype("str"))
    normalized = privacy.normalize_phone(fold_fullwidth_digits(pd.Series(uniques, dtype="str")))
    hashed = None if key is None else parsing.spread(privacy.hash_phone(normalized, key), codes, phones.index)
    return hashed, parsing.spread(privacy.mask_phone(normalized), codes, phones.index)


def masked_names(names: pd.Series) -> pd.Series:
    """``privacy.mask_name`` per row (王** for 王小明), computed once per distinct name."""
    codes, uniques = pd.factorize(names.astype("str").str.strip().where(lambda n: n != ""))
    return parsing.spread(privacy.mask_name(pd.Series(uniques, dtype="str")), codes, names.index)
