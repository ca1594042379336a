-- the foundation schema.
create table detectors(
  id bigserial primary key,
  name text not null unique,
  config text not null,
  created_at bigint not null default extract(epoch from now())::bigint);
create table series(
  id bigserial primary key,
  detector_id bigint not null references detectors(id) on delete cascade,
  measure text not null,
  dims text not null,
  label text not null,
  unique(detector_id, measure, dims));
create table points(
  series_id bigint not null references series(id) on delete cascade,
  ts bigint not null,
  value double precision, expected double precision, lower double precision,
  upper double precision, severity double precision,
  primary key(series_id, ts));
create table anomaly_groups(
  id bigserial primary key,
  detector_id bigint not null references detectors(id) on delete cascade,
  measure text not null,
  ts bigint not null,
  end_ts bigint not null,
  severity double precision not null,
  anomaly_count bigint not null,
  contributions text not null default '{}',
  root_causes text not null default '[]',
  related text not null default '[]',
  unique(detector_id, measure, ts));
create index anomaly_groups_by_time on anomaly_groups(ts);
create table anomalies(
  id bigserial primary key,
  detector_id bigint not null references detectors(id) on delete cascade,
  series_id bigint not null references series(id) on delete cascade,
  group_id bigint not null references anomaly_groups(id) on delete cascade,
  ts bigint not null,
  value double precision not null, expected double precision not null,
  lower double precision not null, upper double precision not null,
  severity double precision not null,
  direction text not null,
  explanation text not null,
  unique(series_id, ts));
create index anomalies_by_group on anomalies(group_id);
create index anomalies_by_detector_time on anomalies(detector_id, ts);
create table model_state(
  series_id bigint primary key references series(id) on delete cascade,
  state bytea not null);
create table watermarks(
  detector_id bigint primary key references detectors(id) on delete cascade,
  next_ts bigint not null);
create table data_quality(
  detector_id bigint not null references detectors(id) on delete cascade,
  ts bigint not null,
  rows_read bigint not null, rows_rejected bigint not null, rows_filtered bigint not null,
  series_seen bigint not null, series_missing bigint not null,
  details text not null,
  primary key(detector_id, ts));
