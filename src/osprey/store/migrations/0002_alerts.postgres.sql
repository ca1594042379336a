-- alerts (transactional outbox, rule state) and feedback.
create table alert_outbox(
  id bigserial primary key,
  detector_id bigint not null references detectors(id) on delete cascade,
  alert text not null,
  kind text not null check (kind in ('trigger', 'update', 'resolve')),
  measure text not null,
  group_id bigint not null references anomaly_groups(id) on delete cascade,
  incident_ts bigint not null,
  severity double precision not null,
  idempotency_key text not null unique,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts bigint not null default 0,
  next_attempt_at bigint not null default 0,
  last_error text not null default '',
  created_at bigint not null,
  delivered_at bigint);
create index alert_outbox_by_status on alert_outbox(status, id);
create table alert_state(
  detector_id bigint not null references detectors(id) on delete cascade,
  alert text not null,
  measure text not null,
  state text not null,
  primary key(detector_id, alert, measure));
create table feedback(
  id bigserial primary key,
  detector_id bigint not null references detectors(id) on delete cascade,
  group_id bigint not null,
  series_id bigint not null references series(id) on delete cascade,
  ts bigint not null,
  relevant integer not null,
  direction text not null,
  value double precision not null,
  expected double precision not null,
  created_at bigint not null,
  comment text not null default '',
  author text not null default '');
create index feedback_by_detector on feedback(detector_id, id);
