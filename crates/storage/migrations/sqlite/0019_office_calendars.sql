-- Every office follows one holiday calendar: the mainland's, or Hong Kong's (the CTS
-- service centres, which issue Hong Kong residents' home return permits in Hong Kong).
ALTER TABLE offices ADD COLUMN calendar TEXT NOT NULL DEFAULT 'mainland';

-- A calendar day belongs to a calendar (office_code '': a public holiday or make-up working
-- day of that calendar) or to one office (calendar '': a closure). The days held so far
-- without an office were the mainland's.
CREATE TABLE calendar_days_0019 (
    day TEXT NOT NULL,
    calendar TEXT NOT NULL,
    office_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (day, calendar, office_code)
);
INSERT INTO calendar_days_0019 (day, calendar, office_code, kind, name, created_at)
SELECT day, CASE WHEN office_code = '' THEN 'mainland' ELSE '' END, office_code, kind, name, created_at
FROM calendar_days;
DROP TABLE calendar_days;
ALTER TABLE calendar_days_0019 RENAME TO calendar_days;
