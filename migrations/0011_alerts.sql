-- Version 11 (from 10): the alert outbox and the state of each alert sink.

-- alert_outbox: one row per (rule, sink, change) that matched a rule, written in the same
-- transaction as the change it announces, with the body rendered then (a retry sends the same
-- bytes) and a stable message id (the `webhook-id`). Rows are delivered in alert_id order per
-- sink; delivered rows are removed after the retention (alerts.retention).
CREATE TABLE alert_outbox (
    alert_id        INTEGER PRIMARY KEY,
    message_id      TEXT NOT NULL UNIQUE,  -- msg_<random>: the webhook-id of every attempt
    rule            TEXT NOT NULL,
    sink            TEXT NOT NULL,
    source          TEXT NOT NULL,         -- the change row: variant_change:<change_id> or
                                           -- product_event:<event_id>
    store_id        INTEGER NOT NULL,
    product_id      INTEGER NOT NULL,
    variant_id      INTEGER,               -- NULL for product events
    event           TEXT NOT NULL,         -- the type as sent, e.g. variant.price_dropped
    body            TEXT NOT NULL,         -- the request body, rendered once
    created_at      TEXT NOT NULL,
    -- pending: to be sent (maybe after next_attempt_at); delivered: a 2xx answered; dead: a 4xx
    -- refused it or the retries ran out (`alerts retry` makes it pending again)
    state           TEXT NOT NULL DEFAULT 'pending'
                        CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,  -- failed attempts (a 429 spends none)
    next_attempt_at TEXT NOT NULL,         -- UTC with milliseconds; due when in the past
    last_error      TEXT,                  -- the last failure, one line
    delivered_at    TEXT,
    UNIQUE (rule, sink, source)
);
CREATE INDEX alert_outbox_queue ON alert_outbox(sink, state, alert_id);
CREATE INDEX alert_outbox_cooldown ON alert_outbox(rule, store_id, product_id, variant_id);

-- alert_sinks: delivery state of each sink that ever had a row. paused: NULL (delivering),
-- 'gone' (it answered 410, or Discord 404) or 'suspended' (failing for alerts.suspend_after);
-- `alerts resume SINK` clears it. failing_since: the first failure since the last success.
CREATE TABLE alert_sinks (
    sink          TEXT PRIMARY KEY,
    paused        TEXT CHECK (paused IN ('gone', 'suspended')),
    paused_at     TEXT,
    failing_since TEXT,
    last_error    TEXT
);
