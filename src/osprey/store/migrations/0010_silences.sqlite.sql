-- silences, the outbox status "silenced" for a message a silence held back,
-- and the kinds failing / failing_resolve.
-- (SQLite cannot relax a column or check constraint in place: the table is
-- copied.)
create table silences(
  id integer primary key,
  detector text not null,
  measure text not null,
  matchers text not null,
  starts_at integer not null,
  ends_at integer not null,
  comment text not null,
  created_by text not null,
  created_at integer not null);
create table alert_outbox_v9(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  alert text not null,
  kind text not null check (kind in ('trigger', 'update', 'resolve', 'no_data', 'no_data_resolve',
    'failing', 'failing_resolve')),
  measure text not null,
  group_id integer references anomaly_groups(id) on delete cascade,
  incident_ts integer not null,
  severity real not null,
  idempotency_key text not null unique,
  status text not null default 'pending'
    check (status in ('pending', 'delivered', 'dead', 'silenced')),
  attempts integer not null default 0,
  next_attempt_at integer not null default 0,
  last_error text not null default '',
  created_at integer not null,
  delivered_at integer);
insert into alert_outbox_v9 select id, detector_id, alert, kind, measure, group_id, incident_ts,
  severity, idempotency_key, status, attempts, next_attempt_at, last_error, created_at,
  delivered_at from alert_outbox;
drop table alert_outbox;
alter table alert_outbox_v9 rename to alert_outbox;
create index alert_outbox_by_status on alert_outbox(status, id);
