"""Generate the demo's sample dataset: support-ticket triage for a data platform.

Each example maps a customer ticket to a one-line triage decision (category, priority, owning team). The
first batch (``history.jsonl``, Vertex Gemini SFT format) covers half the categories; the second batch
(``new_tickets.csv``, a ticketing-system export) adds the rest, so a model tuned further on it measurably
improves. Deterministic: the files in ``demo/data`` are this script's output and are committed.

    python demo/make_sample_data.py
"""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

SYSTEM = "You triage support tickets for a data platform. Answer with category, priority and team."

# category -> (team, priority, ticket templates)
CATEGORIES: dict[str, tuple[str, str, list[str]]] = {
    "billing": ("finance-ops", "P3", [
        "I was charged twice for the {plan} plan this month, invoice {num}.",
        "Our invoice {num} shows {count} seats but we only have {small} users on {plan}.",
        "Can you refund the overage on invoice {num}? We downgraded from {plan} last week.",
        "The credit card on file for {company} was declined, how do we update billing details?",
    ]),
    "login": ("identity", "P2", [
        "I cannot log in to the console, SSO with {idp} says my account is locked.",
        "Password reset emails never arrive for {user}@{company}.com.",
        "After enabling {idp} single sign-on nobody at {company} can sign in.",
        "Two-factor codes are rejected for user {user} since this morning.",
    ]),
    "pipeline_failure": ("data-engineering", "P1", [
        "Our nightly {job} pipeline failed with OutOfMemory on step {num}.",
        "The {job} DAG has been failing since {day} with a timeout talking to the warehouse.",
        "Ingestion job {job} crashes with a schema mismatch on column {column}.",
        "Every run of {job} fails at the {column} transform after the upgrade.",
    ]),
    "slow_query": ("query-engine", "P2", [
        "Queries on table {table} take {count} minutes since {day}, they used to take seconds.",
        "The dashboard over {table} times out, the query scans {count} GB.",
        "Joining {table} with {table2} became very slow after yesterday's release.",
        "Why is a simple count on {table} so slow today?",
    ]),
    "data_quality": ("data-governance", "P2", [
        "Column {column} in {table} has nulls where there should be none since {day}.",
        "We see duplicated rows in {table} after the {job} load.",
        "Revenue numbers in {table} do not match the source system for {day}.",
        "The {column} values in {table} look shifted by one day.",
    ]),
    "access_request": ("identity", "P4", [
        "Please grant {user} read access to dataset {table}.",
        "{user} needs write permission on the {table} schema for the {job} project.",
        "Can you add the {company} analysts group to the {table} viewers?",
        "Requesting admin role for {user} on workspace {company}.",
    ]),
    "outage": ("site-reliability", "P1", [
        "The whole platform is down for {company}, every API call returns 503.",
        "Console unreachable in region {region}, all our jobs are stuck.",
        "We get connection refused from the {region} endpoint since {day}.",
        "Major outage: nothing loads in the {region} workspace for {company}.",
    ]),
    "feature_request": ("product", "P4", [
        "It would be great to export {table} directly to {format}.",
        "Please add support for {format} files in the {job} connector.",
        "Could the scheduler support calendars with holidays for {company}?",
        "Feature idea: alerts on {column} drift in {table}.",
    ]),
    "quota": ("capacity", "P3", [
        "We hit the quota of {count} concurrent jobs in {region}, can it be raised?",
        "Storage quota exceeded for {company}, we need {count} TB more.",
        "Our project keeps getting rate limited at {count} requests per minute.",
        "Please increase the slot quota for the {job} project in {region}.",
    ]),
    "security": ("security", "P1", [
        "We think an API key for {company} leaked in a public repository.",
        "Suspicious logins for {user} from an unknown country last night.",
        "A former employee {user} still has access to {table}, please revoke urgently.",
        "Our scanner flagged the {job} service account as over-privileged.",
    ]),
    "integration": ("partner-engineering", "P3", [
        "The {idp} connector stopped syncing users for {company}.",
        "Webhook deliveries to our endpoint fail with 401 since {day}.",
        "The {format} export to our S3 bucket is empty for {table}.",
        "Terraform provider errors when creating the {job} workspace.",
    ]),
    "documentation": ("developer-relations", "P4", [
        "The docs for the {job} API show a parameter {column} that does not exist.",
        "Where is the documentation for exporting {table} as {format}?",
        "The quickstart for {idp} SSO is out of date.",
        "The example for {format} ingestion in the docs fails to run.",
    ]),
}
FIRST_BATCH = ["billing", "login", "pipeline_failure", "slow_query", "data_quality", "access_request"]

FILLERS = {
    "plan": ["Team", "Business", "Enterprise", "Starter"],
    "num": [str(n) for n in range(1040, 1990, 37)],
    "count": ["3", "12", "40", "250", "1200"],
    "small": ["2", "5", "8"],
    "company": ["acme", "globex", "initech", "umbrella", "hooli", "stark"],
    "idp": ["Okta", "Azure AD", "Google Workspace", "OneLogin"],
    "user": ["maria", "kenji", "olu", "priya", "lucas", "ana"],
    "job": ["orders_daily", "clickstream", "crm_sync", "billing_export", "ml_features"],
    "day": ["Monday", "yesterday", "the 3rd", "last week", "Friday"],
    "column": ["customer_id", "order_total", "event_ts", "country_code", "sku"],
    "table": ["sales.orders", "web.events", "crm.accounts", "finance.ledger", "ml.features"],
    "table2": ["dim.customers", "dim.products", "dim.dates"],
    "region": ["us-central1", "europe-west4", "asia-southeast1"],
    "format": ["Parquet", "CSV", "Avro", "Delta"],
}


def triage(category: str) -> str:
    team, priority, _ = CATEGORIES[category]
    return f"category: {category} | priority: {priority} | team: {team}"


def tickets(rng: random.Random, category: str, n: int) -> list[tuple[str, str]]:
    templates = CATEGORIES[category][2]
    out = []
    for i in range(n):
        text = templates[i % len(templates)]
        text = text.format(**{k: rng.choice(v) for k, v in FILLERS.items()})
        out.append((text, triage(category)))
    return out


def vertex_line(prompt: str, answer: str) -> str:
    return json.dumps({
        "systemInstruction": {"role": "system", "parts": [{"text": SYSTEM}]},
        "contents": [{"role": "user", "parts": [{"text": prompt}]}, {"role": "model", "parts": [{"text": answer}]}],
    }, ensure_ascii=False)


def main() -> None:
    rng = random.Random(20261121)
    out = Path(__file__).parent / "data"
    out.mkdir(exist_ok=True)
    history = [ex for c in FIRST_BATCH for ex in tickets(rng, c, 30)]
    rng.shuffle(history)
    (out / "history.jsonl").write_text("".join(vertex_line(p, a) + "\n" for p, a in history), encoding="utf-8")
    new = [ex for c in CATEGORIES for ex in tickets(rng, c, 10 if c in FIRST_BATCH else 30)]
    rng.shuffle(new)
    with open(out / "new_tickets.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["ticket", "triage"])
        writer.writerows(new)
    print(f"history.jsonl: {len(history)} examples, new_tickets.csv: {len(new)} examples")


if __name__ == "__main__":
    main()
