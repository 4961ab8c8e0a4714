-- Source health: when a source last answered, how many reads in a row have failed, until when an
-- automatic `read update` leaves a failing source alone (exponential back-off, at most a week), and
-- whether the researcher muted it (still followed and listed, not refreshed until unmuted).
ALTER TABLE sources ADD COLUMN last_success TEXT;
ALTER TABLE sources ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sources ADD COLUMN retry_after TEXT;
ALTER TABLE sources ADD COLUMN muted INTEGER NOT NULL DEFAULT 0 CHECK (muted IN (0, 1));
