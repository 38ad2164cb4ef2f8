"""A Microsoft Graph mail stand-in speaking the JSON wire format msgraph-sdk uses.

It keeps folders (inbox, drafts, sentitems), conversations and a delta log, and renders each
sent message as the MIME Exchange would put on the wire (Message-ID = internetMessageId,
In-Reply-To/References from the message replied to), so tests assert on real headers.
Without ``Prefer: IdType="ImmutableId"`` a sent draft gets a new id, as in Exchange.
"""

from __future__ import annotations

import base64
import itertools
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from tests.fakes.http import FakeHTTP, Request, Response

ME = "/v1.0/me"
SUBSCRIPTIONS = "/v1.0/subscriptions"


def graph_error(status: int, code: str, message: str, **headers: str) -> Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "r-1"}}}
    return Response(status, body, headers=dict(headers))


NOT_FOUND = graph_error(
    404, "ErrorItemNotFound", "The specified object was not found in the store."
)
EXPIRED_TOKEN = graph_error(
    401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired."
)
ACCESS_DENIED = graph_error(
    403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
)
UNAVAILABLE = graph_error(503, "ServiceUnavailable", "The service is temporarily unavailable.")
SYNC_STATE_GONE = graph_error(410, "SyncStateNotFound", "The sync state generation is not found.")


def throttled(retry_after: int) -> Response:
    return graph_error(
        429,
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
        **{"Retry-After": str(retry_after)},
    )


class FakeGraphMail:
    def __init__(self, address: str = "sam@convene.example") -> None:
        self.address = address
        self.http = FakeHTTP()
        self.url = self.http.url
        self.items: dict[str, dict[str, Any]] = {}
        self.log: list[str] = []  # inbox ids in arrival order; a delta token is an index
        self.oldest_token = 0
        self.page_size = 2
        self.send_delay = 0.0
        self.failures: dict[tuple[str, str], list[Response]] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.http.route("GET", f"{ME}/messages", self._wrap("GET", "/messages", self._list_all))
        self.http.route(
            "POST", f"{ME}/messages", self._wrap("POST", "/messages", self._post_messages)
        )
        self.http.route("GET", f"{ME}/messages/", self._wrap("GET", "/messages/", self._get_item))
        self.http.route(
            "GET", f"{ME}/mailFolders/", self._wrap("GET", "/mailFolders/", self._folder)
        )
        # Change-notification subscriptions: id -> the subscription as Graph keeps it.
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.http.route("POST", SUBSCRIPTIONS, self._subscribe)
        self.http.route("PATCH", f"{SUBSCRIPTIONS}/", self._renew)

    # --- test controls --------------------------------------------------------------------------

    def fail_next(self, method: str, prefix: str, *responses: Response) -> None:
        self.failures.setdefault((method, prefix), []).extend(responses)

    def deliver(self, raw: bytes, *, received: datetime | None = None) -> dict[str, Any]:
        parsed = BytesParser(policy=policy.default).parsebytes(raw)
        parent = self._by_internet_id(str(parsed.get("In-Reply-To", "")).strip())
        item = self._new(
            folder="inbox",
            internetMessageId=str(parsed["Message-ID"]).strip(),
            subject=str(parsed["Subject"]),
            conversationId=parent["conversationId"] if parent else None,
            receivedDateTime=(received or datetime(2026, 11, 30, 15, 0, tzinfo=UTC)).isoformat(),
        )
        item["_raw"] = raw
        with self._lock:
            self.log.append(item["id"])
        return item

    def notification(
        self, subscription_id: str, *, client_state: str | None = None
    ) -> dict[str, Any]:
        """The batch Graph posts to a subscription's notificationUrl for the latest message
        (``client_state`` overrides the subscription's own, as a forger would)."""
        sub = self.subscriptions[subscription_id]
        latest = self.log[-1] if self.log else "none"
        return {
            "value": [
                {
                    "subscriptionId": subscription_id,
                    "subscriptionExpirationDateTime": sub["expirationDateTime"],
                    "changeType": "created",
                    "resource": f"Users/rep/Messages/{latest}",
                    "resourceData": {"@odata.type": "#Microsoft.Graph.Message", "id": latest},
                    "clientState": sub["clientState"] if client_state is None else client_state,
                    "tenantId": "tenant-1",
                }
            ]
        }

    def folder(self, name: str) -> list[dict[str, Any]]:
        return [i for i in self.items.values() if i["_folder"] == name]

    def mime(self, item: dict[str, Any]) -> EmailMessage:
        return BytesParser(policy=policy.default).parsebytes(self._render(item))  # type: ignore[return-value]

    def close(self) -> None:
        self.http.close()

    # --- plumbing ---------------------------------------------------------------------------------

    def _wrap(self, method: str, prefix: str, fn: Any) -> Any:
        def handler(req: Request) -> Response:
            tail = req.path[len(ME) :]
            for (m, p), queue in self.failures.items():
                if m == method and tail.startswith(p) and queue:
                    return queue.pop(0)
            return fn(req)

        return handler

    def _new(
        self, *, folder: str, conversationId: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        number = next(self._ids)
        item = {
            "id": f"AAMkAD{number:04d}=",
            "conversationId": conversationId or f"AAQkConv{number:04d}=",
            "isDraft": folder == "drafts",
            "_folder": folder,
            **fields,
        }
        self.items[item["id"]] = item
        return item

    def _by_internet_id(self, value: str, folder: str | None = None) -> dict[str, Any] | None:
        for item in self.items.values():
            if item.get("internetMessageId") == value and folder in (None, item["_folder"]):
                return item
        return None

    @staticmethod
    def _public(item: dict[str, Any], select: list[str] | None = None) -> dict[str, Any]:
        out = {k: v for k, v in item.items() if not k.startswith("_")}
        if select:
            out = {k: v for k, v in out.items() if k in select or k == "id"}
        return {"@odata.type": "#microsoft.graph.message", **out}

    def _search(self, req: Request, folder: str | None) -> Response:
        flt = req.query.get("$filter", [""])[0]
        match = re.fullmatch(r"internetMessageId eq '(.*)'", flt)
        if not match:
            return graph_error(400, "ErrorInvalidUrlQueryFilter", "The query filter is invalid.")
        wanted = match.group(1).replace("''", "'")
        select = req.query.get("$select", [""])[0].split(",")
        rows = [
            self._public(i, select)
            for i in self.items.values()
            if i.get("internetMessageId") == wanted and folder in (None, i["_folder"])
        ]
        return Response(200, {"value": rows})

    # --- handlers ---------------------------------------------------------------------------------

    def _list_all(self, req: Request) -> Response:
        if req.path != f"{ME}/messages":
            return NOT_FOUND
        return self._search(req, None)

    def _folder(self, req: Request) -> Response:
        rest = req.path[len(f"{ME}/mailFolders/") :]
        folder, _, tail = rest.partition("/")
        folder = folder.lower()
        if tail == "messages":
            return self._search(req, folder)
        # kiota calls the function "delta()"; links we hand out say "delta".
        if tail in ("messages/delta", "messages/delta()") and folder == "inbox":
            return self._delta(req)
        return NOT_FOUND

    def _post_messages(self, req: Request) -> Response:
        tail = req.path[len(f"{ME}/messages") :]
        if tail == "":
            return self._create(req.body, parent=None)
        match = re.fullmatch(r"/([^/]+)/(createReply|send|attachments)", tail)
        if not match or match.group(1) not in self.items:
            return NOT_FOUND
        item = self.items[match.group(1)]
        action = match.group(2)
        if action == "createReply":
            # The SDK sends action parameters PascalCase ("Message"); Graph takes either case.
            params = {k[:1].lower() + k[1:]: v for k, v in (req.body or {}).items()}
            return self._create(params.get("message") or {}, parent=item)
        if action == "attachments":
            item.setdefault("attachments", []).append(req.body)
            return Response(201, req.body)
        return self._send(item, immutable='IdType="ImmutableId"' in req.headers.get("prefer", ""))

    def _create(self, body: dict[str, Any], *, parent: dict[str, Any] | None) -> Response:
        fields = {k: v for k, v in body.items() if not k.startswith("@")}
        if not fields.get("toRecipients") and parent is None:
            return graph_error(
                400, "ErrorInvalidRecipients", "At least one recipient is not valid."
            )
        if parent is not None:
            fields.setdefault("subject", "RE: " + parent.get("subject", ""))
            fields.setdefault("toRecipients", [{"emailAddress": {"address": "parent-sender@x"}}])
        with self._lock:
            item = self._new(
                folder="drafts",
                conversationId=parent["conversationId"] if parent else None,
                **fields,
            )
            item.setdefault("internetMessageId", f"<generated.{item['id']}@exchange.example>")
            if parent is not None:
                item["_parent"] = parent["id"]
        return Response(201, self._public(item))

    def _send(self, item: dict[str, Any], *, immutable: bool) -> Response:
        if item["_folder"] != "drafts":
            return graph_error(400, "ErrorInvalidOperation", "Only drafts can be sent.")
        with self._lock:
            item["_folder"] = "sentitems"
            item["isDraft"] = False
            if not immutable:  # Exchange gives a moved item a new id
                del self.items[item["id"]]
                item["id"] = item["id"].replace("AAMkAD", "AAMkMOVED")
                self.items[item["id"]] = item
        return Response(202, b"", content_type="text/plain", delay=self.send_delay)

    def _subscribe(self, req: Request) -> Response:
        body = req.body or {}
        if req.path != SUBSCRIPTIONS:
            return NOT_FOUND
        url = str(body.get("notificationUrl", ""))
        # Graph first posts a validation token and wants it back, as text/plain, in 10 s.
        token = f"Validation: Token-{len(self.subscriptions) + 1} & more"
        check = urllib.request.Request(
            url + "?" + urllib.parse.urlencode({"validationToken": token}), data=b"", method="POST"
        )
        try:
            with urllib.request.urlopen(check, timeout=10) as answer:
                echoed = answer.read().decode()
                plain = answer.headers.get("Content-Type", "").startswith("text/plain")
                ok = answer.status == 200 and plain and echoed == token
        except (urllib.error.URLError, OSError):
            ok = False
        if not ok:
            return graph_error(400, "ValidationError", "Subscription validation request failed.")
        with self._lock:
            sub_id = f"sub-{len(self.subscriptions) + 1:04d}"
            sub = {"id": sub_id, **{k: v for k, v in body.items() if not k.startswith("@")}}
            self.subscriptions[sub_id] = sub
        return Response(201, sub)

    def _renew(self, req: Request) -> Response:
        sub_id = req.path[len(SUBSCRIPTIONS) + 1 :]
        sub = self.subscriptions.get(sub_id)
        if sub is None:
            return graph_error(404, "ResourceNotFound", "The object was not found.")
        sub["expirationDateTime"] = (req.body or {}).get("expirationDateTime")
        return Response(200, sub)

    def _get_item(self, req: Request) -> Response:
        match = re.fullmatch(rf"{ME}/messages/([^/]+)/\$value", req.path)
        if not match or match.group(1) not in self.items:
            return NOT_FOUND
        return Response(200, self._render(self.items[match.group(1)]), content_type="text/plain")

    def _delta(self, req: Request) -> Response:
        token = req.query.get("$deltatoken", [None])[0]
        skip = int(req.query.get("$skiptoken", ["0"])[0])
        start = int(req.query.get("start", ["0"])[0])
        if token is not None:
            start = int(token)
            if start < self.oldest_token:
                return SYNC_STATE_GONE
        ids = self.log[start:]
        page = ids[skip : skip + self.page_size]
        link = f"{self.url}{ME}/mailFolders/inbox/messages/delta"
        body: dict[str, Any] = {
            "value": [
                self._public(self.items[i], ["id", "conversationId", "receivedDateTime"])
                for i in page
                if i in self.items
            ]
        }
        if skip + self.page_size < len(ids):
            body["@odata.nextLink"] = f"{link}?start={start}&$skiptoken={skip + self.page_size}"
        else:
            body["@odata.deltaLink"] = f"{link}?$deltatoken={len(self.log)}"
        return Response(200, body)

    def _render(self, item: dict[str, Any]) -> bytes:
        if "_raw" in item:
            return bytes(item["_raw"])
        msg = EmailMessage()
        msg["Message-ID"] = item["internetMessageId"]
        msg["From"] = self.address
        msg["To"] = ", ".join(_addr(r) for r in item.get("toRecipients", []))
        if item.get("ccRecipients"):
            msg["Cc"] = ", ".join(_addr(r) for r in item["ccRecipients"])
        msg["Subject"] = item.get("subject", "")
        parent = self.items.get(item.get("_parent", ""))
        if parent is not None:
            parent_mime = self.mime(parent)
            chain = str(parent_mime.get("References", "")).split()
            msg["In-Reply-To"] = parent["internetMessageId"]
            msg["References"] = " ".join([*chain, parent["internetMessageId"]])
        body = item.get("body") or {"contentType": "text", "content": ""}
        subtype = "html" if body.get("contentType", "").lower() == "html" else "plain"
        msg.set_content(body.get("content", ""), subtype=subtype)
        for attachment in item.get("attachments", []):
            data = base64.b64decode(attachment["contentBytes"])
            ctype = attachment["contentType"].split(";")[0]
            maintype, subtype = ctype.split("/")
            params = dict(
                p.strip().split("=", 1)
                for p in attachment["contentType"].split(";")[1:]
                if "=" in p
            )
            msg.add_attachment(
                data, maintype=maintype, subtype=subtype, filename=attachment["name"], params=params
            )
        return msg.as_bytes()


def _addr(recipient: dict[str, Any]) -> str:
    email = recipient["emailAddress"]
    return f"{email['name']} <{email['address']}>" if email.get("name") else email["address"]
