"""Quoted history and sign-offs in languages other than English: our rules where we know
better, mail-parser-reply's for the rest (skills/mail_languages.py).

Each reply quotes a message holding times and words of agreement; none of it may reach the new
part, which the rest of the system reads as what the prospect said.
"""

from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from skills import mail_languages
from skills.email_text import clean_body, history_start
from skills.parse_times import extract_times

# What the quoted message said: times and an agreement that are not the prospect's answer.
QUOTED = "> Accept: Thursday 10:00 or Friday 16:30?\n> Sam Carter\n"

GMAIL_STYLE = [
    pytest.param(
        "Perfecto, el martes a las 15:00 me viene bien.",
        "El lun, 2 mar 2026 a las 9:14, Sam Carter (<sam@convene.example>) escribió:",
        id="spanish-gmail",
    ),
    pytest.param(
        "Va bene martedì alle 15.",
        "Il giorno lun 2 mar 2026 alle ore 09:14 Sam Carter <sam@convene.example> ha scritto:",
        id="italian-gmail",
    ),
    pytest.param(
        "Dinsdag om 15:00 past prima.",
        "Op ma 2 mrt 2026 om 09:14 schreef Sam Carter <sam@convene.example>:",
        id="dutch-gmail",
    ),
    pytest.param(
        "Terça às 15h funciona para mim.",
        "Em seg., 2 de mar. de 2026 às 09:14, Sam Carter <sam@convene.example> escreveu:",
        id="portuguese-brazil-gmail",
    ),
    pytest.param(
        "Terça às 15h funciona para mim.",
        "Sam Carter <sam@convene.example> escreveu no dia segunda, 2/03/2026 à(s) 09:14:",
        id="portuguese-portugal-gmail",
    ),
    pytest.param(
        "Tisdag kl 15 passar bra.",
        "Den mån 2 mars 2026 kl 09:14 skrev Sam Carter <sam@convene.example>:",
        id="swedish-gmail",
    ),
    pytest.param(
        "Tirsdag kl. 15 passer fint.",
        "Den man. 2. mar. 2026 kl. 09.14 skrev Sam Carter <sam@convene.example>:",
        id="danish-gmail",
    ),
    pytest.param(
        "Tirsdag kl. 15 passer fint.",
        "man. 2. mar. 2026 kl. 09:14 skrev Sam Carter <sam@convene.example>:",
        id="norwegian-gmail",
    ),
    pytest.param(
        "Wtorek o 15:00 mi pasuje.",
        "pon., 2 mar 2026 o 09:14 Sam Carter <sam@convene.example> napisał(a):",
        id="polish-gmail",
    ),
    pytest.param(
        "Wtorek o 15:00 mi pasuje.",
        "Dnia 2 marca 2026 09:14 Sam Carter <sam@convene.example> napisał(a):",
        id="polish-dnia",
    ),
    pytest.param(
        "Dienstag um 15 Uhr passt.",
        "Am Mo., 2. März 2026 um 09:14 Uhr schrieb Sam Carter <sam@convene.example>:",
        id="german-gmail",
    ),
    pytest.param(
        "火曜日の15時で大丈夫です。",
        "2026年3月2日(月) 9:14 Sam Carter <sam@convene.example>:",
        id="japanese-gmail",
    ),
    pytest.param(
        "周二下午三点可以。",
        "Sam Carter <sam@convene.example> 于2026年3月2日周一 09:14写道：",
        id="chinese-gmail",
    ),
    pytest.param(
        "Úterý v 15:00 mi vyhovuje.",
        "Dne 2. 3. 2026 v 9:14 Sam Carter napsal(a):",
        id="czech-thunderbird",
    ),
    pytest.param(
        "Va bene.",
        "Il giorno lun 2 mar 2026 alle ore 09:14 Sam Carter <\nsam@convene.example> ha scritto:",
        id="italian-wrapped",
    ),
]

OUTLOOK_BLOCKS = [
    pytest.param(
        "Me viene bien el martes.",
        "De: Sam Carter <sam@convene.example>\nEnviado: lunes, 2 de marzo de 2026 9:14\n"
        "Para: Ana Ruiz <ana@cliente.example>\nAsunto: Demo",
        id="spanish-outlook",
    ),
    pytest.param(
        "Dienstag passt.",
        "Von: Sam Carter <sam@convene.example>\nGesendet: Montag, 2. März 2026 09:14\n"
        "An: Jonas Weber <jonas@kunde.example>\nBetreff: Demo",
        id="german-outlook",
    ),
    pytest.param(
        "Terça funciona.",
        "De: Sam Carter <sam@convene.example>\nEnviada em: segunda-feira, 2 de março de 2026 "
        "09:14\nPara: Ana Souza <ana@cliente.example>\nAssunto: Demo",
        id="portuguese-outlook",
    ),
    pytest.param(
        "Mardi me convient.",
        "De : Sam Carter <sam@convene.example>\nEnvoyé : lundi 2 mars 2026 09:14\n"
        "À : Claire <claire@client.example>\nObjet : Demo",
        id="french-outlook",
    ),
    pytest.param(
        "Martedì va bene.",
        "Da: Sam Carter <sam@convene.example>\nInviato: lunedì 2 marzo 2026 09:14\n"
        "A: Giulia <giulia@cliente.example>\nOggetto: Demo",
        id="italian-outlook",
    ),
    pytest.param(
        "Dinsdag past.",
        "Van: Sam Carter <sam@convene.example>\nVerzonden: maandag 2 maart 2026 09:14\n"
        "Aan: Daan <daan@klant.example>\nOnderwerp: Demo",
        id="dutch-outlook",
    ),
    pytest.param(
        "Tisdag funkar.",
        "Från: Sam Carter <sam@convene.example>\nSkickat: den 2 mars 2026 09:14\n"
        "Till: Elsa <elsa@kund.example>\nÄmne: Demo",
        id="swedish-outlook",
    ),
    pytest.param(
        "Tirsdag passer.",
        "Fra: Sam Carter <sam@convene.example>\nSendt: 2. mars 2026 09:14\n"
        "Til: Ingrid <ingrid@kunde.example>\nEmne: Demo",
        id="norwegian-danish-outlook",
    ),
    pytest.param(
        "Wtorek pasuje.",
        "Od: Sam Carter <sam@convene.example>\nWysłano: poniedziałek, 2 marca 2026 09:14\n"
        "Do: Anna <anna@klient.example>\nTemat: Demo",
        id="polish-outlook",
    ),
    pytest.param(
        "火曜日で大丈夫です。",
        "差出人: Sam Carter <sam@convene.example>\n送信日時: 2026年3月2日 9:14\n"
        "宛先: Haruto <haruto@kokyaku.example>\n件名: Demo",
        id="japanese-outlook",
    ),
    pytest.param(
        "Úterý mi vyhovuje.",
        "Od: Sam Carter <sam@convene.example>\nOdesláno: pondělí 2. března 2026 9:14\n"
        "Komu: Jana <jana@klient.example>\nPředmět: Demo",
        id="czech-outlook",
    ),
    pytest.param(
        "화요일 괜찮습니다.",
        "보낸 사람: Sam Carter <sam@convene.example>\n보낸 날짜: 2026년 3월 2일 월요일 오전 9:14\n"
        "받는 사람: 민준 <minjun@gogaek.example>\n제목: Demo",
        id="korean-outlook",
    ),
    pytest.param(
        "周二可以。",
        "发件人: Sam Carter <sam@convene.example>\n发送时间: 2026年3月2日 9:14\n"
        "收件人: Li <li@kehu.example>\n主题: Demo",
        id="chinese-outlook",
    ),
]


@pytest.mark.parametrize(("new", "header"), GMAIL_STYLE)
def test_a_reply_header_ends_the_new_part(new: str, header: str) -> None:
    body = f"{new}\n\n{header}\n{QUOTED}"
    assert clean_body(body) == new
    start = history_start(body)
    assert start is not None and body[start:].lstrip().startswith(header)


@pytest.mark.parametrize(("new", "block"), OUTLOOK_BLOCKS)
def test_an_outlook_block_ends_the_new_part(new: str, block: str) -> None:
    # Outlook quotes without ">": the old message follows the block as plain text.
    body = f"{new}\n\n{block}\n\nAccept: Thursday 10:00 or Friday 16:30?\nSam Carter\n"
    assert clean_body(body) == new
    start = history_start(body)
    assert start is not None and body[start:].lstrip().startswith(block)


def test_quoted_times_are_not_read_as_the_prospects() -> None:
    body = (
        "Il martedì alle 15:00 va bene.\n\n"
        "Il giorno lun 2 mar 2026 alle ore 09:14 Sam <sam@convene.example> ha scritto:\n\n"
        "Accept: Thursday 10:00 or Friday 16:30?\n"
    )
    now = datetime(2026, 3, 2, 10, tzinfo=ZoneInfo("Europe/Rome"))
    found = extract_times(body, now=now, tz="Europe/Rome", ignore_quoted=True)
    assert found, "the new part's time is read"
    assert all(f.span[0] < body.index("Il giorno") for f in found), found


@pytest.mark.parametrize(
    "header",
    [
        "Il giorno lun 2 mar 2026 alle ore 09:14 Sam <sam@convene.example> ha scritto:",
        "Den mån 2 mars 2026 kl 09:14 skrev Sam <sam@convene.example>:",
        "2026年3月2日(月) 9:14 Sam <sam@convene.example>:",
        "Von: Sam <sam@convene.example>\nGesendet: Montag, 2. März 2026 09:14",
    ],
)
def test_the_library_finds_the_languages_we_take_from_it(header: str) -> None:
    body = f"  Ok.\n  {header}\n> old"
    assert mail_languages.header_start(body) == body.index(header)


NEW_PARTS_KEPT = [
    pytest.param("Here is what I wrote:\nTuesday 3pm works, Wednesday too.", id="mentions-wrote"),
    pytest.param(
        "On Monday I wrote that Tuesday works.\nStill true: 3pm is fine.", id="on-wrote-prose"
    ),
    pytest.param("Jak Sam napisał:\nwtorek o 15:00 pasuje.", id="polish-prose-napisal"),
    pytest.param("Como escreveu o Sam:\nterça às 15h.", id="portuguese-prose-escreveu"),
    pytest.param("El equipo escribió:\nmartes a las 15:00.", id="spanish-prose-escribio"),
    pytest.param("Op de agenda:\ndinsdag 15:00.", id="dutch-colon-line"),
    pytest.param("Il programma:\nmartedì alle 15.", id="italian-colon-line"),
    pytest.param("Data: martedì 3 marzo\nOra: 15:00\nLuogo: online", id="italian-labelled-lines"),
    pytest.param("Date: Tuesday\nTo: the whole team\nTime: 3pm", id="english-labelled-lines"),
    pytest.param("Agenda:\nMonday: 10am\nTuesday: 3pm", id="agenda-with-colons"),
    pytest.param("Den tid passar:\ntisdag 15:00.", id="swedish-den-colon"),
    pytest.param("- tisdag 15:00\n- onsdag 10:00", id="hyphen-list-of-times"),
    pytest.param("Tak for mødet! Tirsdag kl. 15 passer.", id="danish-tak-for"),
]


@pytest.mark.parametrize("text", NEW_PARTS_KEPT)
def test_a_new_part_that_only_looks_like_history_is_kept(text: str) -> None:
    assert history_start(text) is None
    assert clean_body(text) == text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("El martes a las 15:00.\n\nUn saludo,\nAna Ruiz\nDirectora", "El martes a las 15:00."),
        ("Dienstag 15 Uhr.\n\nMit freundlichen Grüßen\nJonas", "Dienstag 15 Uhr."),
        ("Dienstag 15 Uhr.\n\nViele Grüße\nJonas", "Dienstag 15 Uhr."),
        ("Martedì alle 15.\n\nCordiali saluti\nGiulia", "Martedì alle 15."),
        ("Dinsdag 15:00.\n\nMet vriendelijke groet,\nDaan", "Dinsdag 15:00."),
        ("Tisdag 15:00.\n\nMed vänliga hälsningar\nElsa", "Tisdag 15:00."),
        ("Wtorek 15:00.\n\nPozdrawiam\nAnna", "Wtorek 15:00."),
        ("Terça às 15h.\n\nEnviado desde mi iPhone", "Terça às 15h."),
        ("Martedì alle 15.\n\nInviato da iPhone", "Martedì alle 15."),
        (
            "Martedì.\nInviato da Marco: il resto segue.",
            "Martedì.\nInviato da Marco: il resto segue.",
        ),
    ],
)
def test_sign_offs_in_other_languages(body: str, expected: str) -> None:
    assert clean_body(body) == expected


@pytest.mark.parametrize(
    "line_start",
    ["Il ", "mån ", "Den ", "Dne ", "Dnia ", "El ", "Op ", "Am ", "man ", "2026年3月2日(月) 9:14 "],
)
def test_a_long_line_that_starts_like_a_header_costs_milliseconds(line_start: str) -> None:
    # Unguarded, the library's patterns take seconds on one such line (minutes on Swedish), and
    # ~2 s of CPU on these 100,000 characters of short lines, each one a header candidate.
    words = "skrev ha scritto napsal schrieb a "
    hostile = (line_start + words * 150 + "\n") * 2 + (line_start + words * 8 + ":\n") * 320
    started = time.process_time()
    clean_body(hostile)
    history_start(hostile)
    assert time.process_time() - started < 1.0
