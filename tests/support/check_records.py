"""Checks an export of consent records independently of the engine: every line of the
JSON Lines file against the shipped JSON Schema (jsonschema, with formats checked), and
the CSV file with Python's csv module. Prints {"jsonl": n, "csv": n, "errors": [...],
"same_ids": bool}."""
import csv, json, sys
import jsonschema

schema_path, jsonl_path, csv_path = sys.argv[1:4]
with open(schema_path, encoding="utf-8") as f:
    schema = json.load(f)
validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
errors, ids = [], []
with open(jsonl_path, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        record = json.loads(line)
        ids.append(record.get("record_id"))
        for e in validator.iter_errors(record):
            errors.append(f"line {n}: {'/'.join(map(str, e.path))}: {e.message}")
with open(csv_path, encoding="utf-8", newline="") as f:
    rows = list(csv.DictReader(f))
print(json.dumps({
    "jsonl": len(ids),
    "csv": len(rows),
    "errors": errors[:20],
    "same_ids": [r["record_id"] for r in rows] == ids,
}))
