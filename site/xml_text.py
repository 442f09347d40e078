"""Text for XML outputs (the Atom feed, XLSX sheets): XML 1.0 cannot hold most control
characters at all, not even escaped, so one stored before the gate refused them would make
the whole document ill-formed (or openpyxl refuse it). They are left out."""
from __future__ import annotations

import re

# What XML 1.0 allows: tab, line feed, carriage return and the characters from U+0020 on,
# but surrogates, U+FFFE and U+FFFF.
_FORBIDDEN = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    return _FORBIDDEN.sub("", text)
