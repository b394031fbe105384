-- Endorsement applications taken at a counter: any type, first endorsements included.
-- A family visit (T) waits for a reviewer to confirm the declared relative (under_review,
-- then ready_to_print or rejected and refunded). Counter applications are printed from
-- ready_on, after the processing days; a stay (D) endorsement ends with its approval.
ALTER TABLE endorsement_applications ADD COLUMN office TEXT;
ALTER TABLE endorsement_applications ADD COLUMN relation TEXT;
ALTER TABLE endorsement_applications ADD COLUMN relative_name TEXT;
ALTER TABLE endorsement_applications ADD COLUMN fixed_until TEXT;
ALTER TABLE endorsement_applications ADD COLUMN ready_on TEXT;
ALTER TABLE endorsement_applications ADD COLUMN reviewed_by TEXT;
ALTER TABLE endorsement_applications ADD COLUMN review_note TEXT;

DROP INDEX endorsement_applications_one_open;
CREATE UNIQUE INDEX endorsement_applications_one_open ON endorsement_applications (document_id, destination)
    WHERE status IN ('awaiting_payment', 'under_review', 'ready_to_print', 'printing');
CREATE INDEX endorsement_applications_status ON endorsement_applications (status, created_at);
