// Lua scripts for the dataset store: everything that must be atomic runs inside Redis.
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

export interface Script {
  source: string;
  sha: string;
}

export function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** EVALSHA, falling back to EVAL the first time a server has not seen the script. */
export async function runScript(redis: Redis, s: Script, keys: string[], args: (string | number)[]): Promise<unknown> {
  try {
    return await redis.evalsha(s.sha, keys.length, ...keys, ...args);
  } catch (err) {
    if (!String((err as Error).message).includes('NOSCRIPT')) throw err;
    return redis.eval(s.source, keys.length, ...keys, ...args);
  }
}

// KEYS: meta, items, phash, counts, phidx
// ARGV: id, phash, label, split drawn ('train' | 'valid', see split.ts), maxDistance, jsonTrain, jsonValid, createdAt ('' = any)
// Returns {'missing'} (also when the dataset was deleted and made again since createdAt was read) | {'duplicate', json} | {'near', json, distance} | {'added', json}
//
// Near-duplicates are found through a multi-index (pigeonhole) rather than a scan of every hash:
// split the 16 hex digits into maxDistance + 1 runs; two hashes at most maxDistance bits apart
// agree exactly on at least one run. phidx maps "<run>:<digits>" to the ids sharing those digits
// (64-character ids, concatenated), so an add looks at a handful of candidates whatever the
// dataset's size; a scan cost ~1 ms of Redis per add at 1,000 images and grew with every image.
// The index is (re)built from the phash hash when missing or made for another maxDistance.
export const ADD_ITEM = script(`
local created = redis.call('HGET', KEYS[1], 'createdAt')
if not created or (ARGV[8] ~= '' and created ~= ARGV[8]) then return {'missing'} end
local existing = redis.call('HGET', KEYS[2], ARGV[1])
if existing then return {'duplicate', existing} end
local maxd = tonumber(ARGV[5])
local runs = math.min(maxd + 1, 16)
local function segments(h)
  local out, start = {}, 1
  for i = 1, runs do
    local len = math.floor(16 / runs) + ((i <= 16 % runs) and 1 or 0)
    out[i] = i .. ':' .. string.sub(h, start, start + len - 1)
    start = start + len
  end
  return out
end
local function index(id, h)
  for _, field in ipairs(segments(h)) do
    redis.call('HSET', KEYS[5], field, (redis.call('HGET', KEYS[5], field) or '') .. id)
  end
end
if redis.call('HGET', KEYS[5], '_runs') ~= tostring(runs) then
  redis.call('DEL', KEYS[5])
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do index(all[i], all[i + 1]) end
  redis.call('HSET', KEYS[5], '_runs', tostring(runs))
end
local hi = tonumber(string.sub(ARGV[2], 1, 8), 16)
local lo = tonumber(string.sub(ARGV[2], 9, 16), 16)
local function pop(x)
  local c = 0
  while x ~= 0 do
    x = bit.band(x, x - 1)
    c = c + 1
  end
  return c
end
local bestId, bestD, seen = nil, maxd + 1, {}
for _, field in ipairs(segments(ARGV[2])) do
  local ids = redis.call('HGET', KEYS[5], field)
  if ids then
    for s = 1, #ids, 64 do
      local id = string.sub(ids, s, s + 63)
      if not seen[id] then
        seen[id] = true
        local h = redis.call('HGET', KEYS[3], id)
        local d = pop(bit.bxor(hi, tonumber(string.sub(h, 1, 8), 16))) + pop(bit.bxor(lo, tonumber(string.sub(h, 9, 16), 16)))
        if d < bestD or (d == bestD and bestId and id < bestId) then bestId, bestD = id, d end
      end
    end
  end
end
if bestId then return {'near', redis.call('HGET', KEYS[2], bestId), tostring(bestD)} end
local json = ARGV[6]
local split = 'train'
if ARGV[4] == 'valid' then json = ARGV[7]; split = 'valid' end
redis.call('HSET', KEYS[2], ARGV[1], json)
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
index(ARGV[1], ARGV[2])
redis.call('HINCRBY', KEYS[4], ARGV[3] .. '\\n' .. split, 1)
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return {'added', json}
`);

// KEYS: meta, items, counts
// ARGV: id, field ('label' | 'status'), to, expected ('' = any)
// Returns {'missing'} | {'mismatch', json} | {'ok', json}
export const SET_FIELD = script(`
local json = redis.call('HGET', KEYS[2], ARGV[1])
if not json then return {'missing'} end
local item = cjson.decode(json)
if ARGV[4] ~= '' and item[ARGV[2]] ~= ARGV[4] then return {'mismatch', json} end
if item[ARGV[2]] == ARGV[3] then return {'ok', json} end
if item.status == 'active' then
  redis.call('HINCRBY', KEYS[3], item.label .. '\\n' .. item.split, -1)
end
item[ARGV[2]] = ARGV[3]
if item.status == 'active' then
  redis.call('HINCRBY', KEYS[3], item.label .. '\\n' .. item.split, 1)
end
json = cjson.encode(item)
redis.call('HSET', KEYS[2], ARGV[1], json)
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return {'ok', json}
`);

// KEYS: meta. ARGV: field, value, then pairs to set. Creates only when missing.
export const CREATE = script(`
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`);

// KEYS: meta. ARGV: expected classes JSON, new classes JSON. Compare-and-set.
export const SET_CLASSES = script(`
if redis.call('HGET', KEYS[1], 'classes') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'classes', ARGV[2])
redis.call('HINCRBY', KEYS[1], 'revision', 1)
return 1
`);

// KEYS: rejected, rejectedOps
// ARGV: operation, counts (JSON reason -> n)
// An operation (a collect job) that runs again replaces what it counted before instead of
// adding to it, so a retried job does not count its rejections twice.
export const SET_REJECTIONS = script(`
local before = redis.call('HGET', KEYS[2], ARGV[1])
if before then
  for reason, n in pairs(cjson.decode(before)) do redis.call('HINCRBY', KEYS[1], reason, -n) end
end
for reason, n in pairs(cjson.decode(ARGV[2])) do redis.call('HINCRBY', KEYS[1], reason, n) end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1
`);
