"""Block Kit as HTML, the way Slack's client draws it, for the sandbox page.

Everything on a card can come from a prospect's email, so every string is escaped here and no
markup is ever taken from a block: mrkdwn is read token by token (Slack's own `&amp;`, `&lt;`
and `&gt;`, `<url|label>` links, mentions) and only the tags this module writes reach the page.
Interactive elements carry their ids in `data-` attributes; the page's script turns a click
into the payload Slack would send.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Block = Mapping[str, Any]

# The emoji Convene writes, and a few more; any other `:name:` stays as typed.
EMOJI = {
    "warning": "⚠️",
    "white_check_mark": "✅",
    "calendar": "📅",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "incoming_envelope": "📨",
    "inbox_tray": "📥",
    "outbox_tray": "📤",
    "x": "❌",
    "twisted_rightwards_arrows": "🔀",
    "repeat": "🔁",
    "pause_button": "⏸️",
    "no_entry_sign": "🚫",
    "mag": "🔍",
    "leftwards_arrow_with_hook": "↩️",
    "electric_plug": "🔌",
    "sunrise": "🌅",
    "scissors": "✂️",
    "rotating_light": "🚨",
    "raising_hand": "🙋",
    "raised_hand": "✋",
    "point_down": "👇",
    "ghost": "👻",
    "eyes": "👀",
    "envelope": "✉️",
    "email": "📧",
    "busts_in_silhouette": "👥",
    "bar_chart": "📊",
    "arrows_counterclockwise": "🔄",
    "tada": "🎉",
    "memo": "📝",
    "clock": "🕐",
    "wave": "👋",
}
SAFE_SCHEMES = ("http://", "https://", "mailto:")

_TOKEN = re.compile(r"<([^<>\n]*)>")
_STASHED = re.compile(r"\x00(\d+)\x00")
_PRE = re.compile(r"```(.+?)```", re.DOTALL)
_CODE = re.compile(r"`([^`\n]+)`")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![A-Za-z0-9_])_(?=\S)([^_\n]+?)(?<=\S)_(?![A-Za-z0-9_])")
_STRIKE = re.compile(r"(?<![\w~])~(?=\S)([^~\n]+?)(?<=\S)~(?![\w~])")
_EMOJI = re.compile(r":([a-z0-9_+-]+):")


def _slack_unescape(text: str) -> str:
    """Slack's three entities back to characters (the only escaping mrkdwn has)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def emoji(escaped: str) -> str:
    return _EMOJI.sub(lambda m: EMOJI.get(m.group(1), m.group(0)), escaped)


def plain(text: str) -> str:
    """A plain_text object: escaped, emoji shown, line breaks kept."""
    return emoji(_esc(text)).replace("\n", "<br>")


def mrkdwn(text: str, *, users: Mapping[str, str] | None = None) -> str:
    """Slack mrkdwn as HTML: *bold*, _italic_, ~strike~, `code`, ```pre```, > quotes, links,
    mentions and emoji. Anything else is text."""
    names = users or {}
    stash: list[str] = []

    def keep(fragment: str) -> str:
        stash.append(fragment)
        return f"\x00{len(stash) - 1}\x00"

    text = text.replace("\x00", "")
    text = _TOKEN.sub(lambda m: keep(_token(m.group(1), names)), text)
    text = _esc(_slack_unescape(text))
    text = _PRE.sub(lambda m: keep(f"<pre>{m.group(1).strip(chr(10))}</pre>"), text)
    text = _CODE.sub(lambda m: keep(f"<code>{m.group(1)}</code>"), text)
    text = _BOLD.sub(r"<b>\1</b>", text)
    text = _ITALIC.sub(r"<i>\1</i>", text)
    text = _STRIKE.sub(r"<s>\1</s>", text)
    text = emoji(text)
    out = _quotes(text.split("\n"))
    # Restored last (and repeatedly: a stashed <pre> may hold a stashed link).
    while _STASHED.search(out):
        out = _STASHED.sub(lambda m: stash[int(m.group(1))], out)
    return out


def _quotes(lines: list[str]) -> str:
    """Consecutive `> ` lines become one block quote; the rest are joined with <br>."""
    out: list[str] = []
    quoted: list[str] = []
    for line in lines:
        if line.startswith("&gt;"):
            quoted.append(line.removeprefix("&gt;").removeprefix(" "))
            continue
        if quoted:
            out.append("<blockquote>" + "<br>".join(quoted) + "</blockquote>")
            quoted = []
        out.append(line + "<br>")
    if quoted:
        out.append("<blockquote>" + "<br>".join(quoted) + "</blockquote>")
    joined = "".join(out)
    return joined.removesuffix("<br>")


def _token(inner: str, users: Mapping[str, str]) -> str:
    target, _, label = inner.partition("|")
    label = _slack_unescape(label)
    if target.startswith("@"):
        name = users.get(target[1:]) or label or target[1:]
        return f'<span class="mention">@{_esc(name)}</span>'
    if target.startswith("#"):
        return f'<span class="mention">#{_esc(label or target[1:])}</span>'
    if target.startswith("!"):
        special = target[1:].split("^")[0]
        shown = label or ("@" + special if special in ("here", "channel", "everyone") else "")
        return f'<span class="mention">{_esc(shown)}</span>'
    url = _slack_unescape(target)
    shown = label or url
    if not url.lower().startswith(SAFE_SCHEMES):
        return _esc(shown)
    return f'<a href="{_esc(url)}" target="_blank" rel="noopener noreferrer">{_esc(shown)}</a>'


def text_object(obj: Mapping[str, Any] | None, *, users: Mapping[str, str] | None = None) -> str:
    if not obj:
        return ""
    if obj.get("type") == "mrkdwn":
        return mrkdwn(str(obj.get("text", "")), users=users)
    return plain(str(obj.get("text", "")))


# --- blocks ---------------------------------------------------------------------------------


class _Renderer:
    def __init__(self, users: Mapping[str, str]) -> None:
        self.users = users
        self.radios = 0  # radio groups need page-unique names

    def text(self, obj: Mapping[str, Any] | None) -> str:
        return text_object(obj, users=self.users)

    def block(self, block: Block, index: int) -> str:
        kind = block.get("type", "")
        block_id = str(block.get("block_id") or f"b{index}")
        attrs = f'class="block block-{_esc(kind)}" data-block-id="{_esc(block_id)}"'
        if kind == "section":
            parts = []
            if block.get("text"):
                parts.append(f'<div class="text">{self.text(block["text"])}</div>')
            if fields := block.get("fields"):
                cells = "".join(f'<div class="field">{self.text(f)}</div>' for f in fields)
                parts.append(f'<div class="fields">{cells}</div>')
            body = f'<div class="main">{"".join(parts)}</div>'
            if accessory := block.get("accessory"):
                body += f'<div class="accessory">{self.element(accessory, block_id)}</div>'
            return f"<div {attrs}>{body}</div>"
        if kind == "context":
            items = "".join(self.context_item(e) for e in block.get("elements", []))
            return f"<div {attrs}>{items}</div>"
        if kind == "actions":
            items = "".join(self.element(e, block_id) for e in block.get("elements", []))
            return f"<div {attrs}>{items}</div>"
        if kind == "divider":
            return f"<hr {attrs}>"
        if kind == "header":
            return f"<h3 {attrs}>{self.text(block.get('text'))}</h3>"
        if kind == "input":
            optional = ' <span class="optional">(optional)</span>' if block.get("optional") else ""
            label = f"<label>{self.text(block.get('label'))}{optional}</label>"
            element = self.element(block.get("element") or {}, block_id, in_input=True)
            hint = f'<div class="hint">{self.text(block["hint"])}</div>' if "hint" in block else ""
            error = f'<div class="error" data-error-for="{_esc(block_id)}"></div>'
            return f"<div {attrs}>{label}{element}{hint}{error}</div>"
        if kind == "image":
            title = self.text(block.get("title")) or _esc(str(block.get("alt_text", "")))
            return f'<div {attrs}><span class="image">[image: {title}]</span></div>'
        return f'<div {attrs}><span class="unknown">[{_esc(kind)} block]</span></div>'

    def context_item(self, element: Mapping[str, Any]) -> str:
        if element.get("type") == "image":
            return f'<span class="image">[{_esc(str(element.get("alt_text", "")))}]</span>'
        return f"<span>{self.text(element)}</span>"

    def element(self, element: Mapping[str, Any], block_id: str, *, in_input: bool = False) -> str:
        kind = str(element.get("type", ""))
        action_id = str(element.get("action_id") or "")
        data = (
            f'data-kind="{_esc(kind)}" data-action-id="{_esc(action_id)}" '
            f'data-block-id="{_esc(block_id)}"' + (' data-in-input="1"' if in_input else "")
        )
        if kind == "button":
            style = str(element.get("style") or "")
            confirm = element.get("confirm")
            ask = f' data-confirm="{_esc(_confirm_text(confirm))}"' if confirm else ""
            label = self.text(element.get("text"))
            value = _esc(str(element.get("value", "")))
            return (
                f'<button type="button" class="btn {_esc(style)}" {data} data-value="{value}"'
                f"{ask}>{label}</button>"
            )
        if kind in ("static_select", "multi_static_select", "overflow"):
            return self.select(element, data, multiple=kind == "multi_static_select")
        if kind in ("radio_buttons", "checkboxes"):
            return self.choices(element, data, radio=kind == "radio_buttons")
        if kind == "plain_text_input":
            return self.text_input(element, data)
        if kind == "number_input":
            value = _esc(str(element.get("initial_value", "")))
            step = "any" if element.get("is_decimal_allowed") else "1"
            bounds = "".join(
                f' {attr}="{_esc(str(element[key]))}"'
                for key, attr in (("min_value", "min"), ("max_value", "max"))
                if key in element
            )
            return f'<input type="number" step="{step}"{bounds} {data} value="{value}">'
        if kind == "datepicker":
            value = _esc(str(element.get("initial_date", "")))
            return f'<input type="date" {data} value="{value}">'
        if kind == "timepicker":
            value = _esc(str(element.get("initial_time", "")))
            return f'<input type="time" {data} value="{value}">'
        if kind in ("users_select", "multi_users_select"):
            return self.users_select(element, data, multiple=kind == "multi_users_select")
        return f'<span class="unknown" {data}>[{_esc(kind)}]</span>'

    def select(self, element: Mapping[str, Any], data: str, *, multiple: bool) -> str:
        placeholder = element.get("placeholder") or {"type": "plain_text", "text": "⋯"}
        initial = [element["initial_option"]] if "initial_option" in element else []
        initial += list(element.get("initial_options") or [])
        rows = [] if multiple else [f'<option value="">{self.text(placeholder)}</option>']
        groups = element.get("option_groups")
        for group in groups or [{"options": element.get("options") or []}]:
            options = "".join(self.option(o, o in initial) for o in group.get("options", []))
            if "label" in group:
                options = (
                    f'<optgroup label="{_esc(group["label"].get("text", ""))}">{options}</optgroup>'
                )
            rows.append(options)
        many = " multiple" if multiple else ""
        return f"<select{many} {data}>{''.join(rows)}</select>"

    def option(self, option: Mapping[str, Any], selected: bool) -> str:
        # The whole option travels back in the payload, as Slack sends it.
        blob = _esc(json.dumps(option, ensure_ascii=False))
        chosen = " selected" if selected else ""
        label = _esc(_flat(option.get("text")))
        value = _esc(str(option.get("value", "")))
        return f'<option value="{value}" data-option="{blob}"{chosen}>{label}</option>'

    def choices(self, element: Mapping[str, Any], data: str, *, radio: bool) -> str:
        self.radios += 1
        name = f"choice-{self.radios}"
        initial = [element["initial_option"]] if "initial_option" in element else []
        initial += list(element.get("initial_options") or [])
        kind = "radio" if radio else "checkbox"
        rows = []
        for option in element.get("options") or []:
            blob = _esc(json.dumps(option, ensure_ascii=False))
            checked = " checked" if option in initial else ""
            description = option.get("description")
            extra = (
                f'<span class="description">{self.text(description)}</span>' if description else ""
            )
            rows.append(
                f'<label class="choice"><input type="{kind}" name="{name}" '
                f'data-option="{blob}"{checked}><span>{self.text(option.get("text"))}</span>'
                f"{extra}</label>"
            )
        return f'<div class="choices" {data}>{"".join(rows)}</div>'

    def text_input(self, element: Mapping[str, Any], data: str) -> str:
        value = str(element.get("initial_value", ""))
        placeholder = _esc(_flat(element.get("placeholder")))
        limit = f' maxlength="{int(element["max_length"])}"' if "max_length" in element else ""
        if element.get("multiline"):
            return (
                f'<textarea rows="5" {data} placeholder="{placeholder}"{limit}>'
                f"{_esc(value)}</textarea>"
            )
        return (
            f'<input type="text" {data} placeholder="{placeholder}"{limit} value="{_esc(value)}">'
        )

    def users_select(self, element: Mapping[str, Any], data: str, *, multiple: bool) -> str:
        initial = set(element.get("initial_users") or [])
        if "initial_user" in element:
            initial.add(element["initial_user"])
        rows = [] if multiple else ['<option value="">Choose someone</option>']
        for user_id, name in self.users.items():
            chosen = " selected" if user_id in initial else ""
            rows.append(f'<option value="{_esc(user_id)}"{chosen}>{_esc(name)}</option>')
        many = " multiple" if multiple else ""
        return f"<select{many} {data}>{''.join(rows)}</select>"


def _flat(obj: Mapping[str, Any] | None) -> str:
    return str(obj.get("text", "")) if obj else ""


def _confirm_text(confirm: Mapping[str, Any]) -> str:
    parts = [_flat(confirm.get("title")), _slack_unescape(_flat(confirm.get("text")))]
    return "\n\n".join(p for p in parts if p)


def render_blocks(blocks: Iterable[Block], *, users: Mapping[str, str] | None = None) -> str:
    """A message's, modal's or Home tab's blocks as HTML."""
    renderer = _Renderer(users or {})
    return "".join(renderer.block(b, i) for i, b in enumerate(blocks))


def render_message(
    text: str, blocks: Iterable[Block] | None, *, users: Mapping[str, str] | None = None
) -> str:
    """A message as Slack shows it: its blocks, or its text when it has none."""
    blocks = list(blocks or [])
    if blocks:
        return render_blocks(blocks, users=users)
    return f'<div class="block block-text">{mrkdwn(text, users=users)}</div>'
