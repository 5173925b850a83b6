-- incident-grants (docs/jobs/incident-grants.md): what the job needs beyond the public schema,
-- and the balance functions the helpdesk and the client area call.

-- The payment behind an account grant, so that its reversal can revoke exactly the grants it
-- paid for: the first completed payment (source first_payment), or the payment whose arrival
-- completed the steps of a funds grant (source funds). NULL for every other source.
ALTER TABLE incident_grants ADD COLUMN payment_id bigint;
-- The funds a `funds` grant stands for (whole steps, in the customer's currency at the time):
-- the remaining completed funds must keep covering the sum of these over the active grants.
ALTER TABLE incident_grants ADD COLUMN funds_amount bigint;
ALTER TABLE incident_grants ADD COLUMN funds_currency text REFERENCES currencies (code);
ALTER TABLE incident_grants ADD CONSTRAINT incident_grants_funds_check
    CHECK ((funds_amount IS NULL) = (funds_currency IS NULL) AND (funds_amount IS NULL OR funds_amount > 0));

-- The active account grants (what a payment reversal or a funds shortfall can revoke), and the
-- revoked grants (whose uses are returned): both few, both looked for on every run.
CREATE INDEX incident_grants_active_account_idx ON incident_grants (customer_id) WHERE source IN ('first_payment', 'funds') AND revoked_at IS NULL;
CREATE INDEX incident_grants_revoked_idx ON incident_grants (customer_id, id) WHERE revoked_at IS NOT NULL;

-- A ticket holds at most one incident at a time: a second active use of the same ticket is a
-- bug, never data, so the database refuses it. A returned use frees the ticket to use a new one.
CREATE UNIQUE INDEX incident_uses_one_active_per_ticket ON incident_uses (customer_id, ticket_id) WHERE returned_at IS NULL;
-- Active uses per grant (what is left of a grant = quantity - active uses).
CREATE INDEX incident_uses_active_grant_idx ON incident_uses (customer_id, grant_id) WHERE returned_at IS NULL;

-- Funds added to the account (payments without an invoice), per customer.
CREATE INDEX payments_funds_idx ON payments (customer_id, received_at) WHERE invoice_id IS NULL;

-- The grants of a customer that can serve a ticket opened on `on_date` (the customer's local
-- date), with what is left of each, in the order the job consumes them: time-limited first
-- (earliest valid_until, then oldest), then lifetime (oldest first). Revoked, expired, not yet
-- valid and used-up grants are left out. `on_date` NULL means the customer's local date now.
CREATE FUNCTION incident_availability(p_customer_id bigint, p_on_date date DEFAULT NULL)
RETURNS TABLE (grant_id bigint, source text, service_id bigint, lifetime boolean, valid_from date,
               valid_until date, quantity integer, used integer, available integer)
LANGUAGE sql STABLE AS $$
    WITH day AS (
        SELECT coalesce(p_on_date, (now() AT TIME ZONE c.timezone)::date) AS d
        FROM customers c WHERE c.id = p_customer_id
    )
    SELECT g.id, g.source, g.service_id, g.lifetime, g.valid_from, g.valid_until, g.quantity,
           coalesce(u.used, 0)::integer, (g.quantity - coalesce(u.used, 0))::integer
    FROM incident_grants g
    CROSS JOIN day
    LEFT JOIN LATERAL (
        SELECT count(*) AS used FROM incident_uses u
        WHERE u.customer_id = g.customer_id AND u.grant_id = g.id AND u.returned_at IS NULL
    ) u ON true
    WHERE g.customer_id = p_customer_id
      AND g.revoked_at IS NULL
      AND g.valid_from <= day.d
      AND (g.valid_until IS NULL OR day.d < g.valid_until)
      AND g.quantity > coalesce(u.used, 0)
    ORDER BY g.lifetime, g.valid_until NULLS LAST, g.valid_from, g.id
$$;

-- A customer's available incidents on `on_date` (NULL: the customer's local date now):
-- time-limited, lifetime and their sum.
CREATE FUNCTION incident_balance(p_customer_id bigint, p_on_date date DEFAULT NULL)
RETURNS TABLE (time_limited bigint, lifetime bigint, total bigint)
LANGUAGE sql STABLE AS $$
    SELECT coalesce(sum(a.available) FILTER (WHERE NOT a.lifetime), 0)::bigint,
           coalesce(sum(a.available) FILTER (WHERE a.lifetime), 0)::bigint,
           coalesce(sum(a.available), 0)::bigint
    FROM incident_availability(p_customer_id, p_on_date) a
$$;
