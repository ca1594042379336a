-- compact points: each series' points of a closed UTC day sealed into one
-- block (point_block.h); `points` keeps the open day's rows. The runner then seals the
-- rows a store had (sql_store.cc).
create table point_blocks(
  series_id integer not null references series(id) on delete cascade,
  start_ts integer not null,
  end_ts integer not null,
  n integer not null,
  data blob not null,
  primary key(series_id, start_ts)) without rowid;
