-- Where a mainland resident's household registration (hukou) is now: a 6-digit division
-- code. It decides the individual-visit (G) scheme; the identity number's first digits
-- record only where the person was first registered and never change when the hukou moves.
ALTER TABLE people ADD COLUMN hukou_area TEXT;
