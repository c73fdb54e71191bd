"""Chat messages to staff through incoming webhooks.

Slack, Mattermost and Google Chat take `{"text": ...}` (Google Chat refuses any field it does
not know, so nothing else is added). Microsoft Teams workflows ("when a Teams webhook request
is received") take a message with an Adaptive Card attachment. The target is checked as a
webhook URL is (no private or loopback address unless allowed), and sent through the same
guarded HTTP client (the staff service checks the URL when it is set)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from app.webhooks import delivery

# Hosts of Teams workflow triggers (Power Automate / Logic Apps).
_TEAMS_WORKFLOW_HOSTS = (".logic.azure.com", ".powerplatform.com", ".powerautomate.com")
USER_AGENT = "Debrief-Notifications/1"


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_teams_workflow(url: str) -> bool:
    host = host_of(url)
    return any(host.endswith(suffix) for suffix in _TEAMS_WORKFLOW_HOSTS)


def body_for(url: str, text: str) -> bytes:
    """The JSON body the target's service accepts for a plain message."""
    if not is_teams_workflow(url):
        return orjson.dumps({"text": text})
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [{"type": "TextBlock", "text": text, "wrap": True}],
    }
    return orjson.dumps(
        {
            "type": "message",
            "attachments": [
                {
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": None,
                    "content": card,
                }
            ],
        }
    )


async def post_chat(
    client: httpx.AsyncClient, url: str, text: str, *, deadline: float
) -> delivery.Answer:
    """One attempt, within `deadline` seconds whatever the target does."""
    headers = {"content-type": "application/json", "user-agent": USER_AGENT}
    return await delivery.post(client, url, body_for(url, text), headers, deadline=deadline)
