-- Invoices a finance team can send: numbers, taxes, credit notes that name what they correct
-- (DESIGN.md §7.3; docs/invoices.md has the rules with worked examples).

-- ---------------------------------------------------------------------------------------------
-- Inputs: tax rates and invoice series, and what each customer uses.
-- ---------------------------------------------------------------------------------------------

-- A rate in percent with four decimals (19.0000, 8.8750). Editing a rate never re-taxes what
-- was billed: items keep the percent they were billed at (billable_items.tax_percent).
CREATE TABLE tax_rates (
    code text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_.-]{1,32}$'),
    name text NOT NULL,
    rate numeric(7, 4) NOT NULL CHECK (rate >= 0 AND rate < 1000)
);

-- How invoices are numbered. `prefix` may hold {YYYY} (the customer's local year of issue);
-- credit notes (a negative total) have their own counter and prefix. reset_yearly starts both
-- counters at 1 every year (the prefix should then hold {YYYY}, or two years share numbers).
CREATE TABLE invoice_series (
    code               text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9_.-]{1,32}$'),
    prefix             text NOT NULL,
    padding            integer NOT NULL DEFAULT 6 CHECK (padding BETWEEN 0 AND 18),
    reset_yearly       boolean NOT NULL DEFAULT false,
    credit_note_prefix text NOT NULL,
    CHECK (prefix <> credit_note_prefix),
    CHECK (NOT reset_yearly OR (prefix LIKE '%{YYYY}%' AND credit_note_prefix LIKE '%{YYYY}%'))
);
INSERT INTO invoice_series (code, prefix, padding, reset_yearly, credit_note_prefix)
VALUES ('default', 'INV-', 6, false, 'CN-')
ON CONFLICT (code) DO NOTHING;

ALTER TABLE customers
    ADD COLUMN invoice_series text REFERENCES invoice_series (code),  -- NULL: 'default'
    ADD COLUMN tax_rate       text REFERENCES tax_rates (code),       -- NULL: no tax
    ADD COLUMN tax_note       text;                                   -- printed on its invoices

-- ---------------------------------------------------------------------------------------------
-- Counters: one row per series, kind of document and (with reset_yearly) year. A number is
-- taken in the transaction that issues the invoice: the row stays locked until that transaction
-- ends, so a rolled-back batch, a killed run or a retry gives its numbers back and two jobs
-- issuing at once take turns. That is what makes the numbers gap-free (docs/invoices.md).
-- ---------------------------------------------------------------------------------------------
CREATE TABLE invoice_counters (
    series         text NOT NULL REFERENCES invoice_series (code),
    credit_note    boolean NOT NULL,
    year           integer NOT NULL,          -- 0 unless the series resets yearly
    last_value     bigint NOT NULL CHECK (last_value >= 0),
    last_issued_at timestamptz NOT NULL,
    PRIMARY KEY (series, credit_note, year)
);

-- ---------------------------------------------------------------------------------------------
-- Outputs: invoices get a number, net, tax and gross; items keep their rate.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE invoices
    ADD COLUMN number              text,
    ADD COLUMN number_series       text,
    ADD COLUMN number_credit_note  boolean,
    ADD COLUMN number_year         integer,
    ADD COLUMN number_value        bigint,
    ADD COLUMN subtotal            bigint,
    ADD COLUMN tax_total           bigint NOT NULL DEFAULT 0,
    ADD COLUMN tax_note            text,
    ADD COLUMN corrects_invoice_id bigint;

-- What was issued before numbers existed is numbered now, in the order it was issued, so every
-- counter starts gap-free; what was billed before taxes existed was untaxed.
UPDATE invoices SET subtotal = total;
WITH ordered AS (
    SELECT id, total < 0 AS credit_note,
           row_number() OVER (PARTITION BY total < 0 ORDER BY issued_at, id) AS value
      FROM invoices WHERE status <> 'draft'
)
UPDATE invoices i
   SET number = CASE WHEN o.credit_note THEN 'CN-' ELSE 'INV-' END || lpad(o.value::text, 6, '0'),
       number_series = 'default', number_credit_note = o.credit_note, number_year = 0, number_value = o.value
  FROM ordered o WHERE i.id = o.id;
INSERT INTO invoice_counters (series, credit_note, year, last_value, last_issued_at)
SELECT 'default', number_credit_note, 0, max(number_value), max(issued_at)
  FROM invoices WHERE number IS NOT NULL GROUP BY number_credit_note;

ALTER TABLE invoices
    ALTER COLUMN subtotal SET NOT NULL,
    -- Deferred to the commit: a dry run's preview numbers (which may equal those a real run is
    -- giving at the same moment) never wait for that run nor fail on it, since a dry run never
    -- commits; a real run's numbers are checked when its batch commits.
    ADD CONSTRAINT invoices_number_key UNIQUE (number) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT invoices_number_value_key UNIQUE (number_series, number_credit_note, number_year, number_value)
        DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT invoices_total_is_gross CHECK (total = subtotal + tax_total),
    ADD CONSTRAINT invoices_issued_have_numbers CHECK (status = 'draft' OR (number IS NOT NULL AND number_value IS NOT NULL)),
    ADD CONSTRAINT invoices_drafts_have_no_number CHECK (status <> 'draft' OR number IS NULL),
    ADD CONSTRAINT invoices_corrects_fkey FOREIGN KEY (customer_id, corrects_invoice_id) REFERENCES invoices (customer_id, id);

ALTER TABLE billable_items
    ADD COLUMN tax_rate    text,             -- the tax_rates.code it was billed at, NULL: untaxed
    ADD COLUMN tax_percent numeric(7, 4),    -- the percent it had then
    ADD CONSTRAINT billable_items_tax_both CHECK ((tax_rate IS NULL) = (tax_percent IS NULL));

-- The tax of an invoice, one row per rate: base = the sum of the rate's item amounts,
-- tax = roundHalfUp(base × percent / 100), computed by BillingCore (MoneyMath.tax) and checked
-- here to add up when the invoice is issued.
CREATE TABLE invoice_taxes (
    customer_id bigint NOT NULL REFERENCES customers (id),
    invoice_id  bigint NOT NULL,
    tax_rate    text NOT NULL,
    tax_percent numeric(7, 4) NOT NULL,
    base        bigint NOT NULL,
    tax         bigint NOT NULL,
    PRIMARY KEY (customer_id, invoice_id, tax_rate, tax_percent),
    FOREIGN KEY (customer_id, invoice_id) REFERENCES invoices (customer_id, id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Issuing: the one statement every job issues invoices with.
-- ---------------------------------------------------------------------------------------------

-- An invoice's number as its series prints it: the prefix with {YYYY} replaced, then the value
-- left-padded with zeros to `padding` digits, never cut (lpad alone would cut a longer value).
CREATE FUNCTION supportbill_format_invoice_number(prefix text, padding integer, year integer, value bigint)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT replace(prefix, '{YYYY}', year::text)
           || CASE WHEN length(value::text) >= padding THEN value::text ELSE lpad(value::text, padding, '0') END
$$;

-- Issues the given drafts (ids with their due dates) as of `issued_at`, numbering each in its
-- series' counter (a negative total is a credit note, counted apart) in the order customer, id.
-- Returns every invoice it issued with its number and the instant it was issued at.
--
-- Within a counter the numbers increase with issued_at: an invoice issued by a run whose as_of
-- lies before the counter's last issue (finance re-running a past period) is issued at that last
-- issue's instant, never backdated before a number already given out.
--
-- `preview` (dry runs) takes the same steps on a copy of the counters private to the session and
-- its transaction, so a dry run shows the numbers a real run would give without locking the
-- counters that a timer's real run needs at the same time.
CREATE FUNCTION supportbill_issue_invoices(p_ids bigint[], p_due_ons date[], p_issued_at timestamptz, p_preview boolean)
RETURNS TABLE (invoice_id bigint, number text, issued_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
    CREATE TEMPORARY TABLE IF NOT EXISTS supportbill_issuing (
        id bigint PRIMARY KEY, customer_id bigint, due_on date, series text, credit_note boolean, year integer,
        prefix text, padding integer, print_year integer, rank bigint, value bigint, at timestamptz
    ) ON COMMIT DROP;
    TRUNCATE supportbill_issuing;
    INSERT INTO supportbill_issuing (id, customer_id, due_on, series, credit_note, year, prefix, padding, print_year)
    SELECT i.id, i.customer_id, x.due_on, s.code, i.total < 0,
           CASE WHEN s.reset_yearly THEN extract(year FROM ($3 AT TIME ZONE c.timezone))::int ELSE 0 END,
           CASE WHEN i.total < 0 THEN s.credit_note_prefix ELSE s.prefix END, s.padding,
           extract(year FROM ($3 AT TIME ZONE c.timezone))::int
      FROM unnest($1, $2) AS x(id, due_on)
      JOIN invoices i ON i.id = x.id AND i.status = 'draft'
      JOIN customers c ON c.id = i.customer_id
      JOIN invoice_series s ON s.code = COALESCE(c.invoice_series, 'default');
    UPDATE supportbill_issuing t SET rank = r.rank
      FROM (SELECT id, row_number() OVER (PARTITION BY series, credit_note, year ORDER BY customer_id, id) AS rank
              FROM supportbill_issuing) r
     WHERE r.id = t.id;

    IF p_preview THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS supportbill_counter_preview (LIKE invoice_counters INCLUDING ALL) ON COMMIT DROP;
        INSERT INTO supportbill_counter_preview
        SELECT c.* FROM invoice_counters c
         WHERE (c.series, c.credit_note, c.year) IN (SELECT series, credit_note, year FROM supportbill_issuing)
        ON CONFLICT DO NOTHING;
        INSERT INTO supportbill_counter_preview (series, credit_note, year, last_value, last_issued_at)
        SELECT DISTINCT series, credit_note, year, 0, '-infinity'::timestamptz FROM supportbill_issuing
        ON CONFLICT DO NOTHING;
        UPDATE supportbill_issuing t
           SET value = p.last_value + t.rank, at = greatest($3, p.last_issued_at)
          FROM supportbill_counter_preview p
         WHERE (p.series, p.credit_note, p.year) = (t.series, t.credit_note, t.year);
        UPDATE supportbill_counter_preview p
           SET last_value = p.last_value + n.count, last_issued_at = greatest($3, p.last_issued_at)
          FROM (SELECT series, credit_note, year, count(*) AS count FROM supportbill_issuing GROUP BY 1, 2, 3) n
         WHERE (p.series, p.credit_note, p.year) = (n.series, n.credit_note, n.year);
    ELSE
        -- Every counter this statement needs exists, then is locked in one order (never a
        -- deadlock between two issuers), until the transaction ends.
        INSERT INTO invoice_counters (series, credit_note, year, last_value, last_issued_at)
        SELECT DISTINCT series, credit_note, year, 0, '-infinity'::timestamptz FROM supportbill_issuing
        ON CONFLICT DO NOTHING;
        PERFORM 1 FROM invoice_counters c
          WHERE (c.series, c.credit_note, c.year) IN (SELECT series, credit_note, year FROM supportbill_issuing)
          ORDER BY c.series, c.credit_note, c.year
            FOR UPDATE;
        UPDATE supportbill_issuing t
           SET value = c.last_value + t.rank, at = greatest($3, c.last_issued_at)
          FROM invoice_counters c
         WHERE (c.series, c.credit_note, c.year) = (t.series, t.credit_note, t.year);
        UPDATE invoice_counters c
           SET last_value = c.last_value + n.count, last_issued_at = greatest($3, c.last_issued_at)
          FROM (SELECT series, credit_note, year, count(*) AS count FROM supportbill_issuing GROUP BY 1, 2, 3) n
         WHERE (c.series, c.credit_note, c.year) = (n.series, n.credit_note, n.year);
    END IF;

    RETURN QUERY
    WITH issued AS (
        UPDATE invoices i
           SET status = 'issued', issued_at = t.at, due_on = t.due_on,
               number = supportbill_format_invoice_number(t.prefix, t.padding, t.print_year, t.value),
               number_series = t.series, number_credit_note = t.credit_note, number_year = t.year, number_value = t.value
          FROM supportbill_issuing t
         WHERE i.id = t.id AND i.status = 'draft'
        RETURNING i.id, i.number, i.issued_at
    )
    SELECT * FROM issued;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Guards (001 and 110 have the rules these extend): once issued, an invoice's number, net, tax
-- and the invoice it corrects never change either; issuing checks that net, tax and gross add up
-- with the items and the tax rows; the tax rows of an issued invoice never change.
-- ---------------------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION supportbill_guard_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    items_total bigint;
    taxes_total bigint;
    mismatched text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'invoice % is %: issued invoices cannot be deleted', OLD.id, OLD.status
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Correct it with an adjustment invoice or a credit note.';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status = 'void' AND NEW IS DISTINCT FROM OLD THEN
        RAISE EXCEPTION 'invoice % is void: it cannot change', OLD.id
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Issue a new invoice instead.';
    END IF;
    IF OLD.status <> 'draft' AND (
           ROW(NEW.id, NEW.customer_id, NEW.currency, NEW.kind, NEW.period_start, NEW.period_end, NEW.issued_at,
               NEW.due_on, NEW.total, NEW.subtotal, NEW.tax_total, NEW.tax_note, NEW.source_key, NEW.run_id,
               NEW.number, NEW.number_series, NEW.number_credit_note, NEW.number_year, NEW.number_value,
               NEW.corrects_invoice_id)
           IS DISTINCT FROM
           ROW(OLD.id, OLD.customer_id, OLD.currency, OLD.kind, OLD.period_start, OLD.period_end, OLD.issued_at,
               OLD.due_on, OLD.total, OLD.subtotal, OLD.tax_total, OLD.tax_note, OLD.source_key, OLD.run_id,
               OLD.number, OLD.number_series, OLD.number_credit_note, OLD.number_year, OLD.number_value,
               OLD.corrects_invoice_id)
        OR NEW.status = 'draft') THEN
        RAISE EXCEPTION 'invoice % is %: only its status may change', OLD.id, OLD.status
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'Correct it with an adjustment invoice or a credit note.';
    END IF;
    IF OLD.status = 'draft' AND NEW.status IN ('issued', 'paid') THEN
        -- The items' trigger locks this row (FOR SHARE) before it adds, changes or removes an
        -- item of the draft, and this UPDATE holds the row: a transaction adding an item and
        -- one issuing the draft run one after the other, and this sum sees the other's items.
        SELECT COALESCE(sum(b.amount), 0) INTO items_total
          FROM billable_items b WHERE b.customer_id = NEW.customer_id AND b.invoice_id = NEW.id;
        IF items_total <> NEW.subtotal THEN
            RAISE EXCEPTION 'invoice % would be issued with subtotal % but its items sum to %', NEW.id, NEW.subtotal, items_total
                USING ERRCODE = 'integrity_constraint_violation',
                      HINT = 'Correct the draft''s total or its items before issuing it.';
        END IF;
        SELECT COALESCE(sum(t.tax), 0) INTO taxes_total
          FROM invoice_taxes t WHERE t.customer_id = NEW.customer_id AND t.invoice_id = NEW.id;
        IF taxes_total <> NEW.tax_total THEN
            RAISE EXCEPTION 'invoice % would be issued with tax_total % but its tax rows sum to %', NEW.id, NEW.tax_total, taxes_total
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        -- Every rate's base is the sum of its items, and every taxed item has its rate's row.
        SELECT format('rate %s %s%%: base %s, items %s', COALESCE(t.tax_rate, b.tax_rate), COALESCE(t.tax_percent, b.tax_percent),
                      COALESCE(t.base, 0), COALESCE(b.base, 0))
          INTO mismatched
          FROM (SELECT tax_rate, tax_percent, base FROM invoice_taxes WHERE customer_id = NEW.customer_id AND invoice_id = NEW.id) t
          FULL JOIN (SELECT tax_rate, tax_percent, sum(amount) AS base FROM billable_items
                      WHERE customer_id = NEW.customer_id AND invoice_id = NEW.id AND tax_rate IS NOT NULL
                      GROUP BY tax_rate, tax_percent) b
            ON b.tax_rate = t.tax_rate AND b.tax_percent = t.tax_percent
         WHERE t.base IS DISTINCT FROM b.base
         LIMIT 1;
        IF mismatched IS NOT NULL THEN
            RAISE EXCEPTION 'invoice % would be issued with tax rows that do not match its items: %', NEW.id, mismatched
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    RETURN NEW;
END
$$;

CREATE FUNCTION supportbill_guard_invoice_tax() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    locked_status text;
BEGIN
    SELECT status INTO locked_status FROM invoices
     WHERE id = COALESCE(NEW.invoice_id, OLD.invoice_id) FOR SHARE;
    IF locked_status IS DISTINCT FROM 'draft' AND (TG_OP <> 'DELETE' OR locked_status IS NOT NULL) THEN
        RAISE EXCEPTION 'invoice % is %: its tax rows cannot change', COALESCE(NEW.invoice_id, OLD.invoice_id), locked_status
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoice_taxes_immutable_when_issued
    BEFORE INSERT OR UPDATE OR DELETE ON invoice_taxes
    FOR EACH ROW EXECUTE FUNCTION supportbill_guard_invoice_tax();

-- ---------------------------------------------------------------------------------------------
-- The runner: reads the new inputs, numbers and taxes invoices, keeps a draft's tax rows.
-- ---------------------------------------------------------------------------------------------
GRANT SELECT ON tax_rates, invoice_series TO supportbill_runner;
GRANT SELECT, INSERT, UPDATE (last_value, last_issued_at) ON invoice_counters TO supportbill_runner;
GRANT SELECT, INSERT, DELETE ON invoice_taxes TO supportbill_runner;
GRANT UPDATE (number, number_series, number_credit_note, number_year, number_value, subtotal, tax_total, tax_note,
              corrects_invoice_id)
    ON invoices TO supportbill_runner;
GRANT UPDATE (tax_rate, tax_percent) ON billable_items TO supportbill_runner;
GRANT EXECUTE ON FUNCTION supportbill_issue_invoices(bigint[], date[], timestamptz, boolean),
                          supportbill_format_invoice_number(text, integer, integer, bigint)
    TO supportbill_runner;
