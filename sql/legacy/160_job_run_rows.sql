-- The rows of each finished run's report, as it printed them, for `supportbill runs show RUN_ID`
-- (DESIGN.md §7.2): a unit prints only the summary to the journal; the whole report stays here.
-- The head of the report is job_runs.stats. `record` is the runner's exact byte form of one
-- report row (BillingJobs ReportRecordCodec: decimals stay decimals, keys keep their order),
-- written in the transaction that finishes the run; `position` is the row's place in its section.
-- Append-only for the runner, like the other ledgers; retention is the operator's (DELETE as
-- the owner: nothing refers to these rows).
CREATE TABLE job_run_rows (
    run_id   bigint  NOT NULL REFERENCES job_runs (id),
    section  text    NOT NULL CHECK (section IN ('invoices', 'items', 'ledger', 'grants', 'uses', 'charges', 'events')),
    position integer NOT NULL CHECK (position >= 0),
    record   bytea   NOT NULL,
    PRIMARY KEY (run_id, section, position)
);

GRANT SELECT, INSERT ON job_run_rows TO supportbill_runner;
