-- An office's address in the other two languages of the pages (Traditional Chinese and
-- English) beside the registry's Simplified Chinese one; '' until an import brings them,
-- and pages fall back to another language's address meanwhile.
ALTER TABLE offices ADD COLUMN address_zh_hant TEXT NOT NULL DEFAULT '';
ALTER TABLE offices ADD COLUMN address_en TEXT NOT NULL DEFAULT '';
