"""DNS as a test wants it: the one external seam of the webhook target check, faked."""

from __future__ import annotations

import ipaddress
import socket

from csomatch.notifications.targets import Address, Resolver


class FakeDNS(Resolver):
    """Answers each name with its answers in turn (the last one repeats); a name it does
    not know, or an empty answer, does not resolve. ``asked`` lists the names looked up."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    async def resolve(self, host: str, port: int) -> list[Address]:
        """The next answer for ``host``."""
        turn = self.asked.count(host)
        self.asked.append(host)
        answers = self.answers.get(host, [[]])
        answer = answers[min(turn, len(answers) - 1)]
        if not answer:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [ipaddress.ip_address(a) for a in answer]
