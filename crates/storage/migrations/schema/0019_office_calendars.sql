-- Every office follows one holiday calendar: the mainland's, or Hong Kong's (the CTS
-- service centres, which issue Hong Kong residents' home return permits in Hong Kong).
ALTER TABLE offices ADD COLUMN calendar TEXT NOT NULL DEFAULT 'mainland';

-- A calendar day belongs to a calendar (office_code '': a public holiday or make-up working
-- day of that calendar) or to one office (calendar '': a closure). The days held so far
-- without an office were the mainland's.
CREATE TABLE calendar_days_0019 ( -- sqlite only
    day TEXT NOT NULL, -- sqlite only
    calendar TEXT NOT NULL, -- sqlite only
    office_code TEXT NOT NULL, -- sqlite only
    kind TEXT NOT NULL, -- sqlite only
    name TEXT NOT NULL, -- sqlite only
    created_at BIGINT NOT NULL, -- sqlite only
    PRIMARY KEY (day, calendar, office_code) -- sqlite only
); -- sqlite only
INSERT INTO calendar_days_0019 (day, calendar, office_code, kind, name, created_at) -- sqlite only
SELECT day, CASE WHEN office_code = '' THEN 'mainland' ELSE '' END, office_code, kind, name, created_at -- sqlite only
FROM calendar_days; -- sqlite only
DROP TABLE calendar_days; -- sqlite only
ALTER TABLE calendar_days_0019 RENAME TO calendar_days; -- sqlite only
ALTER TABLE calendar_days ADD COLUMN calendar TEXT NOT NULL DEFAULT ''; -- postgres only
UPDATE calendar_days SET calendar = 'mainland' WHERE office_code = ''; -- postgres only
ALTER TABLE calendar_days ALTER COLUMN calendar DROP DEFAULT; -- postgres only
ALTER TABLE calendar_days DROP CONSTRAINT calendar_days_pkey; -- postgres only
ALTER TABLE calendar_days ADD PRIMARY KEY (day, calendar, office_code); -- postgres only
