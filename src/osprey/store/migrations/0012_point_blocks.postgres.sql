-- compact points: each series' points of a closed UTC day sealed into one
-- block (point_block.h); `points` keeps the open day's rows. The runner then seals the
-- rows a store had (sql_store.cc).
create table point_blocks(
  series_id bigint not null references series(id) on delete cascade,
  start_ts bigint not null,
  end_ts bigint not null,
  n bigint not null,
  data bytea not null,
  primary key(series_id, start_ts));
