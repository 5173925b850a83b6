-- Helpers for the demo data set. `supportbill demo` sets supportbill.demo_month to the first day
-- of the demo month (by default the last closed month), so the data always describes a recent
-- month: demo.day(5) is the 5th of that month, demo.at(5, '10:15', 'Europe/Berlin') is 10:15
-- Berlin time on that day. demo.day(0) is the last day of the month before.
CREATE SCHEMA demo;

CREATE FUNCTION demo.month_start() RETURNS date LANGUAGE sql STABLE
    AS $$ SELECT current_setting('supportbill.demo_month')::date $$;

CREATE FUNCTION demo.day(n integer) RETURNS date LANGUAGE sql STABLE
    AS $$ SELECT demo.month_start() + (n - 1) $$;

CREATE FUNCTION demo.at(n integer, t time, tz text DEFAULT 'UTC') RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT (demo.day(n) + t) AT TIME ZONE tz $$;

-- The last day of the demo month.
CREATE FUNCTION demo.month_end() RETURNS date LANGUAGE sql STABLE
    AS $$ SELECT (demo.month_start() + interval '1 month' - interval '1 day')::date $$;

-- An instant at local time t on date d in time zone tz.
CREATE FUNCTION demo.at_date(d date, t time, tz text DEFAULT 'UTC') RETURNS timestamptz LANGUAGE sql STABLE
    AS $$ SELECT (d + t) AT TIME ZONE tz $$;
