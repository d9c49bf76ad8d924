"""The one error type every national rule raises.

A clerk at a service window has to act on the message ("the check digit should be X"), a
developer has to act on the rule reference ("GB 11643"), and the certificate validator has
to re-file the error under the field it came from ("holder.idNumber"). So the error carries
all three as attributes instead of a bare string, and subclasses ValueError so callers that
only want "bad input" can catch it generically.
"""

from __future__ import annotations

__all__ = ["RuleViolation"]


class RuleViolation(ValueError):
    """A value breaks a national rule.

    Attributes:
        field: name or dotted path of the offending field ("idNumber", "holder.idNumber").
        rule: the standard that is broken, e.g. "GB 11643", "GB 32100", "GB/T 2260".
        message: Chinese, for the clerk: what is wrong and, where possible, what it should be.
        message_en: the same in English, for logs and non-Chinese readers.
        code: a short stable machine-readable reason ("check_digit", "birth_date", ...), so
            API clients and tests do not parse prose.
    """

    def __init__(self, field: str, rule: str, message: str, message_en: str, code: str) -> None:
        super().__init__(f"{field}: {message} ({rule}) / {message_en}")
        self.field = field
        self.rule = rule
        self.message = message
        self.message_en = message_en
        self.code = code

    def at(self, field: str) -> RuleViolation:
        """The same violation filed under another field name (e.g. a full document path)."""
        return RuleViolation(field, self.rule, self.message, self.message_en, self.code)

    def __reduce__(self) -> tuple[type[RuleViolation], tuple[str, str, str, str, str]]:
        # Exceptions pickle through their args; ours has keyword-rich state, so spell it out
        # (multiprocessing workers in the benchmark send these across processes).
        return (RuleViolation, (self.field, self.rule, self.message, self.message_en, self.code))
