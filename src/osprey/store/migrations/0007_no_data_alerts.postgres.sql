-- no-data alerts: outbox messages about a detector's feed, with no group.
alter table alert_outbox alter column group_id drop not null;
alter table alert_outbox drop constraint alert_outbox_kind_check;
alter table alert_outbox add constraint alert_outbox_kind_check
  check (kind in ('trigger', 'update', 'resolve', 'no_data', 'no_data_resolve'));
