-- API tokens, detector activation.
alter table detectors add column active integer not null default 1;
create table api_tokens(
  id integer primary key,
  name text not null,
  role text not null check(role in ('admin', 'viewer')),
  hash text not null unique,
  created_at integer not null,
  revoked_at integer);
create index anomaly_groups_by_severity on anomaly_groups(severity);
