"""Bag label in ZPL II for thermal printers (design §4, §9; blinded).

The same frozen :class:`~lottrack.views.documents.data.BagLabelData` the PDF label draws, laid
out on a 4 × 4 inch ISBT 128 label at 203 dpi (812 × 812 dots): the DIN as Code 128 with
its data identifier ``=`` and flags, the eye-readable DIN with the flags and the boxed
check character, the product code (data identifier ``=<``), the use-by as expiration date
and time (``&>cyyjjjhhmm``, site time), recipient, date of birth, kit code, volume,
storage, "FOR AUTOLOGOUS USE ONLY" and the statements the PDF carries, and the QR code of
the document id and content hash. Identical layout and wording for MSC and placebo bags
(design §7): only identifiers and times differ.

Every text field goes through ``^FH`` so that ``^``, ``~`` and ``_`` in data can never be
read as commands; ``^CI28`` makes the printer read UTF-8.
"""

from __future__ import annotations

import datetime as dt

from certificates.text import local_moment, local_time, qr_payload, quantity
from lottrack.kernel.units import Dim
from lottrack.views.documents.data import NOT_EVALUATED, BagLabelData

DOTS = 812
"""4 inches at 203 dpi."""
MARGIN = 24
TITLE = "BAG LABEL"
DIN_DI = "="
PRODUCT_CODE_DI = "=<"
EXPIRY_DI = "&>"


def _hex(text: str) -> str:
    """``text`` for a ``^FH_`` field: the characters ZPL reads as commands, and the
    escape character itself, as ``_XX`` hex escapes."""
    return "".join(f"_{ord(ch):02X}" if ch in "^~_" else ch for ch in text)


def _text(
    x: int,
    y: int,
    text: str,
    size: int,
    *,
    width: int = 0,
    lines: int = 1,
    center: bool = False,
    rotated: bool = False,
) -> str:
    """A text field at (``x``, ``y``) in the scalable font, ``size`` dots high; with
    ``width``, a field block that wraps into at most ``lines`` lines."""
    block = f"^FB{width},{lines},0,{'C' if center else 'L'},0" if width else ""
    return f"^FO{x},{y}^A0{'R' if rotated else 'N'},{size},{size}{block}^FH_^FD{_hex(text)}^FS"


def _caption(x: int, y: int, text: str) -> str:
    return _text(x, y, text, 18)


def _code128(x: int, y: int, data: str, height: int, module: int = 2) -> str:
    """A Code 128 symbol of ``data`` (automatic subsets), no interpretation line."""
    return f"^FO{x},{y}^BY{module},3,{height}^BCN,{height},N,N,N,A^FD{_hex(data)}^FS"


def _box(x: int, y: int, width: int, height: int, thickness: int = 3) -> str:
    return f"^FO{x},{y}^GB{width},{height},{thickness}^FS"


def expiry_data(moment: dt.datetime, data: BagLabelData) -> str:
    """ISBT 128 expiration date and time content ``cyyjjjhhmm`` in the site's time
    (``c`` = century counted from 2000, ``jjj`` = day of the year)."""
    local = local_moment(moment, data)
    century = (local.year - 2000) // 100
    return f"{century}{local.year % 100:02d}{local.timetuple().tm_yday:03d}{local:%H%M}"


def _din(data: BagLabelData) -> list[str]:
    din = data.din
    flags = din.barcode_data[-2:]
    return [
        _code128(MARGIN, 96, din.barcode_data, 90),
        _text(MARGIN, 198, din.eye_readable, 40),
        _text(344, 194, flags, 24, rotated=True),
        _box(378, 190, 48, 52),
        _text(390, 198, din.check, 40),
    ]


def _recipient(data: BagLabelData) -> list[str]:
    x = 460
    return [
        _caption(x, 96, "Recipient (subject code)"),
        _text(x, 118, data.subject_code, 36),
        _caption(x, 162, "Date of birth"),
        _text(x, 184, data.date_of_birth.isoformat(), 30),
        _caption(x, 222, "Kit code"),
        _text(x, 244, data.kit_code, 30),
    ]


def _product(data: BagLabelData) -> list[str]:
    return [
        _code128(MARGIN, 290, PRODUCT_CODE_DI + data.product_code, 70),
        _text(MARGIN, 366, data.product_code, 28),
        # beside the symbol (=< and 8 characters: about 290 dots at 2 dots a module)
        _text(340, 290, data.product_name, 24, width=DOTS - 340 - MARGIN, lines=4),
    ]


def _expiry(data: BagLabelData) -> list[str]:
    x = 460
    return [
        _code128(MARGIN, 410, EXPIRY_DI + expiry_data(data.expires_at, data), 70),
        _caption(MARGIN, 486, "Use by"),
        _text(MARGIN, 508, local_time(data.expires_at, data), 30),
        _caption(x, 410, "Volume"),
        _text(x, 432, quantity(data.volume_ml, Dim.VOLUME, data), 30),
        _caption(x, 470, "Storage temperature"),
        _text(x, 492, data.storage_temperature, 24, width=DOTS - x - MARGIN, lines=2),
    ]


def _statements(data: BagLabelData) -> list[str]:
    width = DOTS - 2 * MARGIN
    out = [
        _box(MARGIN, 552, width, 54),
        _text(MARGIN, 566, data.autologous_statement, 32, width=width, center=True),
    ]
    text_width = width - 170
    y = 620
    if data.not_evaluated_for_infectious_substances:
        out.append(_text(MARGIN, y, NOT_EVALUATED, 22, width=text_width, lines=2))
        y += 50
    out += [
        _text(MARGIN, y, data.infectious_agents_warning, 20, width=text_width, lines=2),
        _text(MARGIN, y + 46, data.trial_statement, 20, width=text_width),
    ]
    out.append(f"^FO{DOTS - MARGIN - 150},618^BQN,2,3^FDMA,{qr_payload(data)}^FS")
    return out


def _furniture(data: BagLabelData, copy: bool) -> list[str]:
    facility = data.facility
    out = [
        _text(
            MARGIN,
            MARGIN,
            f"{TITLE} · {facility.name} · FIN {facility.fin}",
            24,
            width=DOTS - 2 * MARGIN - (120 if copy else 0),
        ),
        _text(MARGIN, 56, f"Document {data.document_id}", 20),
    ]
    if data.chain_seq is not None:  # the audit trail's head at the issue (design §6.9)
        out.append(
            _text(
                DOTS // 2,
                56,
                f"Audit #{data.chain_seq} {data.chain_hash[:16]}",
                20,
                width=DOTS // 2 - MARGIN - (120 if copy else 0),
            )
        )
    if copy:
        out += [
            _box(DOTS - MARGIN - 110, MARGIN - 4, 110, 40),
            _text(DOTS - MARGIN - 110, MARGIN + 4, "COPY", 30, width=110, center=True),
        ]
    return out


def render_label_zpl(data: BagLabelData, *, copy: bool = False) -> bytes:
    """The bag label as ZPL II (UTF-8 bytes, one label); ``copy`` marks a reprint COPY."""
    commands = [
        "^XA",
        "^CI28",
        f"^PW{DOTS}",
        f"^LL{DOTS}",
        "^LH0,0",
        *_furniture(data, copy),
        *_din(data),
        *_recipient(data),
        *_product(data),
        *_expiry(data),
        *_statements(data),
        "^PQ1",
        "^XZ",
    ]
    return ("\n".join(commands) + "\n").encode()
