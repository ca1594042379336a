-- no-data alerts: outbox messages about a detector's feed, with no group.
-- (SQLite cannot relax a column or check constraint in place: the table is
-- copied.)
create table alert_outbox_v7(
  id integer primary key,
  detector_id integer not null references detectors(id) on delete cascade,
  alert text not null,
  kind text not null check (kind in ('trigger', 'update', 'resolve', 'no_data', 'no_data_resolve')),
  measure text not null,
  group_id integer references anomaly_groups(id) on delete cascade,
  incident_ts integer not null,
  severity real not null,
  idempotency_key text not null unique,
  status text not null default 'pending' check (status in ('pending', 'delivered', 'dead')),
  attempts integer not null default 0,
  next_attempt_at integer not null default 0,
  last_error text not null default '',
  created_at integer not null,
  delivered_at integer);
insert into alert_outbox_v7 select id, detector_id, alert, kind, measure, group_id, incident_ts,
  severity, idempotency_key, status, attempts, next_attempt_at, last_error, created_at,
  delivered_at from alert_outbox;
drop table alert_outbox;
alter table alert_outbox_v7 rename to alert_outbox;
create index alert_outbox_by_status on alert_outbox(status, id);
