-- Why a paid endorsement was refunded instead of printed (the rule that stopped it at the
-- kiosk), shown to the applicant.
ALTER TABLE endorsement_applications ADD COLUMN refund_reason TEXT;
