-- the scheduler: per-detector status, and model/alert-state snapshots for
-- re-scoring restated intervals.
create table detector_status(
  detector_id integer primary key references detectors(id) on delete cascade,
  state text not null,
  last_run_at integer,
  next_run_at integer,
  last_error text not null default '',
  retries integer not null default 0,
  pending_ts integer,
  live_from integer,
  updated_at integer not null);
create table model_snapshots(
  detector_id integer not null references detectors(id) on delete cascade,
  ts integer not null,
  series_id integer not null references series(id) on delete cascade,
  state blob not null,
  primary key(detector_id, ts, series_id)) without rowid;
create table alert_state_snapshots(
  detector_id integer not null references detectors(id) on delete cascade,
  ts integer not null,
  alert text not null,
  measure text not null,
  state text not null,
  primary key(detector_id, ts, alert, measure)) without rowid;
create table snapshot_times(
  detector_id integer not null references detectors(id) on delete cascade,
  ts integer not null,
  primary key(detector_id, ts)) without rowid;
