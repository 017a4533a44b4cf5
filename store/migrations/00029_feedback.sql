-- Feedback texted to the short code (GY <text>, PRODUCT.md §5) and staff's
-- answer. The sender need not be a member, so the row holds the number, not
-- a subscriber id. An MO carries no identity of its own and an SMSC may
-- deliver it twice: an open item is unique by number and text, so the second
-- delivery finds the first (the digest keeps long texts out of the index).
-- Answering flips open → answered once, with the answer, when and who, all
-- or nothing. Rows go with the inbound SMS retention (received_at).

-- +goose Up
CREATE TABLE feedback (
    id          bigserial PRIMARY KEY,
    msisdn      text NOT NULL CHECK (msisdn ~ '^[0-9]{8,15}$'),
    text        text NOT NULL CHECK (char_length(text) BETWEEN 1 AND 1000),
    received_at timestamptz NOT NULL,
    status      text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
    reply       text,
    replied_at  timestamptz,
    replied_by  text,
    CHECK ((status = 'answered') = (reply IS NOT NULL AND replied_at IS NOT NULL AND replied_by IS NOT NULL))
);
CREATE UNIQUE INDEX feedback_open_once ON feedback (msisdn, md5(text)) WHERE status = 'open';
-- The inbox lists open items newest first; the retention sweep walks ids.
CREATE INDEX feedback_status ON feedback (status, id);

-- +goose Down
DROP TABLE feedback;
