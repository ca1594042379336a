-- who manages each detector's configuration (api, file:<path>, or '' for
-- backtests), so `osprey serve` knows which stored detectors to run.
alter table detectors add column origin text not null default '';
