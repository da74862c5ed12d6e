"""Phone numbers and network codes (msisdn-and-auth.md §1.7, §1.10).

Numbers are validated with ``phonenumbers``: a number is accepted when it parses, is
valid, and is a mobile number (or a number the plan cannot tell from a fixed line). As
in the original, a number without ``+`` is read as North American. The MCC table is
small and shipped: it maps a number's region to a likely MCC when a provider gives none,
and an MCC to a region for callers that only have a national number.
"""

from __future__ import annotations

import phonenumbers
from phonenumbers import PhoneNumberType

from loop.msisdn.config import SmsMappingSettings

MAX_LENGTH = 32
"""Longer inputs are refused before parsing."""
MOBILE_TYPES = {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}

MCC_REGIONS: dict[str, str] = {
    "202": "GR", "204": "NL", "206": "BE", "208": "FR", "212": "MC", "214": "ES",
    "216": "HU", "222": "IT", "226": "RO", "228": "CH", "230": "CZ", "232": "AT",
    "234": "GB", "235": "GB", "238": "DK", "240": "SE", "242": "NO", "244": "FI",
    "250": "RU", "255": "UA", "260": "PL", "262": "DE", "268": "PT", "270": "LU",
    "272": "IE", "274": "IS", "286": "TR", "302": "CA", "310": "US", "311": "US",
    "312": "US", "313": "US", "314": "US", "315": "US", "316": "US", "334": "MX",
    "404": "IN", "405": "IN", "420": "SA", "424": "AE", "425": "IL", "440": "JP",
    "450": "KR", "452": "VN", "454": "HK", "460": "CN", "466": "TW", "502": "MY",
    "505": "AU", "510": "ID", "515": "PH", "520": "TH", "525": "SG", "530": "NZ",
    "602": "EG", "621": "NG", "639": "KE", "655": "ZA", "716": "PE", "722": "AR",
    "724": "BR", "730": "CL", "732": "CO",
}  # fmt: skip
"""Mobile Country Code → ISO region (the commonest networks; extend as needed)."""
REGION_MCCS: dict[str, str] = {}
for _mcc, _region in MCC_REGIONS.items():
    REGION_MCCS.setdefault(_region, _mcc)


def normalize(msisdn: object, region: str | None = None) -> str | None:
    """The E.164 form of a valid mobile number, else ``None`` (never raises).

    ``region`` is used for numbers without ``+``; absent, they are read as US/NANP.
    """
    if not isinstance(msisdn, str) or not 0 < len(msisdn) <= MAX_LENGTH:
        return None
    text = msisdn.strip()
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region or "US")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def region_for_mcc(mcc: str) -> str | None:
    return MCC_REGIONS.get(mcc)


def guess_mcc(msisdn: str) -> str | None:
    """The MCC of the number's country, when a provider did not say (MO flow)."""
    try:
        number = phonenumbers.parse(msisdn, None)
    except phonenumbers.NumberParseException:
        return None
    region = phonenumbers.region_code_for_number(number)
    return REGION_MCCS.get(region) if region else None


def usable_mnc(mnc: object) -> str | None:
    """``mnc`` when it is a 2- or 3-character string, else ``None`` (ignored)."""
    return mnc if isinstance(mnc, str) and len(mnc) in (2, 3) else None


def mt_sender(mapping: SmsMappingSettings, mcc: str | None, mnc: str | None) -> str:
    """Which number SMS are sent from: ``<mcc><mnc>`` key, ``<mcc>`` key, default."""
    return _lookup(mapping.mt_sender_mapping, mcc, mnc) or mapping.mt_sender


def mo_verifier(mapping: SmsMappingSettings, mcc: str | None, mnc: str | None) -> str | None:
    """Which number the device texts in the MO flow; ``None``: no MO flow there."""
    return _lookup(mapping.mo_verifier_mapping, mcc, mnc) or mapping.mo_verifier or None


def _lookup(table: dict[str, str], mcc: str | None, mnc: str | None) -> str | None:
    if mcc is None:
        return None
    if mnc is not None and f"{mcc}{mnc}" in table:
        return table[f"{mcc}{mnc}"]
    return table.get(mcc)
