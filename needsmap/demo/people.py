"""Synthetic requesters: made-up mobile numbers and names per person id, and the hashed and
masked forms the database keeps (as the importer makes them)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from needsmap import privacy
from needsmap.demo.model import _pick

# Synthetic people. Mobile prefixes of the three carriers; names from the ten commonest surnames.
_PHONE_PREFIXES = np.array([
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    177, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189,
], dtype=np.int64)
_PHONE_SPACE = len(_PHONE_PREFIXES) * 10**8
_PHONE_MULTIPLIER = 2_654_435_761  # prime, so person → number is a bijection on the phone space
_SURNAMES = tuple("王李张刘陈杨赵黄周吴")
_SURNAME_P = np.array([7.3, 7.2, 6.9, 5.4, 4.5, 3.1, 2.3, 2.2, 1.7, 1.6]) / 42.2
_GIVEN = tuple("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国志文斌辉海林春梅小燕")

def _all_names() -> tuple[list[str], list[str]]:
    """Every synthetic name (surname + one or two given characters) and its masked form."""
    given = list(_GIVEN) + [a + b for a in _GIVEN for b in _GIVEN]
    names = [s + g for s in _SURNAMES for g in given]
    masked = privacy.mask_name(pd.Series(names, dtype="string"))
    return names, masked.tolist()


_NAMES, _MASKED_NAMES = _all_names()

def _splitmix64(values: np.ndarray) -> np.ndarray:
    z = values.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def _phone_numbers(person: np.ndarray, seed: int) -> np.ndarray:
    """A distinct synthetic 11-digit mobile number (int64) per person id (< _PHONE_SPACE)."""
    offset = (seed * 1_000_003 + 12_345) % _PHONE_SPACE
    scrambled = (person * _PHONE_MULTIPLIER % _PHONE_SPACE + offset) % _PHONE_SPACE
    return _PHONE_PREFIXES[scrambled // 10**8] * 10**8 + scrambled % 10**8


def _name_ids(person: np.ndarray, seed: int) -> np.ndarray:
    """An index into _NAMES per person: a weighted surname and one or two given characters."""
    bits = _splitmix64(person.astype(np.uint64) ^ np.uint64(seed % 2**63))
    surname = _pick(np.cumsum(_SURNAME_P), (bits % np.uint64(10_000)).astype(float) / 10_000)
    g = len(_GIVEN)
    given_bits = (bits >> np.uint64(20)).astype(np.int64)
    two = (given_bits % 4) != 0  # three in four have a two-character given name
    given = np.where(two, g + (given_bits // 4) % (g * g), (given_bits // 4) % g)
    return surname * (g + g * g) + given

def _requester_columns(frame: pd.DataFrame, key: bytes) -> tuple[pd.Series, pd.Series]:
    """Keyed hash and masked form of each row's synthetic phone, as the importer makes them."""
    unique, inverse = np.unique(frame["phone"].to_numpy(), return_inverse=True)
    text = pd.Series(unique.astype(str), dtype="string").mask(unique == 0)
    normalized = privacy.normalize_phone(text)
    hashed = privacy.hash_phone(normalized, key).array.take(inverse)
    masked = privacy.mask_phone(normalized).array.take(inverse)
    return pd.Series(hashed, dtype="string"), pd.Series(masked, dtype="string")
