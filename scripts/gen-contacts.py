#!/usr/bin/env python3
"""Stream a synthetic contact base for benchmarks to stdout.

    python3 scripts/gen-contacts.py --rows N [--seed S] [--bad-line K] [--delimiter ';'] > file.csv

Writes a header row and N data rows with the import columns of DESIGN.md section 3. The
contacts are spread over every class (as of --now, default 2026-11-22, default policy):
about valid 15%, stale 10%, weak 30%, soft_opt_in 15%, no_basis 20%, withdrawn 10%; dates
keep a wide margin from every rule boundary. Addresses are unique (user{i}.{hash}@domain)
and use only reserved example names (example.com/.net/.org and *.example, some of them
internationalised), so a misconfigured transport cannot reach a real mailbox.

--bad-line K puts the invalid address `not-an-address` on file line K (the header is line 1,
so K=2 is the first data row); it may be given more than once. No field contains a line
break, so file line K is also CSV record K.

Memory is constant in N: rows are generated and written one at a time. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from datetime import date, timedelta

COLUMNS = [
    "email", "name", "locale", "country", "customer", "last_purchase_at",
    "last_activity_at", "consent_at", "consent_method", "consent_prechecked",
    "consent_bundled", "consent_text_version", "consent_ip", "consent_source",
    "consent_withdrawn_at", "legal_hold",
]

BAD_ADDRESS = "not-an-address"

# country, weight, locale, domains, given names, surnames
COUNTRIES = [
    ("PL", 30, "pl", ["pl.example", "example.com", "example.net", "żółw.example"],
     ["Łukasz", "Piotr", "Paweł", "Michał", "Jędrzej", "Zofia", "Małgorzata", "Agnieszka",
      "Grażyna", "Łucja"],
     ["Wróbel", "Nowak", "Kowalczyk", "Wójcik", "Woźniak", "Mazur", "Król", "Sęk", "Piątek",
      "Ślusarczyk"]),
    ("SK", 22, "sk", ["sk.example", "example.com", "example.org"],
     ["Ľubomír", "Ján", "Tomáš", "Matúš", "Štefan", "Ľubica", "Zuzana", "Katarína", "Soňa",
      "Alžbeta"],
     ["Šťastný", "Kováč", "Baláž", "Ďurica", "Čierny", "Horváthová", "Lukáčová", "Šimková",
      "Ľuptáková", "Mrázová"]),
    ("CZ", 22, "cs", ["cz.example", "example.com", "example.net"],
     ["Jiří", "Zdeněk", "Václav", "Ondřej", "Lukáš", "Kateřina", "Věra", "Markéta", "Zdeňka",
      "Tereza"],
     ["Dvořák", "Novotný", "Černý", "Procházka", "Kolář", "Růžičková", "Křížová", "Řezníčková",
      "Němcová", "Benešová"]),
    ("DE", 18, "de", ["de.example", "example.com", "bücher.example"],
     ["Jürgen", "Björn", "Jörg", "Sören", "Günter", "Bärbel", "Käthe", "Dörte", "Sophie",
      "Mareike"],
     ["Weiß", "Müller", "Schäfer", "Krüger", "Köhler", "Groß", "Jäger", "Möller", "Voß",
      "Strauß"]),
    ("GB", 3, "en", ["example.com", "example.org"],
     ["Oliver", "Seán", "Rhys", "Chloë", "Niamh", "Siobhán"],
     ["Smith", "O'Neill", "Llewellyn", "Davies", "MacDonald", "Evans"]),
    ("AT", 3, "de", ["example.com", "bücher.example"],
     ["Florian", "Matthias", "Theresia", "Johanna", "Anna-Lena"],
     ["Gruber", "Huber", "Pichler", "Pölzl", "Moser"]),
    ("", 2, "en", ["example.com", "example.net", "example.org"],
     ["Mateo", "Søren", "Inès", "Åsa", "Олена", "Γιώργος"],
     ["García", "Nielsen", "Kovačević", "Коваленко", "Παπαδόπουλος", "Dubois"]),
]

SOURCES = ["https://shop.example.com/newsletter", "checkout-form", "footer-form",
           "popup-2019-spring", "contest-2021-xmas", "landing-page-black-friday"]
TEXT_VERSIONS = ["nl-2018-06", "nl-2019-03", "nl-2020-11", "nl-2022-02", "nl-2023-09",
                 "nl-2025-01"]
OLD_TEXT_VERSIONS = ["nl-2014-01", "nl-2016-05", "nl-2017-09", ""]
TIMES = [f"{h:02d}:{m:02d}:{s:02d}" for h in range(6, 23) for m in (3, 17, 29, 44, 58) for s in (5, 41)]

# cumulative class weights
CLASS_CUT = [(0.15, "valid"), (0.25, "stale"), (0.55, "weak"), (0.70, "soft_opt_in"),
             (0.90, "no_basis"), (1.00, "withdrawn")]


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="Stream synthetic contacts (CSV) to stdout.")
    p.add_argument("--rows", type=int, required=True, help="number of data rows")
    p.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    p.add_argument("--bad-line", type=int, action="append", default=[], metavar="K",
                   help="file line (header = 1) that gets an invalid address; repeatable")
    p.add_argument("--delimiter", default=",", help="field delimiter: ',' (default) or ';'")
    p.add_argument("--now", type=date.fromisoformat, default=date(2026, 11, 22),
                   help="reference date the classes are computed for (default 2026-11-22)")
    p.add_argument("--crlf", action="store_true", help="end lines with CRLF")
    p.add_argument("--bom", action="store_true", help="start with a UTF-8 byte order mark")
    a = p.parse_args(argv)
    if a.rows < 0:
        p.error("--rows must be 0 or more")
    if len(a.delimiter) != 1 or a.delimiter in "\"\r\n":
        p.error("--delimiter must be one character such as ',' or ';'")
    for k in a.bad_line:
        if not 2 <= k <= a.rows + 1:
            p.error(f"--bad-line {k}: must be a data line, 2..{a.rows + 1} (line 1 is the header)")
    return a


def main(argv: list[str]) -> int:
    a = parse_args(argv)
    rng = random.Random(a.seed)
    rnd = rng.random
    now = a.now
    gdpr = (now - date(2018, 5, 25)).days  # day index of 2018-05-25 (days before now)
    # day index -> "YYYY-MM-DD" (index 0 = now); covers consents back to about 2011
    days = [(now - timedelta(days=i)).isoformat() for i in range(gdpr + 2700)]
    n_times = len(TIMES)
    countries = []
    for cc, weight, locale, domains, given, surnames in COUNTRIES:
        countries += [(cc, locale, domains, given, surnames)] * weight
    n_countries = len(countries)
    non_pl = [c for c in countries if c[0] != "PL"]
    bad = set(k - 1 for k in a.bad_line)  # data row numbers (1-based)
    salt = (a.seed * 0x9E3779B97F4A7C15) & 0xFFFFFFFF

    def when(lo: int, hi: int) -> str:
        """A date between lo and hi-1 days before now: RFC 3339 (UTC) or a plain date."""
        d = days[lo + int(rnd() * (hi - lo))]
        if rnd() < 0.25:
            return d
        return f"{d}T{TIMES[int(rnd() * n_times)]}Z"

    def pick(seq):
        return seq[int(rnd() * len(seq))]

    def ip() -> str:
        if rnd() < 0.15:
            return f"2001:db8:{int(rnd() * 0xffff) + 1:x}::{int(rnd() * 0xffff) + 1:x}"
        return f"{pick(('192.0.2', '198.51.100', '203.0.113'))}.{int(rnd() * 254) + 1}"

    out = open(sys.stdout.fileno(), "w", encoding="utf-8", newline="", buffering=1 << 20,
               closefd=False)
    if a.bom:
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=a.delimiter, lineterminator="\r\n" if a.crlf else "\n")
    writer.writerow(COLUMNS)
    write = writer.writerow

    for i in range(1, a.rows + 1):
        x = rnd()
        for cut, cls in CLASS_CUT:
            if x < cut:
                break
        cc, locale, domains, given, surnames = (
            pick(non_pl) if cls == "soft_opt_in" else countries[int(rnd() * n_countries)])
        customer = "false"
        purchase = activity = consent = method = pre = bun = text = cip = src = withdrawn = ""

        if cls in ("valid", "stale", "withdrawn"):
            # a GDPR-grade consent after 2018-05-25 (a withdrawn one may also be weak)
            if cls == "valid":
                c = 30 + int(rnd() * (gdpr - 80))
                if c > 1000 or rnd() < 0.6:
                    activity = when(1, 1000)
            elif cls == "stale":
                c = 1250 + int(rnd() * (gdpr - 1300))
                if rnd() < 0.7:
                    activity = when(1150, c)
            else:
                c = 60 + int(rnd() * (gdpr - 110))
                withdrawn = when(2, c - 3)
            consent = when(c, c + 1)
            method = "double_opt_in" if rnd() < 0.65 else "single_opt_in"
            pre = bun = "false"
            text = pick(TEXT_VERSIONS)
            if method == "single_opt_in" or rnd() < 0.6:
                cip, src = ip(), pick(SOURCES)
            if cls == "withdrawn" and rnd() < 0.3:
                pre = "unknown"
            if rnd() < 0.4:
                customer = "true"
                purchase = when(1150, 3000) if cls == "stale" else when(1, 2000)
        elif cls == "weak":
            method, pre, bun, text = "double_opt_in", "false", "false", pick(TEXT_VERSIONS)
            cip, src = ip(), pick(SOURCES)
            if rnd() < 0.35:  # before GDPR, without full double opt-in proof
                c = gdpr + 20 + int(rnd() * 2600)
                method = pick(("single_opt_in", "single_opt_in", "unknown"))
                text = pick(OLD_TEXT_VERSIONS)
            else:
                c = 20 + int(rnd() * (gdpr - 40))
                flaw = int(rnd() * 5)
                if flaw == 0:
                    pre = pick(("true", "true", "unknown", ""))
                elif flaw == 1:
                    bun = pick(("true", "unknown", ""))
                elif flaw == 2:
                    method = pick(("unknown", ""))
                elif flaw == 3:
                    method = "single_opt_in"
                    if rnd() < 0.5:
                        cip = ""
                    else:
                        src = ""
                else:
                    text = ""
            consent = when(c, c + 1)
            if rnd() < 0.6:
                activity = when(1, 3000)
            if rnd() < 0.5:
                customer, purchase = "true", when(1, 3000)
        elif cls == "soft_opt_in":
            customer = "true"
            purchase = when(1, 330) if cc == "SK" else when(1, 1000)
            if rnd() < 0.6:
                activity = when(1, 1500)
        else:  # no_basis
            k = int(rnd() * 4)
            if k == 0:  # PL: no soft opt-in at all
                cc, locale, domains, given, surnames = countries[0]
                customer, purchase = "true", when(1, 1000)
            elif k == 1:  # bought too long ago
                customer = "true"
                purchase = when(400, 1000) if cc == "SK" else when(1150, 4000)
            elif k == 2 and rnd() < 0.3:  # customer flag without a purchase date
                customer = "true"
            if rnd() < 0.6:
                activity = when(1, 2500)

        h = ((i * 0x9E3779B1) ^ salt) & 0xFFFFFFFF
        email = BAD_ADDRESS if i in bad else f"user{i}.{h:08x}@{pick(domains)}"
        write((email, f"{pick(given)} {pick(surnames)}", locale, cc, customer, purchase, activity,
               consent, method, pre, bun, text, cip, src, withdrawn,
               "true" if rnd() < 0.01 else "false"))
    out.flush()
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except BrokenPipeError:  # e.g. piped into `head`
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
