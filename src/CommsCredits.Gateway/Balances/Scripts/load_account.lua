-- Installs a tenant's hot state rebuilt from the ledger, unless another gateway already did.
-- KEYS[1] account hash, KEYS[2] pending settlements hash
-- ARGV[1] epoch (from tenants.hot_epoch), ARGV[2] balance in micros (sum of the ledger)
-- Reply: {'loaded', epoch} or {'present', epoch of the state already there}
local existing = redis.call('HGET', KEYS[1], 'epoch')
if existing then
  return { 'present', existing }
end
ensure(tonumber(ARGV[2]) >= 0, 'ledger balance is negative')
-- Settlements pending under an older epoch can never be written (the ledger refuses their epoch): drop them.
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'epoch', ARGV[1], 'balance', ARGV[2], 'held', '0', 'opseq', '0')
return { 'loaded', ARGV[1] }
