//! The import pages' text in the languages of the dashboard.

use super::super::Words;

pub struct ImportWords {
    pub(super) lang: &'static str,
    pub(super) title: &'static str,
    pub(super) to_files: &'static str,
    pub(super) intro: &'static str,
    pub(super) file: &'static str,
    pub(super) check: &'static str,
    pub(super) too_big: &'static str,
    pub(super) no_file: &'static str,
    pub(super) dry: &'static str,
    pub(super) done: &'static str,
    pub(super) rows: &'static str,
    pub(super) counts: [&'static str; 5],
    pub(super) refused: &'static str,
    pub(super) line: &'static str,
    pub(super) more: &'static str,
    pub(super) import: &'static str,
    pub(super) gone: &'static str,
    pub(super) again: &'static str,
}

const EN: ImportWords = ImportWords {
    lang: "en",
    to_files: "Campaign files",
    title: "Import contacts",
    intro: "A CSV or JSON Lines file, as for `reconsent import`, at most 200 MB. Nothing is written until you have seen the dry run and pressed Import.",
    file: "File",
    check: "Check the file",
    too_big: "The file is larger than 200 MB: split it, or import it with `reconsent import`.",
    no_file: "Choose a file first.",
    dry: "Dry run, nothing written",
    done: "Imported",
    rows: "rows",
    counts: [
        "new contacts",
        "updated",
        "unchanged",
        "duplicate rows (merged)",
        "refused, erased earlier",
    ],
    refused: "The file cannot be imported: these lines are invalid. Nothing was written; correct them and upload the file again.",
    line: "line",
    more: "more",
    import: "Import",
    gone: "That upload is no longer here: upload the file again.",
    again: "Import another file",
};

const PL: ImportWords = ImportWords {
    lang: "pl",
    to_files: "Pliki kampanii",
    title: "Import kontaktów",
    intro: "Plik CSV lub JSON Lines, jak dla `reconsent import`, najwyżej 200 MB. Nic nie zostanie zapisane, zanim nie zobaczysz próby i nie klikniesz Importuj.",
    file: "Plik",
    check: "Sprawdź plik",
    too_big: "Plik ma ponad 200 MB: podziel go albo zaimportuj przez `reconsent import`.",
    no_file: "Najpierw wybierz plik.",
    dry: "Próba, nic nie zapisano",
    done: "Zaimportowano",
    rows: "wierszy",
    counts: [
        "nowe kontakty",
        "zaktualizowane",
        "bez zmian",
        "powtórzone wiersze (scalone)",
        "odrzucone, usunięte wcześniej",
    ],
    refused: "Tego pliku nie można zaimportować: te wiersze są błędne. Nic nie zapisano; popraw je i wyślij plik ponownie.",
    line: "wiersz",
    more: "więcej",
    import: "Importuj",
    gone: "Tego pliku już tu nie ma: wyślij go ponownie.",
    again: "Importuj inny plik",
};

const SK: ImportWords = ImportWords {
    lang: "sk",
    to_files: "Súbory kampaní",
    title: "Import kontaktov",
    intro: "Súbor CSV alebo JSON Lines ako pre `reconsent import`, najviac 200 MB. Nič sa nezapíše, kým neuvidíte skúšku a nestlačíte Importovať.",
    file: "Súbor",
    check: "Skontrolovať súbor",
    too_big: "Súbor má viac ako 200 MB: rozdeľte ho alebo ho importujte cez `reconsent import`.",
    no_file: "Najprv vyberte súbor.",
    dry: "Skúška, nič sa nezapísalo",
    done: "Importované",
    rows: "riadkov",
    counts: [
        "nové kontakty",
        "aktualizované",
        "bez zmeny",
        "opakované riadky (zlúčené)",
        "odmietnuté, skôr vymazané",
    ],
    refused: "Súbor nemožno importovať: tieto riadky sú chybné. Nič sa nezapísalo; opravte ich a nahrajte súbor znova.",
    line: "riadok",
    more: "ďalších",
    import: "Importovať",
    gone: "Tento súbor tu už nie je: nahrajte ho znova.",
    again: "Importovať iný súbor",
};

const CS: ImportWords = ImportWords {
    lang: "cs",
    to_files: "Soubory kampaní",
    title: "Import kontaktů",
    intro: "Soubor CSV nebo JSON Lines jako pro `reconsent import`, nejvýše 200 MB. Nic se nezapíše, dokud neuvidíte zkoušku a nestisknete Importovat.",
    file: "Soubor",
    check: "Zkontrolovat soubor",
    too_big: "Soubor má přes 200 MB: rozdělte ho nebo ho importujte přes `reconsent import`.",
    no_file: "Nejprve vyberte soubor.",
    dry: "Zkouška, nic se nezapsalo",
    done: "Importováno",
    rows: "řádků",
    counts: [
        "nové kontakty",
        "aktualizované",
        "beze změny",
        "opakované řádky (sloučené)",
        "odmítnuté, dříve smazané",
    ],
    refused: "Soubor nelze importovat: tyto řádky jsou chybné. Nic se nezapsalo; opravte je a nahrajte soubor znovu.",
    line: "řádek",
    more: "dalších",
    import: "Importovat",
    gone: "Tento soubor tu už není: nahrajte ho znovu.",
    again: "Importovat jiný soubor",
};

const DE: ImportWords = ImportWords {
    lang: "de",
    to_files: "Kampagnendateien",
    title: "Kontakte importieren",
    intro: "Eine CSV- oder JSON-Lines-Datei wie für `reconsent import`, höchstens 200 MB. Nichts wird geschrieben, bevor Sie den Probelauf gesehen und Importieren gedrückt haben.",
    file: "Datei",
    check: "Datei prüfen",
    too_big: "Die Datei ist größer als 200 MB: teilen Sie sie oder importieren Sie sie mit `reconsent import`.",
    no_file: "Wählen Sie zuerst eine Datei.",
    dry: "Probelauf, nichts geschrieben",
    done: "Importiert",
    rows: "Zeilen",
    counts: [
        "neue Kontakte",
        "aktualisiert",
        "unverändert",
        "doppelte Zeilen (zusammengeführt)",
        "abgelehnt, früher gelöscht",
    ],
    refused: "Die Datei kann nicht importiert werden: diese Zeilen sind ungültig. Nichts wurde geschrieben; korrigieren Sie sie und laden Sie die Datei erneut hoch.",
    line: "Zeile",
    more: "weitere",
    import: "Importieren",
    gone: "Dieser Upload ist nicht mehr da: laden Sie die Datei erneut hoch.",
    again: "Eine andere Datei importieren",
};

pub fn import_words(w: &Words) -> &'static ImportWords {
    [&EN, &PL, &SK, &CS, &DE]
        .into_iter()
        .find(|i| i.lang == w.lang)
        .unwrap_or(&EN)
}
