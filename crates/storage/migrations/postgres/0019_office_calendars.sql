-- Every office follows one holiday calendar: the mainland's, or Hong Kong's (the CTS
-- service centres, which issue Hong Kong residents' home return permits in Hong Kong).
ALTER TABLE offices ADD COLUMN calendar TEXT NOT NULL DEFAULT 'mainland';

-- A calendar day belongs to a calendar (office_code '': a public holiday or make-up working
-- day of that calendar) or to one office (calendar '': a closure). The days held so far
-- without an office were the mainland's.
ALTER TABLE calendar_days ADD COLUMN calendar TEXT NOT NULL DEFAULT '';
UPDATE calendar_days SET calendar = 'mainland' WHERE office_code = '';
ALTER TABLE calendar_days ALTER COLUMN calendar DROP DEFAULT;
ALTER TABLE calendar_days DROP CONSTRAINT calendar_days_pkey;
ALTER TABLE calendar_days ADD PRIMARY KEY (day, calendar, office_code);
