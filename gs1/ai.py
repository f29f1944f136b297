"""GS1 Application Identifiers: the table the Digital Link syntax is checked against.

Which AIs are primary keys and which qualifiers may follow each (in order), the format
of every AI value as a regular expression, where a key's check digit sits, and the
obsolete convenience alphas (``/gtin/…``), checked against the GS1 syntax engine's
Digital Link cases (tests/data/gs1). Data only: ``gs1.digitallink`` applies it, and
``gs1.identifiers`` takes its character set 82 from here.
"""

from __future__ import annotations

# Primary key AI → (fixed digit length or None, allowed qualifier sequences in order).
PRIMARY_KEYS: dict[str, tuple[int | None, tuple[tuple[str, ...], ...]]] = {
    "00": (18, ()),
    "01": (14, (("22", "10", "21"), ("235",))),
    "253": (None, ()),
    "255": (None, ()),
    "401": (None, ()),
    "402": (17, ()),
    "414": (13, (("254",), ("7040",))),
    "417": (13, (("7040",),)),
    "8003": (None, ()),
    "8004": (None, (("7040",),)),
    "8006": (18, (("22", "10", "21"),)),
    "8010": (None, (("8011",),)),
    "8017": (18, (("8019",),)),
    "8018": (18, (("8019",),)),
}
# AI formats: a regular expression over the (unescaped) value. Character set 82:
# ! " % & ' ( ) * + , - . / 0-9 : ; < = > ? A-Z _ a-z
CSET82 = r"[!\"%-?A-Z_a-z]"
CSET39 = r"[#\-/0-9A-Z]"
AI_FORMATS: dict[str, str] = {
    "00": r"\d{18}",
    "01": r"\d{14}",
    "02": r"\d{14}",
    "10": CSET82 + "{1,20}",
    "11": r"\d{6}",
    "12": r"\d{6}",
    "13": r"\d{6}",
    "15": r"\d{6}",
    "16": r"\d{6}",
    "17": r"\d{6}",
    "21": CSET82 + "{1,20}",
    "22": CSET82 + "{1,20}",
    "30": r"\d{1,8}",
    "37": r"\d{1,8}",
    "235": CSET82 + "{1,28}",
    "253": r"\d{13}" + CSET82 + "{0,17}",
    "254": CSET82 + "{1,20}",
    "255": r"\d{13}\d{0,12}",
    "401": CSET82 + "{1,30}",
    "402": r"\d{17}",
    "414": r"\d{13}",
    "417": r"\d{13}",
    "7040": r"\d[\x21-\x7e]{3}",
    "8003": r"\d{14}" + CSET82 + "{0,16}",
    "8004": CSET82 + "{1,30}",
    "8006": r"\d{18}",
    "8010": CSET39 + "{1,30}",
    "8011": r"\d{1,12}",
    "8017": r"\d{18}",
    "8018": r"\d{18}",
    "8019": r"\d{1,10}",
}
for _n in range(10):
    AI_FORMATS[f"310{_n}"] = r"\d{6}"
    AI_FORMATS[f"392{_n}"] = r"\d{1,15}"
for _ai in range(91, 100):
    AI_FORMATS[str(_ai)] = CSET82 + "{1,90}"
AI_FORMATS["90"] = CSET82 + "{1,30}"

# Keys with a mod-10 check digit: how long the prefix is that ends in it (the whole
# value for fixed-length keys; 253, 255, 8003 and 8006 carry more after it).
CHECK_DIGIT_AT = {"00": 18, "01": 14, "02": 14, "402": 17, "414": 13, "417": 13, "8017": 18}
CHECK_DIGIT_AT |= {"8018": 18, "253": 13, "255": 13, "8003": 14, "8006": 14}

# Convenience alphas (obsolete; accepted only when asked for).
CONVENIENCE_ALPHAS = {
    "gtin": "01",
    "sscc": "00",
    "gln": "414",
    "party": "417",
    "itip": "8006",
    "giai": "8004",
    "grai": "8003",
    "gdti": "253",
    "gcn": "255",
    "ginc": "401",
    "gsin": "402",
    "cpid": "8010",
    "gsrn": "8018",
    "gsrnp": "8017",
    "cpv": "22",
    "lot": "10",
    "ser": "21",
    "glnx": "254",
    "cpsn": "8011",
    "srin": "8019",
    "tpx": "235",
}
