"""The LLM request cache: every request any stage sends through ``curate.llm``."""

from schemas.tables import Column, Table

LLM_REQUESTS = Table(
    name="llm_requests",
    version=1,
    key=("request_hash", "run_id", "attempt"),
    doc="One row per finished request attempt. Only status 'ok' rows are served from the cache; failures are kept, never served.",
    columns=(
        Column("request_hash", "VARCHAR", "hash of endpoint identity, model, template hash, messages and sampling parameters"),
        Column("endpoint", "VARCHAR", "the base URL the request went to, without credentials or query string (never a key)"),
        Column("model", "VARCHAR", "model name sent to the endpoint"),
        Column("template_hash", "VARCHAR", "hash of the prompt template that built the messages"),
        Column("request", "JSON", "messages and sampling parameters as sent"),
        Column("response", "JSON", "the response body (status 'ok' only)"),
        Column("text", "VARCHAR", "the first choice's message content"),
        Column("status", "VARCHAR", "ok or failed"),
        Column("error", "VARCHAR", "why the attempt failed (status 'failed' only)"),
        Column("http_status", "INTEGER", "last HTTP status seen, when there was one"),
        Column("attempt", "INTEGER", "1 for the first try of this request; n+1 after n failed outcomes on record (transport retries inside one try are in retries)"),
        Column("retries", "INTEGER", "transport retries (429, 5xx, timeouts) before this outcome"),
        Column("prompt_tokens", "INTEGER", "prompt tokens, as the endpoint reported"),
        Column("completion_tokens", "INTEGER", "completion tokens, as the endpoint reported"),
        Column("cost_usd", "DOUBLE", "cost from the configured per-model price table; NULL (unknown) for a remote model missing from it, "
               "0 on a loopback endpoint (local compute is not billed)"),
        Column("latency_ms", "DOUBLE", "wall time of the successful HTTP attempt (status 'ok' only)"),
        Column("run_id", "VARCHAR", "run that sent the request"),
        Column("created_at", "TIMESTAMPTZ", "when the outcome was recorded"),
    ),
)

TABLES: tuple[Table, ...] = (LLM_REQUESTS,)
