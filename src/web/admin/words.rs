//! Every word of the dashboard, in en, pl, sk, cs and de; which language a request
//! gets (pure).

/// The UI text of one language.
pub struct Words {
    pub lang: &'static str,
    /// The language's own name, for the switch.
    pub name: &'static str,
    pub title: &'static str,
    pub sign_in: &'static str,
    pub token: &'static str,
    pub token_hint: &'static str,
    pub wrong_token: &'static str,
    pub too_many: &'static str,
    pub not_configured: &'static str,
    pub sign_out: &'static str,
    pub overview: &'static str,
    pub contacts: &'static str,
    /// After a number of contacts.
    pub counted: &'static str,
    pub eligible: &'static str,
    pub by_class: &'static str,
    pub by_country: &'static str,
    pub country: &'static str,
    /// In the order of [`crate::policy::ContactClass::ALL`].
    pub classes: [&'static str; 6],
    pub campaigns: &'static str,
    pub no_campaigns: &'static str,
    pub state: &'static str,
    /// running, paused, cancelled, completed.
    pub states: [&'static str; 4],
    pub sent_of: &'static str,
    pub rate: &'static str,
    pub suspect: &'static str,
    pub time_left: &'static str,
    pub past_deadline: &'static str,
    /// Day and hour units.
    pub units: [&'static str; 2],
    /// targeted, sent, viewed, confirmed, left, silent, queued for deletion, purged.
    pub funnel: [&'static str; 8],
    /// waiting, failed, bounced, fate unknown, cancelled.
    pub detail: [&'static str; 5],
    /// Reported after sending: bounced later, soft bounces, complaints (spam).
    pub late: [&'static str; 3],
    pub whole: &'static str,
    pub by_wave: &'static str,
    pub wave: &'static str,
    /// pause, resume, cancel.
    pub actions: [&'static str; 3],
    /// The question before each action.
    pub asks: [&'static str; 3],
    pub yes: &'static str,
    pub no: &'static str,
    pub refresh: &'static str,
    pub live: &'static str,
    pub all_campaigns: &'static str,
    pub language: &'static str,
    pub forbidden: &'static str,
    pub not_found: &'static str,
    pub failed: &'static str,
    pub deadline: &'static str,
}

pub const EN: Words = Words {
    lang: "en",
    name: "English",
    title: "Re-permission dashboard",
    sign_in: "Sign in",
    token: "Admin token",
    token_hint: "The [admin] token of reconsent.toml (or RECONSENT__ADMIN__TOKEN).",
    wrong_token: "That is not the admin token.",
    too_many: "Too many attempts from your address. Wait a minute, then try again.",
    not_configured: "No admin token is configured: set [admin] token in reconsent.toml.",
    sign_out: "Sign out",
    overview: "Overview",
    contacts: "Contacts",
    counted: "contacts",
    eligible: "may be asked again",
    by_class: "Contacts by consent class",
    by_country: "Contacts by country",
    country: "Country",
    classes: [
        "valid consent",
        "stale consent",
        "weak consent",
        "customer, no consent",
        "no basis",
        "withdrawn",
    ],
    campaigns: "Campaigns",
    no_campaigns: "No campaign has been launched yet.",
    state: "State",
    states: ["sending", "paused", "cancelled", "completed"],
    sent_of: "sent of",
    rate: "Confirmed",
    suspect: "suspect answers, not counted",
    time_left: "Time left",
    past_deadline: "deadline passed",
    units: ["d", "h"],
    funnel: [
        "Targeted",
        "Sent",
        "Viewed",
        "Confirmed",
        "Left",
        "Silent",
        "Queued for deletion",
        "Purged",
    ],
    detail: [
        "Waiting to send",
        "Failed",
        "Bounced",
        "Fate unknown",
        "Cancelled",
    ],
    late: ["Bounced later", "Soft bounces", "Spam complaints"],
    whole: "Whole campaign",
    by_wave: "By wave",
    wave: "Wave",
    actions: ["Pause", "Resume", "Cancel campaign"],
    asks: [
        "Pause this campaign? Nothing more is sent until you resume it.",
        "Resume this campaign? Sending continues where it stopped.",
        "Cancel this campaign? Messages not yet sent will never be sent. This cannot be undone.",
    ],
    yes: "Yes",
    no: "No, go back",
    refresh: "Refresh",
    live: "These figures update by themselves while the campaign sends.",
    all_campaigns: "All campaigns",
    language: "Language",
    forbidden: "This form has expired. Go back, reload the page and try again.",
    not_found: "There is no such page or campaign.",
    failed: "Something went wrong. The server log says more.",
    deadline: "Deadline",
};

pub const PL: Words = Words {
    lang: "pl",
    name: "Polski",
    title: "Panel zgód",
    sign_in: "Zaloguj się",
    token: "Token administratora",
    token_hint: "Token [admin] z reconsent.toml (lub RECONSENT__ADMIN__TOKEN).",
    wrong_token: "To nie jest token administratora.",
    too_many: "Zbyt wiele prób z Twojego adresu. Odczekaj minutę i spróbuj ponownie.",
    not_configured: "Nie skonfigurowano tokenu: ustaw [admin] token w reconsent.toml.",
    sign_out: "Wyloguj",
    overview: "Przegląd",
    contacts: "Kontakty",
    counted: "kontaktów",
    eligible: "można zapytać ponownie",
    by_class: "Kontakty według rodzaju zgody",
    by_country: "Kontakty według kraju",
    country: "Kraj",
    classes: [
        "ważna zgoda",
        "stara zgoda",
        "słaba zgoda",
        "klient bez zgody",
        "brak podstawy",
        "wycofana",
    ],
    campaigns: "Kampanie",
    no_campaigns: "Nie uruchomiono jeszcze żadnej kampanii.",
    state: "Stan",
    states: ["wysyłanie", "wstrzymana", "anulowana", "zakończona"],
    sent_of: "wysłano z",
    rate: "Potwierdzenia",
    suspect: "podejrzane odpowiedzi, nieliczone",
    time_left: "Pozostało",
    past_deadline: "termin minął",
    units: ["d", "h"],
    funnel: [
        "Adresaci",
        "Wysłane",
        "Otwarte",
        "Potwierdzone",
        "Rezygnacje",
        "Bez odpowiedzi",
        "Do usunięcia",
        "Usunięte",
    ],
    detail: [
        "Czeka na wysłanie",
        "Błąd",
        "Odbite",
        "Los nieznany",
        "Anulowane",
    ],
    late: ["Odbite później", "Odbicia miękkie", "Skargi na spam"],
    whole: "Cała kampania",
    by_wave: "Według fali",
    wave: "Fala",
    actions: ["Wstrzymaj", "Wznów", "Anuluj kampanię"],
    asks: [
        "Wstrzymać tę kampanię? Nic więcej nie zostanie wysłane, dopóki jej nie wznowisz.",
        "Wznowić tę kampanię? Wysyłka będzie kontynuowana od miejsca zatrzymania.",
        "Anulować tę kampanię? Niewysłane wiadomości nigdy nie zostaną wysłane. Tego nie można cofnąć.",
    ],
    yes: "Tak",
    no: "Nie, wróć",
    refresh: "Odśwież",
    live: "Te liczby odświeżają się same podczas wysyłki.",
    all_campaigns: "Wszystkie kampanie",
    language: "Język",
    forbidden: "Ten formularz wygasł. Wróć, odśwież stronę i spróbuj ponownie.",
    not_found: "Nie ma takiej strony ani kampanii.",
    failed: "Coś poszło nie tak. Szczegóły w logu serwera.",
    deadline: "Termin",
};

pub const SK: Words = Words {
    lang: "sk",
    name: "Slovenčina",
    title: "Prehľad súhlasov",
    sign_in: "Prihlásiť sa",
    token: "Token správcu",
    token_hint: "Token [admin] z reconsent.toml (alebo RECONSENT__ADMIN__TOKEN).",
    wrong_token: "Toto nie je token správcu.",
    too_many: "Príliš veľa pokusov z vašej adresy. Počkajte minútu a skúste to znova.",
    not_configured: "Token správcu nie je nastavený: nastavte [admin] token v reconsent.toml.",
    sign_out: "Odhlásiť sa",
    overview: "Prehľad",
    contacts: "Kontakty",
    counted: "kontaktov",
    eligible: "možno znova osloviť",
    by_class: "Kontakty podľa druhu súhlasu",
    by_country: "Kontakty podľa krajiny",
    country: "Krajina",
    classes: [
        "platný súhlas",
        "starý súhlas",
        "slabý súhlas",
        "zákazník bez súhlasu",
        "bez základu",
        "odvolaný",
    ],
    campaigns: "Kampane",
    no_campaigns: "Zatiaľ nebola spustená žiadna kampaň.",
    state: "Stav",
    states: ["odosiela sa", "pozastavená", "zrušená", "dokončená"],
    sent_of: "odoslaných z",
    rate: "Potvrdené",
    suspect: "podozrivé odpovede, nezapočítané",
    time_left: "Zostáva",
    past_deadline: "termín uplynul",
    units: ["d", "h"],
    funnel: [
        "Oslovení",
        "Odoslané",
        "Zobrazené",
        "Potvrdené",
        "Odhlásení",
        "Bez odpovede",
        "Na vymazanie",
        "Vymazané",
    ],
    detail: [
        "Čaká na odoslanie",
        "Chyba",
        "Vrátené",
        "Osud neznámy",
        "Zrušené",
    ],
    late: ["Vrátené neskôr", "Mäkké vrátenia", "Sťažnosti na spam"],
    whole: "Celá kampaň",
    by_wave: "Podľa vlny",
    wave: "Vlna",
    actions: ["Pozastaviť", "Pokračovať", "Zrušiť kampaň"],
    asks: [
        "Pozastaviť túto kampaň? Nič ďalšie sa neodošle, kým ju neobnovíte.",
        "Pokračovať v tejto kampani? Odosielanie pokračuje tam, kde skončilo.",
        "Zrušiť túto kampaň? Neodoslané správy sa už nikdy neodošlú. Nedá sa to vrátiť.",
    ],
    yes: "Áno",
    no: "Nie, späť",
    refresh: "Obnoviť",
    live: "Tieto čísla sa počas odosielania obnovujú samé.",
    all_campaigns: "Všetky kampane",
    language: "Jazyk",
    forbidden: "Platnosť formulára vypršala. Vráťte sa, obnovte stránku a skúste to znova.",
    not_found: "Taká stránka ani kampaň neexistuje.",
    failed: "Niečo sa pokazilo. Podrobnosti sú v logu servera.",
    deadline: "Termín",
};

pub const CS: Words = Words {
    lang: "cs",
    name: "Čeština",
    title: "Přehled souhlasů",
    sign_in: "Přihlásit se",
    token: "Token správce",
    token_hint: "Token [admin] z reconsent.toml (nebo RECONSENT__ADMIN__TOKEN).",
    wrong_token: "Toto není token správce.",
    too_many: "Příliš mnoho pokusů z vaší adresy. Počkejte minutu a zkuste to znovu.",
    not_configured: "Token správce není nastaven: nastavte [admin] token v reconsent.toml.",
    sign_out: "Odhlásit se",
    overview: "Přehled",
    contacts: "Kontakty",
    counted: "kontaktů",
    eligible: "lze znovu oslovit",
    by_class: "Kontakty podle druhu souhlasu",
    by_country: "Kontakty podle země",
    country: "Země",
    classes: [
        "platný souhlas",
        "starý souhlas",
        "slabý souhlas",
        "zákazník bez souhlasu",
        "bez základu",
        "odvolaný",
    ],
    campaigns: "Kampaně",
    no_campaigns: "Zatím nebyla spuštěna žádná kampaň.",
    state: "Stav",
    states: ["odesílá se", "pozastavená", "zrušená", "dokončená"],
    sent_of: "odesláno z",
    rate: "Potvrzeno",
    suspect: "podezřelé odpovědi, nezapočítané",
    time_left: "Zbývá",
    past_deadline: "termín uplynul",
    units: ["d", "h"],
    funnel: [
        "Oslovení",
        "Odesláno",
        "Zobrazeno",
        "Potvrzeno",
        "Odhlášeni",
        "Bez odpovědi",
        "K vymazání",
        "Vymazáno",
    ],
    detail: [
        "Čeká na odeslání",
        "Chyba",
        "Vráceno",
        "Osud neznámý",
        "Zrušeno",
    ],
    late: ["Vráceno později", "Měkká vrácení", "Stížnosti na spam"],
    whole: "Celá kampaň",
    by_wave: "Podle vlny",
    wave: "Vlna",
    actions: ["Pozastavit", "Pokračovat", "Zrušit kampaň"],
    asks: [
        "Pozastavit tuto kampaň? Nic dalšího se neodešle, dokud ji neobnovíte.",
        "Pokračovat v této kampani? Odesílání pokračuje tam, kde skončilo.",
        "Zrušit tuto kampaň? Neodeslané zprávy se už nikdy neodešlou. Nelze to vrátit.",
    ],
    yes: "Ano",
    no: "Ne, zpět",
    refresh: "Obnovit",
    live: "Tato čísla se během odesílání obnovují sama.",
    all_campaigns: "Všechny kampaně",
    language: "Jazyk",
    forbidden: "Platnost formuláře vypršela. Vraťte se, obnovte stránku a zkuste to znovu.",
    not_found: "Taková stránka ani kampaň neexistuje.",
    failed: "Něco se pokazilo. Podrobnosti jsou v logu serveru.",
    deadline: "Termín",
};

pub const DE: Words = Words {
    lang: "de",
    name: "Deutsch",
    title: "Einwilligungs-Übersicht",
    sign_in: "Anmelden",
    token: "Admin-Token",
    token_hint: "Das [admin]-Token aus reconsent.toml (oder RECONSENT__ADMIN__TOKEN).",
    wrong_token: "Das ist nicht das Admin-Token.",
    too_many: "Zu viele Versuche von Ihrer Adresse. Warten Sie eine Minute und versuchen Sie es erneut.",
    not_configured: "Kein Admin-Token eingerichtet: setzen Sie [admin] token in reconsent.toml.",
    sign_out: "Abmelden",
    overview: "Übersicht",
    contacts: "Kontakte",
    counted: "Kontakte",
    eligible: "dürfen erneut gefragt werden",
    by_class: "Kontakte nach Art der Einwilligung",
    by_country: "Kontakte nach Land",
    country: "Land",
    classes: [
        "gültig",
        "veraltet",
        "schwach",
        "Kunde ohne Einwilligung",
        "keine Grundlage",
        "widerrufen",
    ],
    campaigns: "Kampagnen",
    no_campaigns: "Noch keine Kampagne gestartet.",
    state: "Status",
    states: ["sendet", "pausiert", "abgebrochen", "abgeschlossen"],
    sent_of: "gesendet von",
    rate: "Bestätigt",
    suspect: "verdächtige Antworten, nicht gezählt",
    time_left: "Verbleibend",
    past_deadline: "Frist abgelaufen",
    units: ["T", "Std"],
    funnel: [
        "Angeschrieben",
        "Gesendet",
        "Angesehen",
        "Bestätigt",
        "Abgemeldet",
        "Keine Antwort",
        "Zur Löschung",
        "Gelöscht",
    ],
    detail: [
        "Wartet auf Versand",
        "Fehlgeschlagen",
        "Unzustellbar",
        "Verbleib unbekannt",
        "Storniert",
    ],
    late: [
        "Später unzustellbar",
        "Vorübergehend unzustellbar",
        "Spam-Beschwerden",
    ],
    whole: "Ganze Kampagne",
    by_wave: "Nach Welle",
    wave: "Welle",
    actions: ["Pausieren", "Fortsetzen", "Kampagne abbrechen"],
    asks: [
        "Diese Kampagne pausieren? Bis zum Fortsetzen wird nichts mehr gesendet.",
        "Diese Kampagne fortsetzen? Der Versand geht dort weiter, wo er stand.",
        "Diese Kampagne abbrechen? Noch nicht gesendete Nachrichten werden nie gesendet. Das lässt sich nicht rückgängig machen.",
    ],
    yes: "Ja",
    no: "Nein, zurück",
    refresh: "Aktualisieren",
    live: "Diese Zahlen aktualisieren sich während des Versands von selbst.",
    all_campaigns: "Alle Kampagnen",
    language: "Sprache",
    forbidden: "Dieses Formular ist abgelaufen. Gehen Sie zurück, laden Sie die Seite neu und versuchen Sie es erneut.",
    not_found: "Diese Seite oder Kampagne gibt es nicht.",
    failed: "Etwas ist schiefgegangen. Das Server-Log sagt mehr.",
    deadline: "Frist",
};

pub const ALL: [&Words; 5] = [&EN, &PL, &SK, &CS, &DE];

/// The words for a language code (`pl`, `de-AT`), if the dashboard speaks it.
pub fn for_code(code: &str) -> Option<&'static Words> {
    let primary = code.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    ALL.into_iter().find(|w| w.lang == primary)
}

/// The best language of an `Accept-Language` header by its q-values; English when
/// none is spoken here.
pub fn from_accept_language(header: &str) -> &'static Words {
    let mut best: Option<(f32, &'static Words)> = None;
    for part in header.split(',') {
        let mut fields = part.split(';');
        let Some(words) = fields.next().and_then(for_code) else {
            continue;
        };
        let q = fields
            .find_map(|f| f.trim().strip_prefix("q="))
            .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())
            .unwrap_or(0.0);
        if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
            best = Some((q, words));
        }
    }
    best.map_or(&EN, |(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_follows_accept_language_by_quality() {
        let cases = [
            ("pl-PL,pl;q=0.9,en;q=0.8", "pl"),
            ("de-AT", "de"),
            ("fr, sk;q=0.5", "sk"),
            ("en;q=0.2, cs;q=0.7", "cs"),
            ("fr, it", "en"),
            ("", "en"),
            ("pl;q=0, de;q=0.1", "de"),
            ("pl;q=garbage, cs;q=0.5", "cs"),
            ("*", "en"),
        ];
        for (header, want) in cases {
            assert_eq!(from_accept_language(header).lang, want, "{header}");
        }
    }

    #[test]
    fn codes_name_a_language_or_nothing() {
        assert_eq!(for_code("PL").map(|w| w.lang), Some("pl"));
        assert_eq!(for_code("cs_CZ").map(|w| w.lang), Some("cs"));
        assert!(for_code("xx").is_none());
        assert!(for_code("").is_none());
    }
}
