-- A paged detector's model states as changes from their stored state: an
-- interval changes few bytes of a state, and rewriting every state whole
-- wrote gigabytes per interval at a million series (state-store.md,
-- "Model state deltas").
create table model_state_delta(
  series_id integer primary key references model_state(series_id) on delete cascade,
  delta blob not null);
