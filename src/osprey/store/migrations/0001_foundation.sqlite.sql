-- the foundation schema.
create table detectors(
  id integer primary key,
  name text not null unique,
  config text not null,
  created_at integer not null default (strftime('%s','now')));
create table series(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  measure text not null,
  dims text not null,
  label text not null,
  unique(detector_id, measure, dims));
create table points(
  series_id integer not null references series(id) on delete cascade,
  ts integer not null,
  value real, expected real, lower real, upper real, severity real,
  primary key(series_id, ts)) without rowid;
create table anomaly_groups(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  measure text not null,
  ts integer not null,
  end_ts integer not null,
  severity real not null,
  anomaly_count integer not null,
  contributions text not null default '{}',
  root_causes text not null default '[]',
  related text not null default '[]',
  unique(detector_id, measure, ts));
create index anomaly_groups_by_time on anomaly_groups(ts);
create table anomalies(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  series_id integer not null references series(id) on delete cascade,
  group_id integer not null references anomaly_groups(id) on delete cascade,
  ts integer not null,
  value real not null, expected real not null, lower real not null, upper real not null,
  severity real not null,
  direction text not null,
  explanation text not null,
  unique(series_id, ts));
create index anomalies_by_group on anomalies(group_id);
create index anomalies_by_detector_time on anomalies(detector_id, ts);
create table model_state(
  series_id integer primary key references series(id) on delete cascade,
  state blob not null);
create table watermarks(
  detector_id integer primary key references detectors(id) on delete cascade,
  next_ts integer not null);
create table data_quality(
  detector_id integer not null references detectors(id) on delete cascade,
  ts integer not null,
  rows_read integer not null, rows_rejected integer not null, rows_filtered integer not null,
  series_seen integer not null, series_missing integer not null,
  details text not null,
  primary key(detector_id, ts)) without rowid;
