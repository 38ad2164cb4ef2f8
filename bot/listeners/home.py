"""The Home tab: the rep's dashboard, rebuilt from the database each time it is opened."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.views import home_view
from orchestrator.bootstrap import Deps
from orchestrator.dashboard import dashboard_for


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home(event: dict[str, Any], body: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home":
            return
        data = dashboard_for(deps, org_id=body["team_id"], slack_user_id=event["user"])
        client.views_publish(user_id=event["user"], view=home_view(data))
