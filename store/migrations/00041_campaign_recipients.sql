-- A campaign keeps its recipients apart from the outbox until their turn
-- comes. The fan-out writes the segment's members as a few rows of up to a
-- chunk of member ids each (campaign, part, ids), where it wrote a message
-- and a queue row with five indexes between them for every recipient; a
-- million recipients are a hundred rows and a few megabytes. The outbox
-- takes one part at a time, rendered and scheduled as it goes (store
-- FeedCampaigns): the part's row leaves this table in the transaction that
-- queues its messages. Members, not numbers: a member who changes number
-- gets the campaign on the new one, and a number that changes hands is not
-- sent what its last member was meant to get.
--
-- pending counts the recipients not yet in the outbox, dropped those that
-- never will be (cancelled, or no longer taking marketing when their turn
-- came).

-- +goose Up
CREATE TABLE campaign_recipients (
    campaign_id bigint NOT NULL,
    part        int NOT NULL CHECK (part >= 0),
    member_ids  bigint[] NOT NULL CHECK (cardinality(member_ids) > 0),
    PRIMARY KEY (campaign_id, part)
);

ALTER TABLE sms_campaigns
    ADD COLUMN pending bigint NOT NULL DEFAULT 0 CHECK (pending >= 0),
    ADD COLUMN dropped bigint NOT NULL DEFAULT 0 CHECK (dropped >= 0);
CREATE INDEX sms_campaigns_pending ON sms_campaigns (id) WHERE pending > 0;

-- +goose Down
DROP INDEX sms_campaigns_pending;
ALTER TABLE sms_campaigns DROP COLUMN pending, DROP COLUMN dropped;
DROP TABLE campaign_recipients;
