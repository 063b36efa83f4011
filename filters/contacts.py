"""Contact details in kept captions (`privacy.mask_contacts`): phone numbers become `<电话>`, e-mail
addresses `<邮箱>`, resident ID-card numbers `<身份证号>`.

Found by regular expressions on the normalised caption (NFKC: ASCII digits, lowercase), each bounded
so that it never starts or ends inside a longer run of digits or letters:

- mobile: 11 digits `1[3-9]x xxxx xxxx`, written whole or 3-4-4 with spaces or dashes, optionally
  after `+86`, `0086`, `(+86)` or `86 `/`86-`;
- landline: area code `010`, `02x` or `0xxx` (with dash, space or parentheses, or none), then a
  7- or 8-digit local number (starting 2-9 when glued to the area code), an optional extension
  (`-801`, `转801`); `+86 10 ...`;
  service numbers `400`/`800` plus 7 digits (`400-820-8820`, `4008208820`);
- e-mail: `local@domain.tld` whose TLD is not a file extension (`icon@2x.png` is a file);
- ID card: 18 characters, a province code (11-82), a real birth date (1900-2099) and the ISO 7064
  MOD 11-2 check character (`x` allowed), optionally grouped 6-8-4 by spaces.

Left alone: prices (`¥13800138000` and numbers followed by a unit: `元`, `次`, `mah` ...), dates,
model and part numbers (a letter or digit glued to the digits), ISBNs, postcodes, train and plate
numbers, and numbers labelled as something else right before them (`订单号`, `编号`, `运单号`...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pyarrow as pa

from filters.span_mask import mask_column, replace_spans

PHONE_TOKEN = "<电话>"
EMAIL_TOKEN = "<邮箱>"
ID_TOKEN = "<身份证号>"

_B = r"(?<![0-9a-z¥$€£])(?<![0-9]\.)(?<![0-9a-z]-)"  # not inside a number, word, decimal, part number or price
_E = r"(?![0-9])"
_UNIT = r"(?!\s?(?:元|块|万|亿|次|个|件|人|位|倍|米|克|吨|斤|条|页|字|mah|kg|km|ml|mb|gb|kb|w\b))"
_PREFIX = r"(?:\(?(?:\+|00)86\)?[ -]?|86[ -])"
_MOBILE = rf"{_B}(?:{_PREFIX})?1[3-9][0-9][ -]?[0-9]{{4}}[ -]?[0-9]{{4}}{_E}{_UNIT}"
_AREA = r"(?:10|2[0-9]|[3-9][0-9]{2})"
_LOCAL = r"[0-9]{3,4}[ -]?[0-9]{4}"
_EXT = r"(?:(?:-|转|ext\.?\s?)[0-9]{1,5})?"
# After a visible area code (dash, space, parentheses, +86) the local number may start with any digit
# but 0 (`010-12345678` is how people write an example); glued to the area code it starts with 2-9.
_LANDLINE = (rf"{_B}(?:(?:\(0{_AREA}\)\s?|0{_AREA}[ -]|(?:\+|00)86[ -]?\(?{_AREA}\)?[ -]?)(?=[1-9])"
             rf"|0{_AREA}(?=[2-9])){_LOCAL}{_EXT}{_E}{_UNIT}")
_SERVICE = rf"{_B}[48]00(?:[ -]?[0-9]){{7}}{_E}{_UNIT}"
_ID = (r"(?<![0-9a-z])[1-8][0-9]{5} ?(?:19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01]) ?"
       r"[0-9]{3}[0-9x](?![0-9a-z])")
_EMAIL = r"(?<![a-z0-9._%+-])[a-z0-9][a-z0-9._%+-]*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+([a-z]{2,12})(?![a-z0-9-])"

# kind -> (pattern, token); earlier kinds win where matches overlap
PATTERNS: dict[str, tuple[re.Pattern[str], str]] = {
    "id": (re.compile(_ID, re.I), ID_TOKEN),
    "email": (re.compile(_EMAIL, re.I), EMAIL_TOKEN),
    "mobile": (re.compile(_MOBILE, re.I), PHONE_TOKEN),
    "landline": (re.compile(_LANDLINE, re.I), PHONE_TOKEN),
    "service": (re.compile(_SERVICE, re.I), PHONE_TOKEN),
}
FILE_EXTENSIONS = frozenset("png jpg jpeg gif webp bmp svg ico tif tiff heic avif psd raw mp4 mov pdf".split())
# A number labelled as one of these right before it (only spaces, colons, `#` or `=` between) is not a contact.
OTHER_LABELS = re.compile(
    r"(?:订单|订单号|单号|编号|货号|型号|运单|运单号|快递|物流|流水号|批号|批次|序列号|序号|条码|条形码|工号|学号|"
    r"会员号|卡号|票号|车次|航班|isbn|sku|order|no\.?|sn)[\s:：#=-]*$",
    re.I,
)
PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
                       50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82})
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"
# RE2 prefilter (pyarrow): a caption with no `@` and fewer than 7 digits holds no contact.
_MAY_HOLD = r"@|[0-9](?:[^0-9]{0,3}[0-9]){6}"


def id_checksum_ok(number: str) -> bool:
    """ISO 7064 MOD 11-2 over the first 17 digits of an 18-character ID number (`x` = 10)."""
    digits = number.replace(" ", "").lower()
    if len(digits) != 18 or not digits[:17].isdigit() or int(digits[:2]) not in PROVINCES:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == digits[17]


@dataclass(frozen=True, slots=True)
class Contact:
    start: int
    end: int
    kind: str
    token: str


class ContactMasker:
    """Finds and masks phone numbers, e-mail addresses and ID-card numbers (stateless, cheap)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def find_contacts(self, text: str) -> list[Contact]:
        """The contacts of `text`, left to right, never overlapping."""
        found: list[Contact] = []
        for kind, (pattern, token) in PATTERNS.items():
            for m in pattern.finditer(text):
                if kind == "id" and not id_checksum_ok(m.group(0)):
                    continue
                if kind == "email" and m.group(1).lower() in FILE_EXTENSIONS:
                    continue
                if kind != "email" and OTHER_LABELS.search(text, max(0, m.start() - 12), m.start()):
                    continue
                if not any(c.start < m.end() and m.start() < c.end for c in found):
                    found.append(Contact(m.start(), m.end(), kind, token))
        return sorted(found, key=lambda c: c.start)

    def mask_text(self, text: str) -> str:
        return replace_spans(text, ((c.start, c.end, c.token) for c in self.find_contacts(text)))

    def mask(self, captions: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Masked captions (nulls stay null); only captions with an `@` or 7 digits reach Python."""
        return mask_column(captions, _MAY_HOLD, self.mask_text, self.enabled)
