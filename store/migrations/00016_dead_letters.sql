-- Dead letters (PRODUCT.md §8, "one bad row never stops the rest"): a queue
-- row that keeps failing is moved here with its reason, in the transaction
-- that takes it off its queue, so that the rest of the queue flows on and
-- nothing is lost without a trace.

-- +goose Up
CREATE TABLE dead_letters (
    id           bigserial PRIMARY KEY,
    kind         text NOT NULL,
    ref          text NOT NULL,
    reason       text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    attempts     int NOT NULL DEFAULT 1,
    set_aside_at timestamptz NOT NULL
);
CREATE INDEX dead_letters_kind ON dead_letters (kind, id);

-- +goose Down
DROP TABLE dead_letters;
