-- Installs a tenant's hot state rebuilt from the ledger, unless another gateway already did. The sessions in progress
-- were written first (restore_sessions.lua); their holds are counted here.
-- KEYS[1] account hash, KEYS[2] pending settlements hash, KEYS[3] lots hash, KEYS[4] lot expiry order
-- ARGV[1] epoch (from tenants.hot_epoch), ARGV[2] balance in micros (sum of the ledger), ARGV[3] month (YYYYMM, UTC),
-- ARGV[4] number of lots N, ARGV[5] micros held by the restored sessions, ARGV[6] the identities of the Redis primaries
-- it is built under, comma-separated (see retire_account.lua), then for every lot with money left: lot id,
-- remaining micros, expiry ms; then for every pool used this month or held by a restored session: pool id, seconds
-- used this month, seconds held
-- Reply: {'loaded', epoch} or {'present', epoch of the state already there}
local existing = redis.call('HGET', KEYS[1], 'epoch')
if existing then
  return { 'present', existing }
end
local balance = tonumber(ARGV[2])
local held = tonumber(ARGV[5])
ensure(balance >= 0, 'ledger balance is negative')
ensure(held >= 0 and held <= balance, 'restored holds exceed the ledger balance')
local lots_end = 6 + 3 * tonumber(ARGV[4])
ensure(lots_end <= #ARGV and (#ARGV - lots_end) % 3 == 0, 'load arguments are malformed')
local total = 0
for i = 7, lots_end, 3 do
  local remaining = tonumber(ARGV[i + 1])
  ensure(remaining > 0, 'a lot to load holds nothing')
  total = total + remaining
end
ensure(total == balance, 'the lots do not add up to the ledger balance')
-- Settlements pending under an older epoch can never be written (the ledger refuses their epoch): drop them, and the
-- lots of the older state with them.
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
for i = 7, lots_end, 3 do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  redis.call('ZADD', KEYS[4], ARGV[i + 2], ARGV[i])
end
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'balance', ARGV[2], 'held', ARGV[5], 'opseq', '0', 'inc', ARGV[6])
for i = lots_end + 1, #ARGV, 3 do
  write_pool_counters(KEYS[1], ARGV[i], ARGV[3], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2]))
end
return { 'loaded', ARGV[1] }
