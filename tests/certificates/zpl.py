"""A small ZPL II reader for the tests: the fields of a label as a printer would place
them (position, what kind of field, the data after ``^FH`` hex escapes are undone)."""

from __future__ import annotations

import re
import socket
import threading
from dataclasses import dataclass

_COMMAND = re.compile(r"\^([A-Z][A-Z0-9@])")


@dataclass(frozen=True)
class Field:
    """One ``^FO … ^FS`` field."""

    x: int
    y: int
    kind: str
    """``text``, ``text-rotated``, ``code128``, ``qr`` or ``box``."""
    data: str
    """The field data (for a box: ``WIDTHxHEIGHT``)."""


def _unhex(text: str) -> str:
    raw = re.sub(rb"_([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), text.encode())
    return raw.decode()


def fields(zpl: bytes) -> list[Field]:
    """Every field of one label, in order; the label must be one ``^XA … ^XZ`` in UTF-8
    (``^CI28``)."""
    text = zpl.decode()
    assert text.startswith("^XA"), "one label"
    assert text.rstrip().endswith("^XZ"), "one label"
    assert "^CI28" in text, "UTF-8"
    out: list[Field] = []
    for chunk in text.split("^FO")[1:]:
        body = chunk.split("^FS")[0]
        x, y = (int(v) for v in re.match(r"(\d+),(\d+)", body).groups())  # type: ignore[union-attr]
        commands = [m.group(1) for m in _COMMAND.finditer(body)]
        data = body.split("^FD", 1)[1] if "^FD" in body else ""
        if "FH" in commands:
            data = _unhex(data)
        if "BC" in commands:
            kind = "code128"
        elif "BQ" in commands:
            kind, data = "qr", data.split(",", 1)[1]
        elif "GB" in commands:
            width, height = re.search(r"\^GB(\d+),(\d+)", body).groups()  # type: ignore[union-attr]
            kind, data = "box", f"{width}x{height}"
        else:
            kind = "text-rotated" if "^A0R" in body else "text"
        out.append(Field(x, y, kind, data))
    return out


def texts(zpl: bytes) -> list[str]:
    """The eye-readable texts of a label."""
    return [f.data for f in fields(zpl) if f.kind.startswith("text")]


def barcodes(zpl: bytes) -> list[str]:
    """The data of the Code 128 symbols."""
    return [f.data for f in fields(zpl) if f.kind == "code128"]


class RawPrinter:
    """A raw-TCP "printer" on 127.0.0.1 that keeps what it received."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received = b""
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.server.accept()
        with conn:
            while chunk := conn.recv(65536):
                self.received += chunk

    def close(self) -> bytes:
        self.thread.join(timeout=10)
        self.server.close()
        return self.received
