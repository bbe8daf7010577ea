"""Personal data at the door: what of a phone, a name and free text may be stored.

Built on ``needsmap.privacy`` (the rules themselves) and made fast for millions of rows:

* Phones and names are hashed/masked once per *distinct* value, then spread back.
* Free text goes through ``privacy.mask_free_text`` only where it could hold something the
  rules mask: a run of three digits and four more (with at most one ``-`` or space between:
  mobiles, landlines, ID and card numbers) or one digit, a dash and four (8765-4321), an ``@``,
  or a word that introduces a name (我叫, 姓名, 联系人, 先生, 女士 …). The test is RE2 over the
  Arrow column; text without any of these is left as is. Full-width digits (１３８…) count as
  digits there and are folded to ASCII before masking.
* A requester's own name, when it appears in that row's free text (or its sub-category or
  category text), is replaced by its masked form (王伟 → 王*), wherever it stands. Other
  people's names are masked only where a cue introduces them (see ``privacy``).
* Text is then cut to a length limit, *after* masking, so a cut never leaves half a number.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from needsmap import privacy, scratch
from needsmap.ingest import parsing

FREE_TEXT_MAX_CHARS = 5_000  # description, address, and every cell of a rejected row's raw_row
SHORT_TEXT_MAX_CHARS = 200  # sub-category, source category

_MAY_HOLD_NUMBER = r"[0-9０-９]{3}[- ]?[0-9０-９]{4}|[0-9０-９]-[0-9０-９]{4}"
# One RE2 pass over the column finds every row any rule could touch.
_MAY_HOLD_ANYTHING = f"{_MAY_HOLD_NUMBER}|@|{privacy.MAY_HOLD['name']}"
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
    """``privacy.mask_free_text`` on the rows that could hold something it masks.

    A row is looked at when RE2 (Arrow, no Python per row) finds a run of digits a phone, ID or
    card number needs, an ``@``, or a word that introduces a name (我叫, 姓名, 先生 …); full-width
    digits in those rows are folded to ASCII first, so ``１３８…`` is masked too.
    """
    values = pa.array(text, type=pa.large_string(), from_pandas=True)
    may_hold = pc.match_substring_regex(values, _MAY_HOLD_ANYTHING).fill_null(False).to_numpy(zero_copy_only=False)
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
        # execute, not sql(params=…): on DuckDB 1.5 the latter is 2–3× slower to fetch.
        masked = con.execute(
            """
            SELECT CASE WHEN length(name) >= $min_chars AND contains(text, name)
                        THEN replace(text, name, masked) ELSE text END AS text
            FROM rows
            """,
            {"min_chars": _MIN_NAME_CHARS},
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


# A phone the export itself masked: digits, then stars or x's, then digits (138****5678).
_MASKED_PHONE = r"[0-9０-９][*＊×xX●]{2,}[0-9０-９]|^[*＊]+$"


def is_masked_phone(phones: pd.Series) -> np.ndarray:
    """True where a phone cell was already masked in the export (``138****5678``)."""
    values = pa.array(phones, type=pa.large_string(), from_pandas=True)
    return pc.match_substring_regex(values, _MASKED_PHONE).fill_null(False).to_numpy(zero_copy_only=False)


def phone_fields(phones: pd.Series, key: bytes | None) -> tuple[pd.Series | None, pd.Series]:
    """(keyed hash, masked phone) per row, NaN where blank; no hash when ``key`` is None.

    The hash is ``privacy.hash_phone`` of ``privacy.normalize_phone``, computed once per distinct
    number: the HMAC is the one per-value Python loop left in an import. A phone the export
    already masked (138****5678) gets no hash: many callers share that form, so such a record
    counts as a requester of its own (``schema.REQUESTER_KEY_SQL`` falls back to the record id);
    its masked form is kept.
    """
    codes, uniques = pd.factorize(phones.astype("str"))
    uniques = pd.Series(uniques, dtype="str")
    masked_in_export = pd.Series(is_masked_phone(uniques), index=uniques.index)
    normalized = privacy.normalize_phone(fold_fullwidth_digits(uniques)).mask(masked_in_export)
    masked = privacy.mask_phone(normalized).astype("object")
    masked[masked_in_export] = (uniques[masked_in_export].str.translate(_FOLD_DIGITS)
                                .str.replace(r"[^0-9*]", "*", regex=True).str.replace(r"\*+", "****", regex=True))
    hashed = None if key is None else parsing.spread(privacy.hash_phone(normalized, key), codes, phones.index)
    return hashed, parsing.spread(masked, codes, phones.index)


_NAME_LIKE_CELL = (f"^(?:{'|'.join(privacy.COMPOUND_SURNAMES)}|[{privacy.SURNAMES}])"
                   "[一-龥]{1,2}$")


def mask_name_like_cells(text: pd.Series) -> pd.Series:
    """Cells that are nothing but a likely name (张三, 王小明, 欧阳娜娜) masked as names (张*)."""
    values = pa.array(text, type=pa.large_string(), from_pandas=True)
    name_like = pc.match_substring_regex(pc.utf8_trim_whitespace(values), _NAME_LIKE_CELL)
    name_like = name_like.fill_null(False).to_numpy(zero_copy_only=False)
    if not name_like.any():
        return text
    text = text.copy()
    text[name_like] = masked_names(text[name_like])
    return text


def masked_names(names: pd.Series) -> pd.Series:
    """``privacy.mask_name`` per row (王** for 王小明), computed once per distinct name."""
    codes, uniques = pd.factorize(names.astype("str").str.strip().where(lambda n: n != ""))
    return parsing.spread(privacy.mask_name(pd.Series(uniques, dtype="str")), codes, names.index)
