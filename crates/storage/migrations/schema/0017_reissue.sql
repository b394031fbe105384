-- An approved pre-application is good for one application at the counter: accepting it
-- marks it used (status `used`) with the centre application it went into, so a renewal
-- years later starts with a new pre-application.
ALTER TABLE hrp_applications ADD COLUMN used_by TEXT;

-- Renewals and replacements of the home return permit keep the number for life, so
-- successive applications carry the same one; fresh numbers stay unique across applications.
DROP INDEX centre_applications_new_number;
CREATE UNIQUE INDEX centre_applications_new_number ON centre_applications (new_document_number)
    WHERE new_document_number IS NOT NULL
        AND product NOT IN ('hrp_non_chinese_renewal', 'hrp_non_chinese_replacement');
