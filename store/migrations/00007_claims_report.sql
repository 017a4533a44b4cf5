-- Claims per day for the reports: a range scan on created_at that reads
-- what the report sums from the index alone.

-- +goose Up
CREATE INDEX gift_claims_created ON gift_claims (created_at) INCLUDE (gift_id, points, status);

-- +goose Down
DROP INDEX gift_claims_created;
