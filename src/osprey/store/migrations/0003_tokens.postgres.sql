-- API tokens, detector activation.
alter table detectors add column active integer not null default 1;
create table api_tokens(
  id bigserial primary key,
  name text not null,
  role text not null check(role in ('admin', 'viewer')),
  hash text not null unique,
  created_at bigint not null,
  revoked_at bigint);
create index anomaly_groups_by_severity on anomaly_groups(severity);
