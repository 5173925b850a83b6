-- The cut-over (docs/operations.md "Cut-over"): the first local date supportbill bills. A
-- provider whose earlier months were billed by another system sets it once, before the first
-- run, so that no job bills that history again: no job emits anything for time worked, fee or
-- grant periods starting, payments received or tickets opened before it (each job's doc says
-- what that means for it). No row: no cut-over, every job bills the whole history.
--
-- One row at most (the key can only be true). Setting it is an operator's act
-- (`supportbill cutover --set`, as the schema's owner); the jobs only read it.
CREATE TABLE billing_cutover (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    cutover   date NOT NULL,
    set_at    timestamptz NOT NULL DEFAULT now(),
    set_by    text NOT NULL DEFAULT session_user
);

COMMENT ON TABLE billing_cutover IS
    'The first local date supportbill bills (supportbill cutover); at most one row';

GRANT SELECT ON billing_cutover TO supportbill_runner;
