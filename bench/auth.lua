-- auth.lua — wrk script: send every request with the bearer token of the
-- session bench/api_list.sh opened (passed in BENCH_TOKEN).  Only a header is
-- added; no per-response Lua callback, so wrk's own speed is unaffected.
local token = os.getenv("BENCH_TOKEN")
if token == nil or token == "" then
  error("BENCH_TOKEN is not set")
end
wrk.headers["Authorization"] = "Bearer " .. token
