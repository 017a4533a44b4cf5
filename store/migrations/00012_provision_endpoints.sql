-- Provisioning calls go only to endpoints named in CARE360_CONFIG
-- (PRODUCT.md §9): a gift names its endpoint, a queued call carries the
-- name, and no URL staff typed is called again.
--
-- Gifts that had a URL cannot say which configured endpoint was meant, so
-- they are deactivated: staff set provision_endpoint before activating
-- them again. Calls still pending keep no endpoint; the worker fails them
-- as it would a refused call, which refunds the points and tells the
-- subscriber. The typed URLs are kept, renamed and never read, for the
-- record of where calls used to go.

-- +goose Up
ALTER TABLE gifts ADD COLUMN provision_endpoint text NOT NULL DEFAULT '';
UPDATE gifts SET active = false, updated_at = now() WHERE provision_url <> '' AND active;
ALTER TABLE gifts RENAME COLUMN provision_url TO retired_provision_url;
ALTER TABLE provision_calls ADD COLUMN endpoint text NOT NULL DEFAULT '';
ALTER TABLE provision_calls ALTER COLUMN url DROP NOT NULL;
ALTER TABLE provision_calls RENAME COLUMN url TO retired_url;

-- +goose Down
ALTER TABLE provision_calls RENAME COLUMN retired_url TO url;
UPDATE provision_calls SET url = '' WHERE url IS NULL;
ALTER TABLE provision_calls ALTER COLUMN url SET NOT NULL;
ALTER TABLE provision_calls DROP COLUMN endpoint;
ALTER TABLE gifts RENAME COLUMN retired_provision_url TO provision_url;
ALTER TABLE gifts DROP COLUMN provision_endpoint;
