-- The supervisor's purge of the session journal (SessionJournal.PurgeAsync) reads only steps older than a day, through
-- this index. It used to test every step for a call record and an opening on every supervision round: with 200,000
-- calls in progress that was 0.65-0.74 s of PostgreSQL every Supervision:IntervalSeconds, growing with the calls. The
-- table holds only the steps of calls in progress (a closing deletes its own), so building the index is short.
CREATE INDEX session_steps_recorded ON session_steps (recorded_at);
