-- An onboarding can also end failed (a bad export, a step that gave up): record it as such.
ALTER TABLE onboarding_records DROP CONSTRAINT onboarding_records_status_check;
ALTER TABLE onboarding_records ADD CONSTRAINT onboarding_records_status_check
    CHECK (status IN ('in_progress', 'awaiting_approval', 'applied', 'rejected', 'expired', 'failed'));
