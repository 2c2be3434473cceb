#!/usr/bin/env python3
"""Write the sample contact base: examples/contacts.csv and examples/README.md.

The sample is a fictional shop selling in Poland, Slovakia, Czechia and Germany (plus a
few contacts from Great Britain, Austria and with no country). It is deterministic (fixed
seed), so the file only changes when this script does.

Every row is built for one intended class (valid, stale, weak, soft_opt_in, no_basis,
withdrawn) and then checked against a small reference classifier that follows
DESIGN.md sections 2.1-2.3 with "now" = 2026-11-22T00:00:00Z. Random dates keep a wide
margin from every boundary (3 years of activity, 12 months in SK, 3 years of soft opt-in,
2018-05-25), so the intended class does not depend on how an implementation rounds.
Only the hand-written edge cases sit near a boundary, and those on purpose.

Usage: python3 scripts/make-example-contacts.py [--out-dir examples]
Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import unicodedata
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

SEED = 20261122
NOW = datetime(2026, 11, 22, tzinfo=timezone.utc)
GDPR_START = datetime(2018, 5, 25, tzinfo=timezone.utc)

COLUMNS = [
    "email", "name", "locale", "country", "customer", "last_purchase_at",
    "last_activity_at", "consent_at", "consent_method", "consent_prechecked",
    "consent_bundled", "consent_text_version", "consent_ip", "consent_source",
    "consent_withdrawn_at", "legal_hold",
]

CLASSES = ["valid", "stale", "weak", "soft_opt_in", "no_basis", "withdrawn"]

# Intended totals (300 rows): valid 15%, stale 10%, weak 30%, soft_opt_in 15%,
# no_basis 20%, withdrawn 10%. Hand-written edge cases count towards these.
TARGET = {"valid": 45, "stale": 30, "weak": 90, "soft_opt_in": 45, "no_basis": 60, "withdrawn": 30}

LOCALE = {"PL": "pl", "SK": "sk", "CZ": "cs", "DE": "de", "AT": "de", "GB": "en", "": "en"}

# ---------------------------------------------------------------------------------------
# Reference classifier (DESIGN.md 2.1-2.3, default policy)
# ---------------------------------------------------------------------------------------


def parse_when(text: str) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    if len(text) == 10:  # YYYY-MM-DD: midnight UTC
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), timezone.utc)
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc)


def months_before(when: datetime, months: int) -> datetime:
    y, m = divmod(when.year * 12 + (when.month - 1) - months, 12)
    return when.replace(year=y, month=m + 1)


def classify(row: dict[str, str]) -> str:
    consent = parse_when(row["consent_at"])
    withdrawn = parse_when(row["consent_withdrawn_at"])
    if withdrawn is not None and (consent is None or withdrawn > consent):
        return "withdrawn"
    if consent is not None:
        method = row["consent_method"].strip()
        ip, source = row["consent_ip"].strip(), row["consent_source"].strip()
        text_version = row["consent_text_version"].strip()
        proof = method == "double_opt_in" or (method == "single_opt_in" and ip and source)
        grade = bool(
            proof
            and row["consent_prechecked"].strip() == "false"
            and row["consent_bundled"].strip() == "false"
            and text_version
        )
        if not grade:
            return "weak"
        dates = [parse_when(row[k]) for k in ("last_activity_at", "last_purchase_at", "consent_at")]
        activity = max(d for d in dates if d is not None)
        return "valid" if activity >= months_before(NOW, 36) else "stale"
    country = row["country"].strip().upper()
    purchase = parse_when(row["last_purchase_at"])
    if row["customer"].strip() == "true" and purchase is not None and country != "PL":
        window = 12 if country == "SK" else 36
        if purchase >= months_before(NOW, window):
            return "soft_opt_in"
    return "no_basis"


# ---------------------------------------------------------------------------------------
# Names (given name male/female, surname male/female) in their own spelling
# ---------------------------------------------------------------------------------------

NAMES = {
    "PL": {
        "m": ["Łukasz", "Piotr", "Krzysztof", "Paweł", "Michał", "Tomasz", "Grzegorz", "Jędrzej",
              "Maciej", "Wojciech", "Bartłomiej", "Jakub", "Zbigniew", "Mikołaj", "Przemysław",
              "Stanisław", "Kacper", "Rafał"],
        "f": ["Zofia", "Agnieszka", "Małgorzata", "Katarzyna", "Joanna", "Anna", "Ewa", "Barbara",
              "Urszula", "Grażyna", "Jadwiga", "Bożena", "Halina", "Magdalena", "Dorota", "Aleksandra",
              "Łucja", "Teresa"],
        "s": [("Wróbel", "Wróbel"), ("Kowalski", "Kowalska"), ("Nowak", "Nowak"),
              ("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik"), ("Kamiński", "Kamińska"),
              ("Lewandowski", "Lewandowska"), ("Zieliński", "Zielińska"), ("Szymański", "Szymańska"),
              ("Woźniak", "Woźniak"), ("Dąbrowski", "Dąbrowska"), ("Kozłowski", "Kozłowska"),
              ("Jankowski", "Jankowska"), ("Mazur", "Mazur"), ("Krawczyk", "Krawczyk"),
              ("Piątek", "Piątek"), ("Grabowski", "Grabowska"), ("Pawłowski", "Pawłowska"),
              ("Król", "Król"), ("Wieczorek", "Wieczorek"), ("Jabłoński", "Jabłońska"),
              ("Żółkiewski", "Żółkiewska"), ("Głowacki", "Głowacka"), ("Sęk", "Sęk"),
              ("Chmielewski", "Chmielewska"), ("Ślusarczyk", "Ślusarczyk"), ("Górecki", "Górecka")],
    },
    "SK": {
        "m": ["Ľubomír", "Peter", "Martin", "Ján", "Jozef", "Marek", "Tomáš", "Ľuboš", "Dušan",
              "Matúš", "Michal", "Štefan", "Juraj", "Ondrej", "Miloš", "Branislav"],
        "f": ["Ľubica", "Zuzana", "Mária", "Katarína", "Jana", "Lucia", "Eva", "Veronika", "Soňa",
              "Miroslava", "Alžbeta", "Daniela", "Ivana", "Dominika", "Božena", "Ľudmila"],
        "s": [("Šťastný", "Šťastná"), ("Horváth", "Horváthová"), ("Kováč", "Kováčová"),
              ("Varga", "Vargová"), ("Tóth", "Tóthová"), ("Baláž", "Balážová"),
              ("Molnár", "Molnárová"), ("Lukáč", "Lukáčová"), ("Kollár", "Kollárová"),
              ("Hudák", "Hudáková"), ("Polák", "Poláková"), ("Ďurica", "Ďuricová"),
              ("Čierny", "Čierna"), ("Mráz", "Mrázová"), ("Šimko", "Šimková"),
              ("Oravec", "Oravcová"), ("Gašpar", "Gašparová"), ("Ľupták", "Ľuptáková"),
              ("Kríž", "Krížová"), ("Bielik", "Bieliková")],
    },
    "CZ": {
        "m": ["Jiří", "Jan", "Petr", "Josef", "Pavel", "Tomáš", "Jaroslav", "Miroslav", "Zdeněk",
              "Václav", "Michal", "František", "Lukáš", "Radek", "Ondřej", "Vojtěch"],
        "f": ["Jana", "Marie", "Eva", "Hana", "Anna", "Lenka", "Kateřina", "Věra", "Lucie", "Alena",
              "Petra", "Veronika", "Jaroslava", "Markéta", "Tereza", "Zdeňka"],
        "s": [("Dvořák", "Dvořáková"), ("Novák", "Nováková"), ("Svoboda", "Svobodová"),
              ("Novotný", "Novotná"), ("Černý", "Černá"), ("Procházka", "Procházková"),
              ("Kučera", "Kučerová"), ("Veselý", "Veselá"), ("Horák", "Horáková"),
              ("Němec", "Němcová"), ("Pokorný", "Pokorná"), ("Pospíšil", "Pospíšilová"),
              ("Hájek", "Hájková"), ("Jelínek", "Jelínková"), ("Král", "Králová"),
              ("Růžička", "Růžičková"), ("Beneš", "Benešová"), ("Fiala", "Fialová"),
              ("Sedláček", "Sedláčková"), ("Doležal", "Doležalová"), ("Kolář", "Kolářová"),
              ("Čermák", "Čermáková"), ("Vaněk", "Vaňková"), ("Kříž", "Křížová"),
              ("Řezníček", "Řezníčková")],
    },
    "DE": {
        "m": ["Jürgen", "Lukas", "Maximilian", "Stefan", "Andreas", "Thomas", "Michael", "Björn",
              "Jörg", "Uwe", "Klaus", "Matthias", "Sören", "Günter", "Florian", "Jonas"],
        "f": ["Sophie", "Katharina", "Julia", "Sabine", "Ursula", "Bärbel", "Monika", "Käthe",
              "Lena", "Marie", "Annegret", "Hannelore", "Mareike", "Gisela", "Dörte", "Jördis"],
        "s": [(s, s) for s in [
            "Weiß", "Müller", "Schmidt", "Schneider", "Fischer", "Meyer", "Wagner", "Becker",
            "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
            "Schröder", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hartmann",
            "Köhler", "Groß", "Jäger", "Günther", "Möller", "Böhm", "Voß", "Strauß", "Lößner"]],
    },
    "AT": {
        "m": ["Florian", "Matthias", "Lukas", "Sebastian", "Andreas", "Wolfgang", "Dominik"],
        "f": ["Theresia", "Johanna", "Elisabeth", "Magdalena", "Veronika", "Anna-Lena"],
        "s": [(s, s) for s in [
            "Gruber", "Huber", "Pichler", "Steiner", "Moser", "Hofer", "Leitner", "Berger",
            "Fuchs", "Eder", "Winkler", "Egger", "Brunner", "Lechner", "Wallner", "Pölzl"]],
    },
    "GB": {
        "m": ["Oliver", "Harry", "George", "Seán", "Gareth", "Rhys", "Callum"],
        "f": ["Amelia", "Isla", "Chloë", "Zoë", "Rhiannon", "Niamh", "Siobhán"],
        "s": [(s, s) for s in [
            "Smith", "Jones", "Taylor", "Brown", "Williams", "Evans", "Davies", "O'Neill",
            "Llewellyn", "O'Brien", "MacDonald", "Thompson"]],
    },
    "": {  # no country given: a mixed crowd (Latin script only; see the fixed rows for others)
        "m": ["Mateo", "Luca", "Emil", "Nikola", "Tiago", "Søren"],
        "f": ["Inès", "Chiara", "Ana", "Noémie", "Saoirse", "Åsa"],
        "s": [(s, s) for s in [
            "García", "Rossi", "Horvat", "Dubois", "Lindqvist", "Ferreira", "Nielsen", "Kovačević"]],
    },
}

TRANSLIT = str.maketrans({"ł": "l", "Ł": "L", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d", "æ": "ae",
                          "'": "", " ": "", "-": ""})


def ascii_fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.translate(TRANSLIT))
    return "".join(c for c in text if not unicodedata.combining(c)).lower()


DOMAINS = {
    "PL": [("example.pl", 70), ("example.com", 20), ("example.net", 6), ("żółw.example", 4)],
    "SK": [("example.sk", 75), ("example.com", 17), ("example.org", 8)],
    "CZ": [("example.cz", 75), ("example.com", 17), ("example.net", 8)],
    "DE": [("example.de", 70), ("example.com", 15), ("example.org", 8), ("bücher.example", 7)],
    "AT": [("example.com", 60), ("bücher.example", 20), ("example.org", 20)],
    "GB": [("example.com", 60), ("example.org", 40)],
    "": [("example.com", 50), ("example.net", 25), ("example.org", 25)],
}

COUNTRY_WEIGHTS = [("PL", 30), ("SK", 22), ("CZ", 22), ("DE", 18), ("GB", 3), ("AT", 3), ("", 2)]

SOURCES = [
    "https://shop.example.com/newsletter", "https://shop.example.com/checkout",
    "footer-form", "checkout-form", "popup-2019-spring", "contest-2021-xmas",
    "https://shop.example.com/account/register", "landing-page-black-friday",
]
TEXT_VERSIONS = ["nl-2018-06", "nl-2019-03", "nl-2020-11", "nl-2022-02", "nl-2023-09", "nl-2025-01"]
OLD_TEXT_VERSIONS = ["nl-2014-01", "nl-2016-05", "nl-2017-09"]


# ---------------------------------------------------------------------------------------
# Row generation
# ---------------------------------------------------------------------------------------


class Gen:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.used: set[str] = set()

    # --- primitives -------------------------------------------------------------------

    def pick_weighted(self, pairs):
        items, weights = zip(*pairs)
        return self.rng.choices(items, weights=weights)[0]

    def country(self, allowed=None) -> str:
        pairs = [p for p in COUNTRY_WEIGHTS if allowed is None or p[0] in allowed]
        return self.pick_weighted(pairs)

    def when(self, days_ago_lo: int, days_ago_hi: int) -> datetime:
        """A random instant between days_ago_hi and days_ago_lo days before NOW."""
        days = self.rng.randint(days_ago_lo, days_ago_hi)
        secs = self.rng.randint(7 * 3600, 22 * 3600)
        return NOW - timedelta(days=days) + timedelta(seconds=secs) - timedelta(days=1)

    def between(self, start: datetime, end: datetime) -> datetime:
        span = int((end - start).total_seconds())
        return start + timedelta(seconds=self.rng.randint(0, max(span, 0)))

    def fmt(self, when: datetime | None) -> str:
        """RFC 3339 mostly (a few with a local offset), sometimes a plain date."""
        if when is None:
            return ""
        r = self.rng.random()
        if r < 0.25:
            return when.date().isoformat()
        if r < 0.33:
            local = when.astimezone(timezone(timedelta(hours=self.rng.choice([1, 2]))))
            return local.isoformat(timespec="seconds")
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")

    def ip(self) -> str:
        r = self.rng.random()
        if r < 0.15:
            return f"2001:db8:{self.rng.randint(1, 0xffff):x}::{self.rng.randint(1, 0xffff):x}"
        net = self.rng.choice(["192.0.2", "198.51.100", "203.0.113"])
        return f"{net}.{self.rng.randint(1, 254)}"

    def person(self, country: str) -> tuple[str, str, str]:
        names = NAMES[country]
        sex = self.rng.choice("mf")
        given = self.rng.choice(names[sex])
        surname = self.rng.choice(names["s"])[0 if sex == "m" else 1]
        return given, surname, f"{given} {surname}"

    def address(self, given: str, surname: str, country: str) -> str:
        g, s = ascii_fold(given), ascii_fold(surname)
        pattern = self.rng.choices(
            ["{g}.{s}", "{g}{s}", "{g0}.{s}", "{g}_{s}", "{s}.{g}", "{g}.{s}+shop", "{g}{yy}", "{s}{g0}"],
            weights=[40, 12, 12, 6, 8, 4, 10, 8])[0]
        local = pattern.format(g=g, s=s, g0=g[0], yy=self.rng.randint(70, 99))
        domain = self.pick_weighted(DOMAINS[country])
        return self.unique(f"{local}@{domain}")

    def unique(self, addr: str) -> str:
        local, domain = addr.split("@")
        candidate, n = addr, 1
        while candidate.strip().lower() in self.used:
            n += 1
            candidate = f"{local}{n}@{domain}"
        self.used.add(candidate.strip().lower())
        return candidate

    # --- building blocks --------------------------------------------------------------

    def base(self, country: str, email: str | None = None, name: str | None = None) -> dict:
        if email is None:
            given, surname, name = self.person(country)
            email = self.address(given, surname, country)
        row = {c: "" for c in COLUMNS}
        row.update(email=email, name=name, country=country, locale=LOCALE[country],
                   customer="false", legal_hold="false")
        return row

    def gdpr_consent(self, row: dict, when: datetime) -> None:
        """A GDPR-grade consent record at `when` (after 2018-05-25)."""
        method = self.rng.choice(["double_opt_in", "double_opt_in", "single_opt_in"])
        row.update(consent_at=self.fmt(when), consent_method=method,
                   consent_prechecked="false", consent_bundled="false",
                   consent_text_version=self.rng.choice(TEXT_VERSIONS))
        if method == "single_opt_in" or self.rng.random() < 0.6:
            row.update(consent_ip=self.ip(), consent_source=self.rng.choice(SOURCES))

    def purchase(self, row: dict, when: datetime | None) -> None:
        if when is not None:
            row.update(customer="true", last_purchase_at=self.fmt(when))

    # --- one generator per class ------------------------------------------------------

    def valid(self) -> dict:
        row = self.base(self.country())
        consent = self.when(30, 3000)
        if consent < GDPR_START:
            consent = self.when(30, 1500)
        self.gdpr_consent(row, consent)
        # activity inside 3 years: either the consent itself or a later activity/purchase
        if consent < NOW - timedelta(days=1000) or self.rng.random() < 0.7:
            row["last_activity_at"] = self.fmt(self.when(1, 1000))
        if self.rng.random() < 0.5:
            self.purchase(row, self.when(1, 1600))
        return row

    def stale(self) -> dict:
        row = self.base(self.country())
        consent = self.between(GDPR_START + timedelta(days=20), NOW - timedelta(days=1250))
        self.gdpr_consent(row, consent)
        last = NOW - timedelta(days=1150)  # every activity well before the 3-year line
        if self.rng.random() < 0.7:
            row["last_activity_at"] = self.fmt(self.between(consent, last))
        if self.rng.random() < 0.5:
            self.purchase(row, self.between(consent - timedelta(days=400), last))
        return row

    def weak(self) -> dict:
        row = self.base(self.country())
        # about a third were collected before GDPR (the Slovak seed: "in 99% of cases it did
        # not meet GDPR requirements"); the rest later, each with one flaw
        if self.rng.random() < 0.35:
            consent = self.between(datetime(2011, 1, 1, tzinfo=timezone.utc),
                                   GDPR_START - timedelta(days=20))
        else:
            consent = self.between(GDPR_START + timedelta(days=20), NOW - timedelta(days=20))
        self.gdpr_consent(row, consent)
        if consent < GDPR_START:
            flaw = "old"
        else:
            flaw = self.rng.choice(["prechecked", "bundled", "method", "proof", "text"])
        if flaw == "prechecked":
            row["consent_prechecked"] = self.rng.choice(["true", "true", "unknown", ""])
        elif flaw == "bundled":
            row["consent_bundled"] = self.rng.choice(["true", "unknown", ""])
        elif flaw == "method":
            row["consent_method"] = self.rng.choice(["unknown", ""])
        elif flaw == "proof":  # single opt-in without IP or without source
            row["consent_method"] = "single_opt_in"
            row["consent_ip" if self.rng.random() < 0.5 else "consent_source"] = ""
        elif flaw == "text":
            row["consent_text_version"] = ""
        else:  # before 2018-05-25 without full double opt-in proof
            row.update(consent_method=self.rng.choice(["single_opt_in", "single_opt_in", "unknown"]),
                       consent_text_version=self.rng.choice(OLD_TEXT_VERSIONS + [""]))
            # A single opt-in keeps at most half of its proof: the form, never the IP.
            row.update(consent_ip="")
            if self.rng.random() < 0.5:
                row.update(consent_source="")
        if self.rng.random() < 0.6:
            row["last_activity_at"] = self.fmt(self.when(1, 3000))
        if self.rng.random() < 0.5:
            self.purchase(row, self.when(1, 3000))
        return row

    def soft_opt_in(self) -> dict:
        country = self.country(allowed={"SK", "CZ", "DE", "GB", "AT", ""})
        row = self.base(country)
        self.purchase(row, self.when(1, 300) if country == "SK" else self.when(1, 1000))
        if self.rng.random() < 0.6:
            row["last_activity_at"] = self.fmt(self.when(1, 1500))
        return row

    def no_basis(self) -> dict:
        kind = self.rng.choice(["pl_customer", "pl_customer", "not_customer", "not_customer",
                                "old_purchase", "no_purchase_date"])
        if kind == "pl_customer":
            row = self.base("PL")
            self.purchase(row, self.when(1, 1000))
        elif kind == "not_customer":
            row = self.base(self.country())
        elif kind == "old_purchase":
            country = self.country()
            row = self.base(country)
            self.purchase(row, self.when(420, 1000) if country == "SK" else self.when(1150, 3000))
        else:
            row = self.base(self.country())
            row["customer"] = "true"
        if self.rng.random() < 0.6:
            row["last_activity_at"] = self.fmt(self.when(1, 2500))
        return row

    def withdrawn(self) -> dict:
        row = self.base(self.country())
        consent = self.when(60, 3000)
        if consent < GDPR_START:
            consent = self.when(60, 1500)
        self.gdpr_consent(row, consent)
        if self.rng.random() < 0.3:  # a weak consent can be withdrawn just the same
            row["consent_prechecked"] = "unknown"
        withdrawn = self.between(consent + timedelta(days=3), NOW - timedelta(days=2))
        row["consent_withdrawn_at"] = self.fmt(withdrawn)
        if self.rng.random() < 0.5:
            row["last_activity_at"] = self.fmt(self.between(consent, withdrawn))
        if self.rng.random() < 0.4:
            self.purchase(row, self.when(1, 2000))
        return row


def edge_cases(g: Gen) -> list[tuple[str, str, dict]]:
    """Hand-written rows: (intended class, what it demonstrates, row)."""
    out: list[tuple[str, str, dict]] = []

    def add(cls: str, note: str, country: str, email: str, name: str, **fields) -> None:
        g.used.add(email.strip().lower())
        row = g.base(country, email=email, name=name)
        row.update(fields)
        out.append((cls, note, row))

    doi = dict(consent_method="double_opt_in", consent_prechecked="false", consent_bundled="false",
               consent_text_version="nl-2022-02", consent_ip="198.51.100.23",
               consent_source="https://shop.example.com/newsletter")

    add("no_basis", "PL customer, bought 2 months ago, no consent: PL has no soft opt-in (PKE art. 398)",
        "PL", "lukasz.wrobel@example.pl", "Łukasz Wróbel",
        customer="true", last_purchase_at="2026-09-18T17:42:10Z", last_activity_at="2026-10-30")
    add("no_basis", "PL customer with a purchase last week, no consent, legal hold",
        "PL", "grzegorz.kaminski@example.pl", "Grzegorz Kamiński",
        customer="true", last_purchase_at="2026-11-14", legal_hold="true")
    add("soft_opt_in", "SK customer, last purchase 11 months ago: inside the SK 12-month window",
        "SK", "lubica.stastna@example.sk", "Ľubica Šťastná",
        customer="true", last_purchase_at="2025-12-20T14:03:00Z")
    add("no_basis", "SK customer, last purchase 13 months ago: outside the SK 12-month window",
        "SK", "stefan.hudak@example.sk", "Štefan Hudák",
        customer="true", last_purchase_at="2025-10-20T09:15:00Z", last_activity_at="2026-06-02")
    add("weak", "single opt-in before 2018-05-25 with the form but no IP: no proof",
        "CZ", "jiri.dvorak@example.cz", "Jiří Dvořák",
        consent_at="2016-03-14T19:22:05Z", consent_method="single_opt_in", consent_prechecked="false",
        consent_bundled="false", consent_text_version="nl-2016-05",
        consent_source="footer-form", last_activity_at="2026-08-01T08:00:00Z")
    add("valid", "double opt-in before 2018-05-25 with IP, source and text version: still GDPR-grade",
        "CZ", "marketa.kralova@example.cz", "Markéta Králová",
        consent_at="2017-02-03T11:00:00Z", consent_method="double_opt_in", consent_prechecked="false",
        consent_bundled="false", consent_text_version="nl-2016-05", consent_ip="203.0.113.8",
        consent_source="https://shop.example.com/newsletter", customer="true",
        last_purchase_at="2026-03-11")
    add("weak", "consent box was pre-ticked (prechecked=true)",
        "PL", "zofia.zolkiewska@żółw.example", "Zofia Żółkiewska",
        consent_at="2023-05-06T10:11:12Z", **{**doi, "consent_prechecked": "true"},
        last_activity_at="2026-10-01")
    add("weak", "bundled with terms unknown (consent_bundled=unknown)",
        "DE", "juergen.weiss@bücher.example", "Jürgen Weiß",
        consent_at="2021-09-01T12:00:00+02:00", **{**doi, "consent_bundled": "unknown"},
        customer="true", last_purchase_at="2026-07-07")
    add("weak", "bundled left empty (counts as unknown); name has a comma, so the field is quoted",
        "DE", "hannelore.mueller@example.de", "Müller, Hannelore",
        consent_at="2022-01-15", **{**doi, "consent_bundled": ""})
    add("weak", "single opt-in with IP but no form source: no proof",
        "SK", "matus.kovac@example.sk", "Matúš Kováč",
        consent_at="2024-04-04T08:30:00Z", **{**doi, "consent_method": "single_opt_in",
                                             "consent_source": ""})
    add("weak", "consent with no text version (wording not retrievable); name has double quotes",
        "PL", "piotr.zielinski@example.pl", 'Piotr "Pit" Zieliński',
        consent_at="2024-06-30T21:05:00Z", **{**doi, "consent_text_version": ""},
        last_activity_at="2026-11-01T07:00:00Z")
    add("valid", "withdrew in 2021, consented again (double opt-in) in 2024: the later consent stands",
        "DE", "katharina.schaefer@example.de", "Katharina Schäfer",
        consent_at="2024-02-10T16:45:00Z", **doi,
        consent_withdrawn_at="2021-06-01T09:00:00Z", last_activity_at="2026-05-05")
    add("withdrawn", "consented in 2020, withdrew in 2025: the withdrawal wins",
        "PL", "malgorzata.nowak@example.pl", "Małgorzata Nowak",
        consent_at="2020-03-03T10:00:00Z", **doi, consent_withdrawn_at="2025-01-20T18:30:00Z",
        last_activity_at="2026-10-10")
    add("withdrawn", "objection with no consent on file (withdrawal only), legal hold",
        "CZ", "vaclav.novotny@example.cz", "Václav Novotný",
        customer="true", last_purchase_at="2026-02-02", consent_withdrawn_at="2026-02-03T10:00:00Z",
        legal_hold="true")
    add("weak", "legal hold on a weak contact (pre-ticked box)",
        "SK", "zuzana.balazova@example.sk", "Zuzana Balážová",
        consent_at="2022-10-10T10:10:10Z", **{**doi, "consent_prechecked": "true"}, legal_hold="true")
    add("stale", "GDPR-grade consent (2019) but no activity since 2022: stale",
        "DE", "bjoern.krueger@example.de", "Björn Krüger",
        consent_at="2019-04-01T10:00:00Z", **doi, last_activity_at="2022-03-15T12:00:00Z",
        customer="true", last_purchase_at="2021-12-01")
    add("valid", "consent 2019, mail activity old, but bought this year: activity is the latest date",
        "CZ", "lenka.ruzickova@example.cz", "Lenka Růžičková",
        consent_at="2019-07-07T07:07:07Z", **doi, last_activity_at="2020-01-01",
        customer="true", last_purchase_at="2026-04-04T15:00:00Z")
    add("valid", "recent consent with no other activity fields",
        "SK", "peter.toth@example.sk", "Peter Tóth",
        consent_at="2026-10-01T09:00:00Z", **{**doi, "consent_ip": "2001:db8:42::7"})
    add("soft_opt_in", "GB customer, bought 2 years ago: soft opt-in (PECR)",
        "GB", "siobhan.oneill@example.com", "Siobhán O'Neill",
        customer="true", last_purchase_at="2024-10-12")
    add("no_basis", "AT customer, last purchase 4 years ago: outside the 3-year window",
        "AT", "theresia.pichler@example.org", "Theresia Pichler",
        customer="true", last_purchase_at="2022-09-09T10:00:00Z")
    add("soft_opt_in", "no country given, bought a year ago: default 3-year window; name in Cyrillic script",
        "", "olena.kovalenko@example.net", "Олена Коваленко",
        customer="true", last_purchase_at="2025-11-01", locale="en")
    add("no_basis", "no country, not a customer, no consent; name in Greek script",
        "", "giorgos.papadopoulos@example.com", "Γιώργος Παπαδόπουλος",
        last_activity_at="2025-05-05")
    add("soft_opt_in", "DE customer, bought 2.5 years ago: still inside the 3-year window",
        "DE", "soeren.grosz@bücher.example", "Sören Groß",
        customer="true", last_purchase_at="2024-05-20T13:00:00+02:00")
    add("no_basis", "customer=true but no purchase date: no window can be proven",
        "CZ", "tomas.svoboda@example.cz", "Tomáš Svoboda", customer="true")
    add("valid", "address in mixed case with spaces around it (trim + compare case-insensitively)",
        "CZ", "  Jana.Novakova@Example.CZ ", "Jana Nováková",
        consent_at="2025-03-03T13:13:13Z", **doi)
    add("weak", "address all upper-case domain and mixed local part",
        "SK", "MAREK.Horvath@EXAMPLE.SK", "Marek Horváth",
        consent_at="2020-08-08", **{**doi, "consent_method": "unknown"})
    add("no_basis", "PL customer with mixed-case address and trailing space",
        "PL", "Agnieszka.Dabrowska@Example.pl  ", "Agnieszka Dąbrowska",
        customer="true", last_purchase_at="2025-12-24T11:00:00Z")
    add("stale", "legal hold on a stale contact",
        "PL", "jedrzej.wisniewski@example.pl", "Jędrzej Wiśniewski",
        consent_at="2018-09-09T09:09:09Z", **doi, last_activity_at="2020-02-02", legal_hold="true")
    return out


def build(seed: int) -> tuple[list[dict], list[tuple[str, str, dict]]]:
    g = Gen(seed)
    edges = edge_cases(g)
    rows_by_class: dict[str, list[dict]] = {c: [] for c in CLASSES}
    for cls, _, row in edges:
        rows_by_class[cls].append(row)
    for cls in CLASSES:
        make = getattr(g, cls)
        while len(rows_by_class[cls]) < TARGET[cls]:
            rows_by_class[cls].append(make())
    rows = [r for cls in CLASSES for r in rows_by_class[cls]]
    # a few more legal holds, spread over the classes
    edge_ids = {id(r) for _, _, r in edges}
    for row in g.rng.sample([r for r in rows if id(r) not in edge_ids], 6):
        row["legal_hold"] = "true"
    g.rng.shuffle(rows)

    # self-check: the intended class is what the rules say
    intended = {id(r): cls for cls in CLASSES for r in rows_by_class[cls]}
    for row in rows:
        got = classify(row)
        if got != intended[id(row)]:
            sys.exit(f"internal error: {row['email']!r} built as {intended[id(row)]} "
                     f"but classifies as {got}: {row}")
    seen = Counter(r["email"].strip().lower() for r in rows)
    dupes = [e for e, n in seen.items() if n > 1]
    if dupes:
        sys.exit(f"internal error: duplicate addresses {dupes}")
    return rows, edges


def write_csv(path: Path, rows: list[dict]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
        w.writeheader()
        w.writerows(rows)


def md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def write_readme(path: Path, rows: list[dict], edges: list[tuple[str, str, dict]]) -> None:
    counts = Counter(classify(r) for r in rows)
    countries = Counter(r["country"] or "(empty)" for r in rows)
    holds = sum(r["legal_hold"] == "true" for r in rows)
    count_text = ", ".join(f"{c} {counts[c]}" for c in CLASSES)
    country_text = ", ".join(f"{c} {n}" for c, n in countries.most_common())
    lines = [
        "# Example contacts",
        "",
        f"`contacts.csv` is a fictional contact base of {len(rows)} people for a small e-shop that sells "
        "in Poland, Slovakia, Czechia and Germany, with a few contacts from Great Britain, Austria and "
        "some with no country at all. It is generated by `scripts/make-example-contacts.py` (fixed seed: "
        "run it again and you get the same file) as comma-separated UTF-8 with a header row, names in "
        "their own spelling (Łukasz Wróbel, Ľubica Šťastná, Jiří Dvořák, Jürgen Weiß, a few in Cyrillic "
        "and Greek), and addresses only at example domains (`example.pl`, `example.sk`, `example.cz`, "
        "`example.de`, `example.com/.net/.org` and the internationalised `bücher.example` and "
        "`żółw.example`). Dates are RFC 3339 (mostly UTC, a few with a +01:00/+02:00 offset) or plain "
        "`YYYY-MM-DD`. Classified as of 2026-11-22 with the default policy (DESIGN.md 2.1-2.3) the "
        f"file holds: {count_text}; by country: {country_text}; {holds} contacts are under legal hold. "
        "The generator checks every row against a reference classifier, and random dates stay far "
        "from every boundary, so only the rows below test the edges.",
        "",
        "| address | demonstrates | class |",
        "|---|---|---|",
    ]
    for cls, note, row in edges:
        email = row["email"]
        before, after = len(email) - len(email.lstrip()), len(email) - len(email.rstrip())
        if before or after:
            note += f" (in the file: {before} space(s) before, {after} after)"
        lines.append(f"| `{md_cell(email.strip())}` | {md_cell(note)} | `{cls}` |")
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out-dir", type=Path,
                        default=Path(__file__).resolve().parent.parent / "examples")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    rows, edges = build(args.seed)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_csv(args.out_dir / "contacts.csv", rows)
    write_readme(args.out_dir / "README.md", rows, edges)
    counts = Counter(classify(r) for r in rows)
    print(f"wrote {args.out_dir / 'contacts.csv'} ({len(rows)} contacts: "
          + ", ".join(f"{c} {counts[c]}" for c in CLASSES) + ")", file=sys.stderr)


if __name__ == "__main__":
    main()
