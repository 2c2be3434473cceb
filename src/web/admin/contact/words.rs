//! The text of the contact pages in en, pl, sk, cs and de.

/// The text of these pages in one language.
pub struct ContactWords {
    pub title: &'static str,
    pub address: &'static str,
    pub look_up: &'static str,
    pub class: &'static str,
    pub because: &'static str,
    pub held: &'static str,
    pub ledger: &'static str,
    pub when: &'static str,
    pub event: &'static str,
    pub facts: &'static str,
    pub no_entries: &'static str,
    pub download: &'static str,
    pub forget: &'static str,
    pub ask: &'static str,
    pub unknown: &'static str,
    pub erased: &'static str,
    pub refused: &'static str,
    pub not_address: &'static str,
    pub pages: &'static str,
}

const EN: ContactWords = ContactWords {
    title: "Contact",
    address: "E-mail address",
    look_up: "Look up",
    class: "Class",
    because: "Because",
    held: "Legal hold: never purged while the hold stands",
    ledger: "Consent ledger",
    when: "When",
    event: "Event",
    facts: "Facts",
    no_entries: "No entries.",
    download: "Download the evidence",
    forget: "Forget",
    ask: "Erase this contact now? Only a tombstone remains, which stops its re-import. This cannot be undone.",
    unknown: "No contact with this address.",
    erased: "Erased on",
    refused: "Not erased",
    not_address: "Not an e-mail address",
    pages: "Pages",
};

const PL: ContactWords = ContactWords {
    title: "Kontakt",
    address: "Adres e-mail",
    look_up: "Szukaj",
    class: "Rodzaj",
    because: "Ponieważ",
    held: "Blokada prawna: nigdy nie usuwany, dopóki trwa blokada",
    ledger: "Rejestr zgód",
    when: "Kiedy",
    event: "Zdarzenie",
    facts: "Fakty",
    no_entries: "Brak wpisów.",
    download: "Pobierz dowody",
    forget: "Zapomnij",
    ask: "Usunąć ten kontakt teraz? Zostaje tylko nagrobek, który blokuje ponowny import. Tego nie można cofnąć.",
    unknown: "Brak kontaktu o tym adresie.",
    erased: "Usunięty dnia",
    refused: "Nie usunięto",
    not_address: "To nie jest adres e-mail",
    pages: "Strony",
};

const SK: ContactWords = ContactWords {
    title: "Kontakt",
    address: "E-mailová adresa",
    look_up: "Vyhľadať",
    class: "Druh",
    because: "Pretože",
    held: "Zákonné uchovanie: nikdy sa nevymaže, kým trvá",
    ledger: "Záznam súhlasov",
    when: "Kedy",
    event: "Udalosť",
    facts: "Fakty",
    no_entries: "Žiadne záznamy.",
    download: "Stiahnuť dôkazy",
    forget: "Zabudnúť",
    ask: "Vymazať tento kontakt teraz? Zostane len náhrobok, ktorý bráni opätovnému importu. Nedá sa to vrátiť.",
    unknown: "Žiadny kontakt s touto adresou.",
    erased: "Vymazaný dňa",
    refused: "Nevymazaný",
    not_address: "Nie je to e-mailová adresa",
    pages: "Stránky",
};

const CS: ContactWords = ContactWords {
    title: "Kontakt",
    address: "E-mailová adresa",
    look_up: "Vyhledat",
    class: "Druh",
    because: "Protože",
    held: "Zákonné uchování: nikdy se nesmaže, dokud trvá",
    ledger: "Záznam souhlasů",
    when: "Kdy",
    event: "Událost",
    facts: "Fakta",
    no_entries: "Žádné záznamy.",
    download: "Stáhnout důkazy",
    forget: "Zapomenout",
    ask: "Smazat tento kontakt hned? Zůstane jen náhrobek, který brání opětovnému importu. Nelze to vrátit.",
    unknown: "Žádný kontakt s touto adresou.",
    erased: "Smazán dne",
    refused: "Nesmazán",
    not_address: "Není to e-mailová adresa",
    pages: "Stránky",
};

const DE: ContactWords = ContactWords {
    title: "Kontakt",
    address: "E-Mail-Adresse",
    look_up: "Suchen",
    class: "Klasse",
    because: "Weil",
    held: "Aufbewahrungspflicht: nie gelöscht, solange sie besteht",
    ledger: "Einwilligungsprotokoll",
    when: "Wann",
    event: "Ereignis",
    facts: "Fakten",
    no_entries: "Keine Einträge.",
    download: "Nachweise herunterladen",
    forget: "Vergessen",
    ask: "Diesen Kontakt jetzt löschen? Es bleibt nur ein Grabstein, der den erneuten Import verhindert. Das lässt sich nicht rückgängig machen.",
    unknown: "Kein Kontakt mit dieser Adresse.",
    erased: "Gelöscht am",
    refused: "Nicht gelöscht",
    not_address: "Keine E-Mail-Adresse",
    pages: "Seiten",
};

/// One of five texts, in the order en, pl, sk, cs, de, for a language code.
pub fn pick<T>(lang: &str, [en, pl, sk, cs, de]: [&'static T; 5]) -> &'static T {
    match lang {
        "pl" => pl,
        "sk" => sk,
        "cs" => cs,
        "de" => de,
        _ => en,
    }
}

pub fn words(lang: &str) -> &'static ContactWords {
    pick(lang, [&EN, &PL, &SK, &CS, &DE])
}
