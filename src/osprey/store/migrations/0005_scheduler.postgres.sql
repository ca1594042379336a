-- the scheduler: per-detector status, and model/alert-state snapshots for
-- re-scoring restated intervals.
create table detector_status(
  detector_id bigint primary key references detectors(id) on delete cascade,
  state text not null,
  last_run_at bigint,
  next_run_at bigint,
  last_error text not null default '',
  retries bigint not null default 0,
  pending_ts bigint,
  live_from bigint,
  updated_at bigint not null);
create table model_snapshots(
  detector_id bigint not null references detectors(id) on delete cascade,
  ts bigint not null,
  series_id bigint not null references series(id) on delete cascade,
  state bytea not null,
  primary key(detector_id, ts, series_id));
create table alert_state_snapshots(
  detector_id bigint not null references detectors(id) on delete cascade,
  ts bigint not null,
  alert text not null,
  measure text not null,
  state text not null,
  primary key(detector_id, ts, alert, measure));
create table snapshot_times(
  detector_id bigint not null references detectors(id) on delete cascade,
  ts bigint not null,
  primary key(detector_id, ts));
