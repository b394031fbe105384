-- Documents waiting for collection: a reminder is sent once, a month before the 12 months
-- run out; after that the application is cancelled (status uncollected_cancelled).
ALTER TABLE centre_applications ADD COLUMN reminded_at BIGINT;
