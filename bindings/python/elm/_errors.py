"""ElmError and the status codes of elm.h (pinned, append-only)."""

import enum


class Status(enum.IntEnum):
    OK = 0
    E_INVALID = -1
    E_IO = -2
    E_FORMAT = -3
    E_UNSUPPORTED = -4
    E_NOMEM = -5
    E_DEVICE = -6
    E_NUMERIC = -7
    E_CANCELLED = -8
    E_STATE = -9
    E_INTERNAL = -10

    @property
    def c_name(self):
        return "ELM_" + self.name


class ElmError(Exception):
    """A failed libelm call: `status` (a Status), `name` ("ELM_E_FORMAT") and
    `message` (elm_last_error() of the failing thread)."""

    def __init__(self, status, message=""):
        try:
            status = Status(status)
            name = status.c_name
        except ValueError:
            name = "ELM_STATUS_%d" % int(status)
        self.status = status
        self.name = name
        self.message = message or ""
        super().__init__(status, self.message)

    def __str__(self):
        return "%s: %s" % (self.name, self.message) if self.message else self.name

    def __repr__(self):
        return "ElmError(%s, %r)" % (self.name, self.message)

    def __reduce__(self):
        return (ElmError, (int(self.status), self.message))
