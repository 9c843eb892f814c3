-- Unit tests of the plugin's pure parts, in a headless Neovim: which version-specific path
-- is taken on 0.10, 0.11 and 0.12, and what each path sends; diagnostics gathering.
-- Run by tests/test_editor_nvim.py:
--   nvim --headless --clean --cmd 'set rtp^=editors/nvim' -l editors/nvim/tests/unit.lua
-- Prints "ok N" and exits 0, or prints the failures and exits 1.
local failures, passed = {}, 0

local function test(name, fn)
  local ok, err = pcall(fn)
  if ok then
    passed = passed + 1
  else
    failures[#failures + 1] = name .. ": " .. tostring(err)
  end
end

local function eq(got, want)
  if not vim.deep_equal(got, want) then
    error(("expected %s, got %s"):format(vim.inspect(want), vim.inspect(got)), 2)
  end
end

--- Run `fn` as if on Neovim `minor` (0.10, 0.11 or 0.12): what the plugin looks at is
--- vim.fn.has("nvim-0.11"), vim.lsp.config/enable and vim.lsp.inline_completion.
local function as_version(minor, fn)
  local has, config, enable, inline = vim.fn.has, vim.lsp.config, vim.lsp.enable, vim.lsp.inline_completion
  vim.fn.has = function(feature)
    local want = feature:match("^nvim%-0%.(%d+)")
    if want then
      return tonumber(want) <= minor and 1 or 0
    end
    return has(feature)
  end
  vim.lsp.config = minor >= 11 and (config or function() end) or nil
  vim.lsp.enable = minor >= 11 and (enable or function() end) or nil
  vim.lsp.inline_completion = minor >= 12 and { enable = function() end } or nil
  local ok, err = pcall(fn)
  vim.fn.has, vim.lsp.config, vim.lsp.enable, vim.lsp.inline_completion = has, config, enable, inline
  if not ok then
    error(err, 0)
  end
end

local util = require("hermes_lsp.util")

test("this Neovim (0.11) takes the 0.11 paths", function()
  eq(util.paths(), { method_calls = true, lsp_enable = true, native_ghost = false })
end)

test("each version selects its paths", function()
  local seen = {}
  for _, minor in ipairs({ 10, 11, 12 }) do
    as_version(minor, function()
      seen[minor] = util.paths()
    end)
  end
  eq(seen[10], { method_calls = false, lsp_enable = false, native_ghost = false })
  eq(seen[11], { method_calls = true, lsp_enable = true, native_ghost = false })
  eq(seen[12], { method_calls = true, lsp_enable = true, native_ghost = true })
end)

-- A client as 0.10 has it (functions without self) and as 0.11+ has it (methods).
local function fake_client(methods)
  local client = { calls = {} }
  local function record(...)
    client.calls[#client.calls + 1] = { ... }
    return true, 7
  end
  if methods then
    client.request = function(self, ...)
      assert(self == client, "0.11+ calls request as a method")
      return record(...)
    end
  else
    client.request = record
  end
  return client
end

test("requests are sent the way each version's client takes them", function()
  for _, minor in ipairs({ 10, 11, 12 }) do
    as_version(minor, function()
      local client = fake_client(minor >= 11)
      local ok, id = util.request(client, "m", { a = 1 }, nil, 3)
      eq({ ok, id }, { true, 7 })
      eq(client.calls[1][1], "m")
      eq(client.calls[1][4], 3)
    end)
  end
end)

test("the code-action wrapper works on both client shapes", function()
  for _, minor in ipairs({ 10, 11 }) do
    as_version(minor, function()
      local client = fake_client(minor >= 11)
      util.wrap_request(client, function(method, params)
        return method == "x" and { wrapped = params } or params
      end)
      util.request(client, "x", { n = 1 }, nil, 0)
      util.request(client, "y", { n = 2 }, nil, 0)
      eq(client.calls[1][2], { wrapped = { n = 1 } })
      eq(client.calls[2][2], { n = 2 })
    end)
  end
end)

test("columns convert the same on both str_byteindex signatures", function()
  local line = "x = 'é😀' + y"
  local results = {}
  for _, minor in ipairs({ 10, 11 }) do
    as_version(minor, function()
      results[minor] = {
        util.byte_col(line, 9, "utf-16"),
        util.lsp_col(line, #"x = 'é😀'", "utf-16"),
        util.lsp_col(line, #"x = 'é😀'", "utf-32"),
      }
    end)
  end
  eq(results[10], results[11])
  eq(results[11], { #"x = 'é😀'", 9, 8 }) -- é: 1 unit, 😀: 2 UTF-16 units or 1 code point
end)

test("diagnostics of every namespace on the requested lines, in the server's encoding", function()
  local diagnostics = require("hermes_lsp.diagnostics")
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, { "ok = 1", "é = mth.pi", "z = 2" })
  local ruff, other = vim.api.nvim_create_namespace("unit_ruff"), vim.api.nvim_create_namespace("unit_other")
  vim.diagnostic.set(ruff, buf, { { lnum = 1, col = #"é = ", end_col = #"é = mth", message = "F821", source = "ruff" } })
  vim.diagnostic.set(other, buf, { { lnum = 2, col = 0, message = "elsewhere" } })
  local found = diagnostics.at(buf, { start = { line = 1, character = 0 }, ["end"] = { line = 1, character = 0 } }, "utf-16")
  eq(#found, 1)
  eq(found[1].message, "F821")
  eq(found[1].source, "ruff")
  eq(found[1].range.start, { line = 1, character = 4 }) -- "é" is one UTF-16 unit, two bytes
  eq(found[1].range["end"], { line = 1, character = 7 })
  local merged = diagnostics.merge({ found[1] }, found)
  eq(#merged, 1)
end)

if #failures > 0 then
  io.stdout:write(table.concat(failures, "\n") .. "\n")
  os.exit(1)
end
io.stdout:write(("ok %d\n"):format(passed))
os.exit(0)
