-- job_runs protected (DESIGN.md §7.2): a run record is evidence of what billed whom; the runner
-- role must not be able to forge one (insert a run as succeeded), rewrite one (mark a partial run
-- succeeded) or finish another session's run.
--
--   * The session that inserts a run is recorded (backend_pid, backend_start: a pid alone is
--     reused). A role that does not own job_runs (the runner) inserts runs as `running` only.
--   * A running run is finished once, by its own session, to succeeded, partial or failed; the
--     columns that say what was run never change.
--   * The one exception: a run whose session died is marked failed by the next run of the job
--     (JobRunStore.failStaleRuns), which holds that job's advisory lock - proof that no session
--     of the job is alive. The guard checks that lock in pg_locks.
--   * A finished run never changes, whoever asks (the owner included: disable the trigger to
--     repair by hand, and say so in the run's error).
--   * job_run_rows (sql/160) are added only for a running run, by its session (or the owner).
-- The owner of job_runs (the role that migrates; tests and imports insert history) may insert
-- runs of any status and finish a running run.

ALTER TABLE job_runs ADD COLUMN backend_pid integer, ADD COLUMN backend_start timestamptz;

COMMENT ON COLUMN job_runs.backend_pid IS 'The database session that runs it (set by the guard trigger, sql/161)';

-- Whether the current role has the owner's rights on job_runs.
CREATE FUNCTION supportbill_owns_job_runs() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = 'job_runs'::regclass), 'MEMBER')
$$;

-- Whether the current session is the one recorded for the run.
CREATE FUNCTION supportbill_is_run_session(run_pid integer, run_start timestamptz) RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT run_pid = pg_backend_pid()
       AND run_start IS NOT DISTINCT FROM (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())
$$;

CREATE FUNCTION supportbill_guard_job_run() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.backend_pid := pg_backend_pid();
        NEW.backend_start := (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid());
        IF NEW.status <> 'running' AND NOT supportbill_owns_job_runs() THEN
            RAISE EXCEPTION 'a job run is recorded as running when it starts, not as %', NEW.status
                USING ERRCODE = '42501';
        END IF;
        RETURN NEW;
    END IF;

    IF OLD.status <> 'running' THEN
        RAISE EXCEPTION 'job run % is finished (%): a finished run never changes', OLD.id, OLD.status
            USING ERRCODE = '23000';
    END IF;
    IF (NEW.id, NEW.job, NEW.as_of, NEW.period_start, NEW.period_end, NEW.dry_run, NEW.started_at,
        NEW.invoked_by, NEW.host, NEW.pid, NEW.backend_pid, NEW.backend_start)
       IS DISTINCT FROM
       (OLD.id, OLD.job, OLD.as_of, OLD.period_start, OLD.period_end, OLD.dry_run, OLD.started_at,
        OLD.invoked_by, OLD.host, OLD.pid, OLD.backend_pid, OLD.backend_start) THEN
        RAISE EXCEPTION 'job run %: only its end (status, finished_at, stats, error) is recorded later', OLD.id
            USING ERRCODE = '23000';
    END IF;
    IF NEW.status = 'running' THEN
        RAISE EXCEPTION 'job run %: a run is finished once, as succeeded, partial or failed', OLD.id
            USING ERRCODE = '23000';
    END IF;
    IF supportbill_is_run_session(OLD.backend_pid, OLD.backend_start) OR supportbill_owns_job_runs() THEN
        RETURN NEW;
    END IF;
    -- Stale: marked failed by a session that holds the job's advisory lock (JobRunner.lockKey:
    -- class 'SBLL', object = the job's number, a session lock on two int4 keys: objsubid 2).
    IF NEW.status = 'failed' AND EXISTS (
        SELECT 1 FROM pg_locks
         WHERE locktype = 'advisory' AND pid = pg_backend_pid() AND granted AND objsubid = 2
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND classid = 1396853836::bigint::oid
           AND objid = (CASE OLD.job WHEN 'monthly-rollup' THEN 1 WHEN 'threshold-topup' THEN 2
                                     WHEN 'suspension-sweep' THEN 3 WHEN 'incident-grants' THEN 4
                                     WHEN 'contract-expiry-rollover' THEN 5 END)::bigint::oid) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'job run % is run by another session (backend pid %): only that session finishes it, or the next run of % marks it failed once it is gone',
        OLD.id, OLD.backend_pid, OLD.job
        USING ERRCODE = '42501';
END
$$;

CREATE TRIGGER job_runs_guard BEFORE INSERT OR UPDATE ON job_runs
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_job_run();

-- job_run_rows: once per statement (a run's report may be millions of rows).
CREATE FUNCTION supportbill_guard_job_run_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused bigint;
BEGIN
    IF supportbill_owns_job_runs() THEN
        RETURN NULL;
    END IF;
    SELECT r.id INTO refused
      FROM (SELECT DISTINCT run_id FROM inserted) i
      JOIN job_runs r ON r.id = i.run_id
     WHERE r.status <> 'running' OR NOT supportbill_is_run_session(r.backend_pid, r.backend_start)
     LIMIT 1;
    IF refused IS NOT NULL THEN
        RAISE EXCEPTION 'job run %: its report rows are written by its own session before it finishes', refused
            USING ERRCODE = '42501';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER job_run_rows_guard AFTER INSERT ON job_run_rows
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION supportbill_guard_job_run_rows();
