"""What a proof found: each checked statement (``Identity``) and the verdict on the whole (``ProofReport``)."""
from __future__ import annotations

import html
from dataclasses import dataclass, field

VERIFIED = "verified"
FAILED = "failed"

#: the columns of a report's table in a notebook, from ``Identity.as_dict`` ("topic" is shown by "scope")
HTML_COLUMNS = ("statement", "method", "scope", "widths", "count", "verdict")
#: a verdict cell's colour in a notebook: green verified, red failed
HTML_COLOURS = {VERIFIED: "#1a7f37", FAILED: "#cf222e"}


def verdict(holds: bool) -> str:
    return VERIFIED if holds else FAILED


@dataclass(frozen=True, repr=False)
class Identity:
    """One checked statement and its verdict (``verified`` or ``failed``)."""

    statement: str
    method: str
    verdict: str
    count: int = 1          # how many scalar identities this line stands for
    topic: str = "gradient"  # "optimizer" for a closed form of the update rule (proof/optimizers.py)
    scope: str = "layer-local"   # "end-to-end": of the whole composed loss (end_to_end.py); "update rule"
    widths: str = "per unit"     # "every width": once for symbolic widths and units (generic.py); "scalar": no units

    @property
    def ok(self) -> bool:
        return self.verdict == VERIFIED

    def __str__(self) -> str:
        instances = "" if self.count == 1 else f"; {self.count} instances"
        return f"[{self.verdict}] {self.statement}  ({self.method}{instances})"

    def __repr__(self) -> str:
        instances = "" if self.count == 1 else f" ({self.count} instances)"
        return f"<Identity {self.verdict}{instances}: {self.statement}>"

    def as_dict(self) -> dict[str, object]:
        return {"statement": self.statement, "method": self.method, "verdict": self.verdict, "count": self.count,
                "topic": self.topic, "scope": self.scope, "widths": self.widths}


@dataclass(repr=False)
class ProofReport:
    network_name: str
    n_params: int
    identities: list[Identity] = field(default_factory=list)
    end_to_end: bool = False
    seconds: float = 0.0
    optimizer: str = ""     # the [optimizer] kind whose update rule was checked, if any

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.identities)

    @property
    def failed(self) -> list[Identity]:
        return [i for i in self.identities if not i.ok]

    @property
    def optimizer_identities(self) -> int:
        """How many scalar identities of the optimizer's update rule were checked (0 without [optimizer])."""
        return sum(i.count for i in self.identities if i.topic != "gradient")

    @property
    def scalar_identities(self) -> int:
        """How many scalar identities the statements stand for together."""
        return sum(i.count for i in self.identities)

    def as_dict(self) -> dict[str, object]:
        """The report as JSON-ready data: the verdict, and every identity with its scope."""
        return {"network": self.network_name, "parameters": self.n_params, "ok": self.ok,
                "end_to_end": self.end_to_end, "seconds": round(self.seconds, 3),
                "identities": [i.as_dict() for i in self.identities]}

    def _kinds(self, joiner: str) -> str:
        return "layer-local" + (f"{joiner}end-to-end" if self.end_to_end else "")

    def summary(self) -> str:
        kinds = self._kinds(" and ")
        if self.ok:
            rule = (f" and {self.optimizer_identities} {self.optimizer} update-rule identities"
                    if self.optimizer_identities else "")
            return f"proof: all {self.n_params} gradients{rule} verified ({kinds}, {self.seconds:.2f} s)"
        return f"proof: FAILED: {len(self.failed)} of {len(self.identities)} identities do not hold ({kinds})"

    def __str__(self) -> str:
        return "\n".join([str(i) for i in self.identities] + [self.summary()])

    def __repr__(self) -> str:
        if self.ok:
            outcome = f"{self.n_params} gradients verified, {self.scalar_identities} identities"
        else:
            outcome = f"FAILED: {len(self.failed)} of {len(self.identities)} identities do not hold"
        return f"<ProofReport {self.network_name}: {outcome}, {self._kinds(' + ')}>"

    def _repr_html_(self) -> str:
        """The report as a notebook shows it: a table of the identities, verdicts coloured, and the summary."""
        rows = [identity.as_dict() for identity in self.identities]
        columns = HTML_COLUMNS
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = []
        for row in rows:
            cells = []
            for column in columns:
                text = html.escape(str(row.get(column, "")))
                if column == "verdict":
                    colour = HTML_COLOURS.get(str(row["verdict"]), "inherit")
                    cells.append(f'<td style="color: {colour}; font-weight: bold">{text}</td>')
                else:
                    cells.append(f'<td style="text-align: left">{text}</td>')
            body.append("<tr>" + "".join(cells) + "</tr>")
        colour = HTML_COLOURS[VERIFIED if self.ok else FAILED]
        return (f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>\n"
                f'<p style="color: {colour}">{html.escape(self.summary())}</p>')
