-- alerts (transactional outbox, rule state) and feedback.
create table alert_outbox(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  alert text not null,
  kind text not null check (kind in ('trigger', 'update', 'resolve')),
  measure text not null,
  group_id integer not null references anomaly_groups(id) on delete cascade,
  incident_ts integer not null,
  severity real not null,
  idempotency_key text not null unique,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at integer not null default 0,
  last_error text not null default '',
  created_at integer not null,
  delivered_at integer);
create index alert_outbox_by_status on alert_outbox(status, id);
create table alert_state(
  detector_id integer not null references detectors(id) on delete cascade,
  alert text not null,
  measure text not null,
  state text not null,
  primary key(detector_id, alert, measure)) without rowid;
create table feedback(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  group_id integer not null,
  series_id integer not null references series(id) on delete cascade,
  ts integer not null,
  relevant integer not null,
  direction text not null,
  value real not null,
  expected real not null,
  created_at integer not null,
  comment text not null default '',
  author text not null default '');
create index feedback_by_detector on feedback(detector_id, id);
