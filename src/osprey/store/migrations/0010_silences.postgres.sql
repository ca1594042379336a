-- silences, the outbox status "silenced" for a message a silence held back,
-- and the kinds failing / failing_resolve.
create table silences(
  id bigserial primary key,
  detector text not null,
  measure text not null,
  matchers text not null,
  starts_at bigint not null,
  ends_at bigint not null,
  comment text not null,
  created_by text not null,
  created_at bigint not null);
alter table alert_outbox drop constraint alert_outbox_kind_check;
alter table alert_outbox add constraint alert_outbox_kind_check
  check (kind in ('trigger', 'update', 'resolve', 'no_data', 'no_data_resolve', 'failing', 'failing_resolve'));
alter table alert_outbox drop constraint alert_outbox_status_check;
alter table alert_outbox add constraint alert_outbox_status_check
  check (status in ('pending', 'delivered', 'dead', 'silenced'));
