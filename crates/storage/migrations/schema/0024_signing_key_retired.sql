-- When a signer was retired (`keys retire`): it no longer signs and the trust lists published
-- after that leave it out. Publishing the keys folder again never brings it back.
ALTER TABLE signing_keys ADD COLUMN retired_at BIGINT;
