-- Performance (issue 9): what the benchmark against the SQL floor showed the jobs need.
-- See docs/benchmark.md.

-- monthly-rollup aggregates the usage of every customer's window in one pass (instead of one
-- pass over the entries' pages per batch of customers): the window's entries by time, whatever
-- the length of the history before it.
CREATE INDEX time_entries_worked_idx ON time_entries (worked_at);
