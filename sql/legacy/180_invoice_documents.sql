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
    ADD COLUMN tax_total           bigint NOT NULL DEFAULT 0,
    -- Net, derived: jobs write the gross total (what payments settle) and the tax; the net
    -- can never disagree with them.
    ADD COLUMN subtotal            bigint GENERATED ALWAYS AS (total - tax_total) STORED,
    ADD COLUMN tax_note            text,
    ADD COLUMN corrects_invoice_id bigint;

-- What was issued before numbers existed is numbered now, in the order it was issued, so every
-- counter starts gap-free (what was billed before taxes existed was untaxed: tax_total 0).
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
    -- Deferred to the commit: a dry run's preview numbers (which may equal those a real run is
    -- giving at the same moment) never wait for that run nor fail on it, since a dry run never
    -- commits; a real run's numbers are checked when its batch commits.
    ADD CONSTRAINT invoices_number_key UNIQUE (number) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT invoices_number_value_key UNIQUE (number_series, number_credit_note, number_year, number_value)
        DEFERRABLE INITIALLY DEFERRED,
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
-- Numbering
-- ---------------------------------------------------------------------------------------------

-- An invoice's number as its series prints it: the prefix with {YYYY} replaced, then the value
-- left-padded with zeros to `padding` digits, never cut (lpad alone would cut a longer value).
CREATE FUNCTION supportbill_format_invoice_number(prefix text, padding integer, year integer, value bigint)
RETURNS text LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT replace(prefix, '{YYYY}', year::text)
           || CASE WHEN length(value::text) >= padding THEN value::text ELSE lpad(value::text, padding, '0') END
$$;

-- Numbers an invoice as it is issued (a draft becoming issued, or a row inserted issued): the
-- next value of its counter (series of the customer, credit note when the total is negative,
-- year when the series resets yearly). Every path that issues an invoice goes through here, the
-- jobs' set-based issuing statements and an invoice issued by hand alike, so no issued invoice
-- is ever without a number.
--
-- The counter row stays locked until the issuing transaction ends: a batch that rolls back gives
-- its numbers back, and two transactions issuing at once take turns (docs/invoices.md).
-- Within a counter the numbers increase with issued_at: an invoice issued as of an instant
-- before the counter's last issue (finance re-running an old period) is issued at that last
-- issue's instant, never backdated before a number already given out.
--
-- A dry run sets supportbill.preview_numbers: its numbers come from a copy of the counters
-- private to its transaction, so a preview shows the numbers a real run would give without
-- locking the counters a timer's real run needs (and the UNIQUE checks are deferred to a commit
-- that a dry run never makes).
CREATE FUNCTION supportbill_number_invoice() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_series       invoice_series;
    v_zone         text;
    v_local_year   integer;
    v_counter_year integer;
    v_credit_note  boolean := NEW.total < 0;
    v_next_value   bigint;
    v_last_issue   timestamptz;
BEGIN
    IF NEW.issued_at IS NULL THEN
        RAISE EXCEPTION 'invoice % is issued without issued_at', NEW.id USING ERRCODE = 'not_null_violation';
    END IF;
    SELECT s.code, s.prefix, s.padding, s.reset_yearly, s.credit_note_prefix, c.timezone
      INTO v_series.code, v_series.prefix, v_series.padding, v_series.reset_yearly, v_series.credit_note_prefix, v_zone
      FROM customers c JOIN invoice_series s ON s.code = COALESCE(c.invoice_series, 'default')
     WHERE c.id = NEW.customer_id;
    -- The local year only where the series uses it, and UTC's for a zone PostgreSQL does not
    -- know (such a customer is skipped by every job; an invoice issued by hand still gets its
    -- number).
    IF v_series.reset_yearly OR v_series.prefix LIKE '%{YYYY}%' OR v_series.credit_note_prefix LIKE '%{YYYY}%' THEN
        BEGIN
            v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE v_zone))::integer;
        EXCEPTION WHEN invalid_parameter_value THEN
            v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE 'UTC'))::integer;
        END;
    ELSE
        v_local_year := extract(year FROM (NEW.issued_at AT TIME ZONE 'UTC'))::integer;
    END IF;
    v_counter_year := CASE WHEN v_series.reset_yearly THEN v_local_year ELSE 0 END;

    IF current_setting('supportbill.preview_numbers', true) = 'on' THEN
        CREATE TEMPORARY TABLE IF NOT EXISTS supportbill_counter_preview (LIKE invoice_counters INCLUDING ALL) ON COMMIT DROP;
        INSERT INTO supportbill_counter_preview
        SELECT c.* FROM invoice_counters c
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        ON CONFLICT DO NOTHING;
        INSERT INTO supportbill_counter_preview (series, credit_note, year, last_value, last_issued_at)
        VALUES (v_series.code, v_credit_note, v_counter_year, 0, '-infinity')
        ON CONFLICT DO NOTHING;
        UPDATE supportbill_counter_preview c
           SET last_value = c.last_value + 1, last_issued_at = greatest(c.last_issued_at, NEW.issued_at)
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        RETURNING c.last_value, c.last_issued_at INTO v_next_value, v_last_issue;
    ELSE
        INSERT INTO invoice_counters (series, credit_note, year, last_value, last_issued_at)
        VALUES (v_series.code, v_credit_note, v_counter_year, 0, '-infinity')
        ON CONFLICT DO NOTHING;
        UPDATE invoice_counters c
           SET last_value = c.last_value + 1, last_issued_at = greatest(c.last_issued_at, NEW.issued_at)
         WHERE (c.series, c.credit_note, c.year) = (v_series.code, v_credit_note, v_counter_year)
        RETURNING c.last_value, c.last_issued_at INTO v_next_value, v_last_issue;
    END IF;

    NEW.issued_at := v_last_issue;
    NEW.number := supportbill_format_invoice_number(
        CASE WHEN v_credit_note THEN v_series.credit_note_prefix ELSE v_series.prefix END, v_series.padding, v_local_year, v_next_value);
    NEW.number_series := v_series.code;
    NEW.number_credit_note := v_credit_note;
    NEW.number_year := v_counter_year;
    NEW.number_value := v_next_value;
    RETURN NEW;
END
$$;

-- Fires after the guard (triggers fire in name order: "immutable" < "number"), which has checked
-- that the draft adds up before it is numbered.
CREATE TRIGGER invoices_number_when_issued
    BEFORE INSERT OR UPDATE OF status ON invoices
    FOR EACH ROW WHEN (NEW.status <> 'draft' AND NEW.number IS NULL)
    EXECUTE FUNCTION supportbill_number_invoice();

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
               NEW.due_on, NEW.total, NEW.tax_total, NEW.tax_note, NEW.source_key, NEW.run_id,
               NEW.number, NEW.number_series, NEW.number_credit_note, NEW.number_year, NEW.number_value,
               NEW.corrects_invoice_id)
           IS DISTINCT FROM
           ROW(OLD.id, OLD.customer_id, OLD.currency, OLD.kind, OLD.period_start, OLD.period_end, OLD.issued_at,
               OLD.due_on, OLD.total, OLD.tax_total, OLD.tax_note, OLD.source_key, OLD.run_id,
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
        -- NEW.subtotal is generated after BEFORE triggers run: compute it.
        IF items_total <> NEW.total - NEW.tax_total THEN
            RAISE EXCEPTION 'invoice % would be issued with subtotal % but its items sum to %', NEW.id, NEW.total - NEW.tax_total, items_total
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
-- A draft's tax and the invoice it corrects; the number is set by the trigger as it is issued.
GRANT UPDATE (tax_total, tax_note, corrects_invoice_id) ON invoices TO supportbill_runner;
GRANT UPDATE (tax_rate, tax_percent) ON billable_items TO supportbill_runner;
GRANT EXECUTE ON FUNCTION supportbill_format_invoice_number(text, integer, integer, bigint) TO supportbill_runner;
