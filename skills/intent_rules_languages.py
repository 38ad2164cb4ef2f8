"""The common answers in Spanish, German, French, Portuguese, Italian and Dutch.

Prospects answer in their own language. The English cue tables in :mod:`skills.intent_rules`
carry the nuance; these carry only the answers that are common and unambiguous in each
language — accept, decline, an out-of-office note — plus the return date such a note gives, so
that a short foreign reply is read rather than escalated as "no cue matched". Anything subtler
stays unmatched and goes to the rep. Patterns run on the same lower-cased text as the English
ones; a negation is written into each pattern, because the English negators do not apply.
"""

from __future__ import annotations

import re
from datetime import date

from skills.intent_rules import CLEAR, DECISIVE, Cue, cue

_ES_DAYS = r"(?:lunes|martes|miércoles|miercoles|jueves|viernes|sábado|sabado|domingo|mañana)"
_DE_DAYS = r"(?:montag|dienstag|mittwoch|donnerstag|freitag|samstag|sonntag|morgen)"
_FR_DAYS = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|demain)"
_PT_DAYS = r"(?:segunda|terça|terca|quarta|quinta|sexta|sábado|sabado|domingo|amanhã|amanha)"
_IT_DAYS = r"(?:lunedì|lunedi|martedì|martedi|mercoledì|mercoledi|giovedì|giovedi|venerdì|venerdi|"
_IT_DAYS += r"sabato|domenica|domani)"
_NL_DAYS = r"(?:maandag|dinsdag|woensdag|donderdag|vrijdag|zaterdag|zondag|morgen)"

ACCEPT: tuple[Cue, ...] = (
    cue(
        "yes (es)",
        r"\b(?:me (?:parece|viene|va) (?:bien|perfecto)|de acuerdo|(?:allí|alli|ahí|ahi) estaré"
        r"|estaré (?:allí|alli|ahí|ahi)|cuenta conmigo|confirmo (?:mi )?(?:asistencia|la reunión"
        r"|la cita)|asistiré|nos vemos (?:el |en )?" + _ES_DAYS + r")\b",
        CLEAR,
        negatable=True,  # "no me parece bien": the English negators include "no"
    ),
    cue(
        "yes (de)",
        r"(?<!nicht )\b(?:passt (?:mir|uns|gut|perfekt)(?! (?:leider )?nicht)|einverstanden"
        r"|ich bin dabei|ich komme gerne|ich sage zu|ich nehme (?:gerne )?teil|klingt gut"
        r"|das geht(?! (?:leider )?nicht)|bis (?:dann|" + _DE_DAYS + r")|ich bestätige"
        r"|termin (?:ist )?bestätigt)\b",
        CLEAR,
    ),
    cue(
        "yes (fr)",
        r"\b(?:(?:ça|ca|cela) me (?:va|convient)|(?:ça|ca) marche|c'est parfait|d'accord|je "
        r"confirme|j'y serai|je serai (?:là|la|présent|présente)|avec plaisir|je participerai"
        r"|à (?:" + _FR_DAYS + r"))\b",
        CLEAR,
    ),
    cue(
        "yes (pt)",
        r"(?<!não )(?<!nao )\b(?:combinado|pode ser|(?:está|esta|fica) (?:ótimo|otimo|bom|bem"
        r"|perfeito)|para mim (?:está|esta) (?:bom|ótimo|otimo)|estarei (?:lá|la|presente)"
        r"|conte comigo|vou participar|confirmo (?:a |minha )?(?:reunião|reuniao|presença"
        r"|presenca)|até (?:" + _PT_DAYS + r"))\b",
        CLEAR,
    ),
    cue(
        "yes (it)",
        r"(?<!non )(?<!non mi )\b(?:(?:mi )?va (?:bene|benissimo)|d'accordo|ci sarò|ci saro"
        r"|confermo|parteciperò|partecipero|volentieri|perfetto|a (?:" + _IT_DAYS + r"))\b",
        CLEAR,
    ),
    cue(
        "yes (nl)",
        r"\b(?:akkoord|dat is (?:goed|prima)|(?:dat|het) (?:past|komt) (?:me|mij|ons|goed)"
        r"(?! (?:helaas )?niet)|ik ben erbij|ik kom graag|ik zal er zijn|klinkt goed|ik bevestig"
        r"|tot (?:dan|" + _NL_DAYS + r"))\b",
        CLEAR,
    ),
)

DECLINE: tuple[Cue, ...] = (
    cue(
        "no (es)",
        r"\b(?:no (?:puedo|podré|podre|podemos|podremos) (?:asistir|ir|participar|acudir)|no me "
        r"interesa|no (?:estoy|estamos) interesad[oa]s?|no,? gracias)\b",
        DECISIVE,
    ),
    cue(
        "no (de)",
        r"\b(?:(?:kann|können|koennen) (?:leider )?nicht (?:teilnehmen|kommen|dabei sein)|kein "
        r"interesse|nein,? danke|absagen|ich sage (?:leider )?ab)\b",
        DECISIVE,
    ),
    cue(
        "no (fr)",
        r"\b(?:je ne (?:peux|pourrai|pourrais) pas (?:venir|assister|participer|être (?:là|"
        r"présent))|(?:pas|plus) intéressée?s?|non,? merci|je dois décliner)\b",
        DECISIVE,
    ),
    cue(
        "no (pt)",
        r"(?:\bnão|\bnao) (?:(?:posso|poderei|podemos) (?:ir|participar|comparecer)|tenho "
        r"interesse|(?:estou|estamos) interessad[oa]s?|,? obrigad[oa])\b",
        DECISIVE,
    ),
    cue(
        "no (it)",
        r"\b(?:non (?:posso|potrò|potro|possiamo) (?:venire|partecipare|esserci)|non (?:sono|"
        r"siamo) interessat[oie]|non mi interessa|no,? grazie)\b",
        DECISIVE,
    ),
    cue(
        "no (nl)",
        r"\b(?:(?:kan|kunnen) (?:helaas )?niet (?:komen|deelnemen|aanwezig zijn)|geen interesse"
        r"|nee,? dank(?: je| u)?|afzeggen|(?:zeg|zeggen) (?:\w+ )?af)\b",
        DECISIVE,
    ),
)

OUT_OF_OFFICE: tuple[Cue, ...] = (
    cue(
        "away (es)",
        r"\b(?:fuera de la oficina|de vacaciones|respuesta automática|ausente hasta)\b",
        DECISIVE,
    ),
    cue(
        "away (de)",
        r"(?:\babwesend|außer haus|ausser haus|nicht im büro|\bim urlaub|abwesenheitsnotiz"
        r"|automatische antwort)\b",
        DECISIVE,
    ),
    cue(
        "away (fr)",
        r"\b(?:absente? du bureau|en congés?|en vacances|réponse automatique|message d'absence)\b",
        DECISIVE,
    ),
    cue(
        "away (pt)",
        r"\b(?:fora do escritório|fora do escritorio|de férias|de ferias|resposta automática"
        r"|ausente até)\b",
        DECISIVE,
    ),
    cue(
        "away (it)",
        r"\b(?:fuori (?:ufficio|sede)|in ferie|risposta automatica|assente fino)\b",
        DECISIVE,
    ),
    cue(
        "away (nl)",
        r"\b(?:afwezig|niet op kantoor|met vakantie|automatisch antwoord)\b",
        DECISIVE,
    ),
)

# --- the return date of a foreign out-of-office note ---------------------------------------------

_MONTHS = {
    # Spanish, Portuguese, Italian, French, German, Dutch: the first letters tell them apart.
    **dict.fromkeys(("ene", "gen", "jan", "janv", "jän", "janu"), 1),
    **dict.fromkeys(("feb", "fev", "fév", "févr"), 2),
    **dict.fromkeys(("mar", "mär", "maa", "mrt"), 3),
    **dict.fromkeys(("abr", "apr", "avr"), 4),
    **dict.fromkeys(("may", "mai", "mag", "mei"), 5),
    **dict.fromkeys(("jun", "giu", "jui", "juin"), 6),
    **dict.fromkeys(("jul", "lug", "juil"), 7),
    **dict.fromkeys(("ago", "aug", "aoû", "aou"), 8),
    **dict.fromkeys(("sep", "set"), 9),
    **dict.fromkeys(("oct", "out", "ott", "okt"), 10),
    **dict.fromkeys(("nov",), 11),
    **dict.fromkeys(("dic", "dez", "déc", "dec"), 12),
}
_RETURN_WORDS = re.compile(
    r"\b(?:regres\w*|vuelv\w*|volver\w*|de vuelta|hasta|zurück|zurueck|wieder|bis|retour|jusqu'au"
    r"|jusqu'à|retorn\w*|volto|até|rientr\w*|ritorno|fino al?|terug|weer|tot)\b"
)
# Day first, as in all six languages: "14.03.", "14/3/2026", "14 de marzo", "14. März".
_NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2,4}))?(?![\d])")
_WORDED_DATE = re.compile(r"(?<!\d)(\d{1,2})(?:º|er|\.)?\s+(?:de\s+)?([a-zäöüéûàèì]{3,})")


def after_return_word(lowered: str) -> int | None:
    """Where the text after the first "back on / until" word begins, if there is one."""
    anchor = _RETURN_WORDS.search(lowered)
    return anchor.end() if anchor else None


def return_date(lowered: str, today: date, *, anywhere: bool = True) -> date | None:
    """The first day-first date after a "back on / until" word (else, when ``anywhere``,
    anywhere), never past."""
    anchor = _RETURN_WORDS.search(lowered)
    for scope in ([lowered[anchor.end() :]] if anchor else []) + ([lowered] if anywhere else []):
        for day, month, year in _dates(scope):
            found = _upcoming(day, month, year, today)
            if found is not None:
                return found
    return None


def _dates(text: str) -> list[tuple[int, int, int | None]]:
    found: list[tuple[int, tuple[int, int, int | None]]] = []
    for match in _NUMERIC_DATE.finditer(text):
        year = int(match[3]) if match[3] else None
        if year is not None and year < 100:
            year += 2000
        found.append((match.start(), (int(match[1]), int(match[2]), year)))
    for match in _WORDED_DATE.finditer(text):
        word = match[2]
        month = _MONTHS.get(word[:4]) or _MONTHS.get(word[:3])
        if month:
            found.append((match.start(), (int(match[1]), month, None)))
    return [value for _, value in sorted(found)]


def _upcoming(day: int, month: int, year: int | None, today: date) -> date | None:
    for candidate_year in (year,) if year else (today.year, today.year + 1):
        try:
            candidate = date(candidate_year, month, day)
        except ValueError:
            return None
        if candidate >= today:
            return candidate
    return None
