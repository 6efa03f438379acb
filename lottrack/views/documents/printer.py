"""Sending a label to a thermal printer over raw TCP (port 9100, "JetDirect").

The printer reads the ZPL as it arrives; there is no reply to wait for. A printer that
cannot be reached, or that closes the connection before everything was sent, is an error
the person sees: the label was not printed.
"""

from __future__ import annotations

import socket

from lottrack.kernel.errors import LotTrackError, ValidationError

DEFAULT_PORT = 9100
TIMEOUT_SECONDS = 10.0


class PrinterError(LotTrackError):
    """The label could not be sent to the printer."""

    title = "Printer not reached"


def parse_printer(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (or ``HOST``, port 9100; ``[::1]:9100`` for IPv6) as host and port."""
    text = text.strip()
    host, sep, port_text = text.rpartition(":")
    if not sep or (host.count(":") and not host.startswith("[")):
        host, port_text = text, str(DEFAULT_PORT)
    host = host.strip("[]")
    if not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValidationError(
            f'Printer: "{text}" is not HOST:PORT, such as zebra-ward3:{DEFAULT_PORT}.',
            field="printer",
        )
    return host, int(port_text)


def send_raw(printer: str, data: bytes, *, timeout: float = TIMEOUT_SECONDS) -> None:
    """Send ``data`` to ``printer`` (``HOST:PORT``) over a raw TCP connection."""
    host, port = parse_printer(printer)
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.sendall(data)
            conn.shutdown(socket.SHUT_WR)
    except OSError as exc:
        raise PrinterError(
            f"Printer {host}:{port} could not be reached "
            f"({exc.strerror or exc}); the label was not printed."
        ) from None
