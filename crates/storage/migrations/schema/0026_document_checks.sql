-- What a relying-party check reads of a document and its holder, one row under the
-- document's number: a check finds each number with one B-tree descent instead of three (the
-- number index, the document, the holder). Not a cache: the triggers below keep it in the
-- same transaction as every change to the two tables, so a check reads it exactly as current
-- as they are (docs/adr/0006-verification-reads-beside-sqlx.md).
CREATE TABLE document_checks (
    number TEXT NOT NULL,
    document_id BIGINT NOT NULL,
    person_id BIGINT NOT NULL,
    kind TEXT NOT NULL,
    issue_count {int} NOT NULL,
    issued_on TEXT NOT NULL,
    expires_on TEXT NOT NULL,
    status TEXT NOT NULL,
    name_zh TEXT,
    name_latin TEXT NOT NULL,
    date_of_birth TEXT NOT NULL,
    PRIMARY KEY (number, document_id)
) WITHOUT ROWID; -- sqlite only
); -- postgres only

INSERT INTO document_checks (number, document_id, person_id, kind, issue_count, issued_on,
    expires_on, status, name_zh, name_latin, date_of_birth)
SELECT d.number, d.id, d.person_id, d.kind, d.issue_count, d.issued_on, d.expires_on, d.status,
    p.name_zh, p.name_latin, p.date_of_birth
FROM documents d JOIN people p ON p.id = d.person_id;

CREATE TRIGGER document_checks_added AFTER INSERT ON documents -- sqlite only
BEGIN -- sqlite only
    INSERT INTO document_checks (number, document_id, person_id, kind, issue_count, issued_on, -- sqlite only
        expires_on, status, name_zh, name_latin, date_of_birth) -- sqlite only
    SELECT NEW.number, NEW.id, NEW.person_id, NEW.kind, NEW.issue_count, NEW.issued_on, -- sqlite only
        NEW.expires_on, NEW.status, p.name_zh, p.name_latin, p.date_of_birth -- sqlite only
    FROM people p WHERE p.id = NEW.person_id; -- sqlite only
END; -- sqlite only
CREATE TRIGGER document_checks_changed -- sqlite only
AFTER UPDATE OF person_id, kind, number, issue_count, issued_on, expires_on, status ON documents -- sqlite only
BEGIN -- sqlite only
    DELETE FROM document_checks WHERE number = OLD.number AND document_id = OLD.id; -- sqlite only
    INSERT INTO document_checks (number, document_id, person_id, kind, issue_count, issued_on, -- sqlite only
        expires_on, status, name_zh, name_latin, date_of_birth) -- sqlite only
    SELECT NEW.number, NEW.id, NEW.person_id, NEW.kind, NEW.issue_count, NEW.issued_on, -- sqlite only
        NEW.expires_on, NEW.status, p.name_zh, p.name_latin, p.date_of_birth -- sqlite only
    FROM people p WHERE p.id = NEW.person_id; -- sqlite only
END; -- sqlite only
CREATE TRIGGER document_checks_removed AFTER DELETE ON documents -- sqlite only
BEGIN -- sqlite only
    DELETE FROM document_checks WHERE number = OLD.number AND document_id = OLD.id; -- sqlite only
END; -- sqlite only
CREATE TRIGGER document_checks_holder AFTER UPDATE OF name_zh, name_latin, date_of_birth ON people -- sqlite only
BEGIN -- sqlite only
    UPDATE document_checks SET name_zh = NEW.name_zh, name_latin = NEW.name_latin, -- sqlite only
        date_of_birth = NEW.date_of_birth -- sqlite only
    WHERE (number, document_id) IN (SELECT number, id FROM documents WHERE person_id = NEW.id); -- sqlite only
END; -- sqlite only

-- PostgreSQL: documents added a statement at a time (an import adds thousands in one), the
-- rarer changes a row at a time.
CREATE FUNCTION document_checks_added() RETURNS trigger LANGUAGE plpgsql AS $$ -- postgres only
BEGIN -- postgres only
    INSERT INTO document_checks (number, document_id, person_id, kind, issue_count, issued_on, -- postgres only
        expires_on, status, name_zh, name_latin, date_of_birth) -- postgres only
    SELECT d.number, d.id, d.person_id, d.kind, d.issue_count, d.issued_on, d.expires_on, -- postgres only
        d.status, p.name_zh, p.name_latin, p.date_of_birth -- postgres only
    FROM added d JOIN people p ON p.id = d.person_id; -- postgres only
    RETURN NULL; -- postgres only
END; $$; -- postgres only
CREATE TRIGGER document_checks_added AFTER INSERT ON documents -- postgres only
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION document_checks_added(); -- postgres only
CREATE FUNCTION document_checks_changed() RETURNS trigger LANGUAGE plpgsql AS $$ -- postgres only
BEGIN -- postgres only
    IF TG_OP <> 'INSERT' THEN -- postgres only
        DELETE FROM document_checks WHERE number = OLD.number AND document_id = OLD.id; -- postgres only
    END IF; -- postgres only
    IF TG_OP = 'UPDATE' THEN -- postgres only
        INSERT INTO document_checks (number, document_id, person_id, kind, issue_count, -- postgres only
            issued_on, expires_on, status, name_zh, name_latin, date_of_birth) -- postgres only
        SELECT NEW.number, NEW.id, NEW.person_id, NEW.kind, NEW.issue_count, NEW.issued_on, -- postgres only
            NEW.expires_on, NEW.status, p.name_zh, p.name_latin, p.date_of_birth -- postgres only
        FROM people p WHERE p.id = NEW.person_id; -- postgres only
    END IF; -- postgres only
    RETURN NULL; -- postgres only
END; $$; -- postgres only
CREATE TRIGGER document_checks_changed -- postgres only
AFTER UPDATE OF person_id, kind, number, issue_count, issued_on, expires_on, status OR DELETE -- postgres only
ON documents FOR EACH ROW EXECUTE FUNCTION document_checks_changed(); -- postgres only
CREATE FUNCTION document_checks_holder() RETURNS trigger LANGUAGE plpgsql AS $$ -- postgres only
BEGIN -- postgres only
    UPDATE document_checks SET name_zh = NEW.name_zh, name_latin = NEW.name_latin, -- postgres only
        date_of_birth = NEW.date_of_birth -- postgres only
    WHERE (number, document_id) IN (SELECT number, id FROM documents WHERE person_id = NEW.id); -- postgres only
    RETURN NULL; -- postgres only
END; $$; -- postgres only
CREATE TRIGGER document_checks_holder AFTER UPDATE OF name_zh, name_latin, date_of_birth -- postgres only
ON people FOR EACH ROW EXECUTE FUNCTION document_checks_holder(); -- postgres only
