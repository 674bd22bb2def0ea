"""One small hierarchy of domain errors.

Only the command line turns these into messages and exit codes: an
``AikonError`` (or subclass) is the user's problem and exits 2 with its message
on one line; anything else is a bug and exits 1.
"""

from __future__ import annotations


class AikonError(Exception):
    """Base of every error a user can cause and fix (bad input, bad usage)."""

    exit_code = 2


class InputError(AikonError):
    """An input file (image, SVG, G-code, journal) is missing, unreadable or invalid."""


class ImageTooLargeError(InputError):
    """An image exceeds the configured pixel limit (checked before full decode)."""


class NoFaceError(AikonError):
    """No face was found where one is required (``--require-face``)."""


class BackendError(AikonError):
    """A face-detection backend or its model file is unavailable."""


class ProfileError(AikonError):
    """A firmware profile is unknown or invalid."""


class OutOfBoundsError(AikonError):
    """A drawing or move would leave the machine's work area."""


class PortError(AikonError):
    """A serial port is missing, busy, not permitted, or vanished."""


class FirmwareError(AikonError):
    """The firmware reported an error or alarm; the job stopped."""

    exit_code = 3


class JobAborted(AikonError):
    """The user stopped a job (pen lifted and parked)."""

    exit_code = 4
